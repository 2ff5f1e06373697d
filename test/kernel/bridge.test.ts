// Must-show 1: two namespaces wired to a bridge through nsnet's API alone,
// real packets between them, every object confirmed by `ip -j`, nothing left.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import {
  addrAdd, bridgeAdd, linkGet, linkSet, netnsAdd, netnsDel, routeAdd, socketBind, vethAdd, type Netns,
} from '../../src/index.js';
import { describeKernel, eventually, inNetns, ipJson, netnsNames, ping, tag } from '../helpers/kernel.js';
import { WAN, makeWan } from '../helpers/wan.js';

const made: Netns[] = [];
afterEach(async () => {
  for (const ns of made.splice(0).reverse()) await netnsDel(ns).catch(() => {});
});

async function ns(name: string): Promise<Netns> {
  const n = await netnsAdd(name);
  made.push(n);
  return n;
}

describeKernel('bridge + veth + addresses + routes (kernel)', () => {
  test('two namespaces on a bridge ping each other and talk TCP; ip -j sees it all; teardown leaves nothing', async () => {
    const t = tag();
    const host = await ns(`h-${t}`);
    const sandboxes = [
      { ns: await ns(`a-${t}`), ip: '10.88.0.2', mac: '02:42:0a:58:00:02', veth: `va${t}` },
      { ns: await ns(`b-${t}`), ip: '10.88.0.3', mac: '02:42:0a:58:00:03', veth: `vb${t}` },
    ];

    const br = await bridgeAdd(host, { name: `br${t}`, up: true });
    await addrAdd(host, br, '10.88.0.1/16');
    for (const s of sandboxes) {
      const v = await vethAdd(host, { name: s.veth, master: br, up: true, peer: { name: 'eth0', netns: s.ns, address: s.mac } });
      const eth0 = { index: v.peerIndex, name: 'eth0' };
      await linkSet(s.ns, await linkGet(s.ns, 'lo'), { up: true });
      await addrAdd(s.ns, eth0, `${s.ip}/16`);
      await linkSet(s.ns, eth0, { up: true });
      await routeAdd(s.ns, { dst: 'default', via: '10.88.0.1' });
    }

    // The kernel, asked through iproute2, confirms every object.
    const hostLinks = await ipJson(['-d', 'link', 'show'], host.name);
    const bridge = hostLinks.find((l: any) => l.ifname === `br${t}`);
    expect(bridge?.linkinfo?.info_kind).toBe('bridge');
    expect(bridge?.flags).toContain('UP');
    for (const s of sandboxes) {
      const hv = hostLinks.find((l: any) => l.ifname === s.veth);
      expect(hv?.linkinfo?.info_kind).toBe('veth');
      expect(hv?.master).toBe(`br${t}`);
      expect(hv?.flags).toContain('UP');
      expect(hv?.link_netnsid).toBeTypeOf('number'); // the peer lives in another namespace

      const links = await ipJson(['-d', 'link', 'show'], s.ns.name);
      expect(links.map((l: any) => l.ifname).sort()).toEqual(['eth0', 'lo']);
      const eth0 = links.find((l: any) => l.ifname === 'eth0');
      expect(eth0.address).toBe(s.mac);
      expect(eth0.linkinfo.info_kind).toBe('veth');
      expect(eth0.flags).toContain('UP');
      expect(links.find((l: any) => l.ifname === 'lo').flags).toContain('UP');

      const addrs = await ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], s.ns.name);
      expect(addrs[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toEqual([`${s.ip}/16`]);
      const routes = await ipJson(['route', 'show'], s.ns.name);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.88.0.1', dev: 'eth0' }));
    }
    const hostAddrs = await ipJson(['-4', 'addr', 'show', 'dev', `br${t}`], host.name);
    expect(hostAddrs[0].addr_info[0].local).toBe('10.88.0.1');

    // Real packets: ICMP both ways and to the gateway...
    const [a, b] = sandboxes as [typeof sandboxes[0], typeof sandboxes[0]];
    expect(await ping(a.ns.name!, b.ip)).toBe(true);
    expect(await ping(b.ns.name!, a.ip)).toBe(true);
    expect(await ping(a.ns.name!, '10.88.0.1')).toBe(true);

    // ...and a TCP connection, served from this process through a socket bound inside b.
    const sock = await socketBind(b.ns, { type: 'tcp', address: b.ip, port: 8080 });
    const server = net.createServer((c) => c.end(`hello from ${b.ip}\n`));
    await new Promise<void>((resolve) => server.listen({ fd: sock.fd }, resolve));
    try {
      const r = await inNetns(a.ns.name!, ['bash', '-c', `exec 3<>/dev/tcp/${b.ip}/8080 && cat <&3`]);
      expect(r.stdout).toBe(`hello from ${b.ip}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    // Teardown: deleting the namespaces takes the veths and the bridge with them.
    for (const n of made.splice(0).reverse()) await netnsDel(n);
    expect(netnsNames().filter((n) => n.endsWith(t))).toEqual([]);
    await eventually(async () => (await ipJson(['link', 'show'])).every((l: any) => !l.ifname.includes(t)), 5000, 'links gone');
  });

  test('the fake WAN: the host reaches 198.51.100.1 and 203.0.113.1 through its uplink', async () => {
    const t = tag();
    const host = await ns(`h-${t}`);
    await linkSet(host, await linkGet(host, 'lo'), { up: true });
    const wan = await makeWan(host, t);
    made.push(wan.ns);
    expect(await ping(host.name!, WAN.gateway)).toBe(true);
    expect(await ping(host.name!, WAN.server)).toBe(true);
    const routes = await ipJson(['route', 'show', 'default'], host.name);
    expect(routes[0]).toMatchObject({ gateway: WAN.gateway, dev: wan.hostIf });
  });
});
