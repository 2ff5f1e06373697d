// Names for the host (com.nsnet.network.host_dns=true, docs/dns.md): the DNS
// server answers a network's names on its gateway, port 53, to the host only;
// sandboxes (of that network or another) get nothing there; with the option
// off nothing listens; network rm takes the listener and its nft element away.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
  expect(h.procs()).toEqual([]); // no DNS server outlives its test
});

const DIG = ['+time=2', '+tries=1'];
/** dig from the host namespace; the whole output (a timeout is an output too). */
const hostDig = async (...args: string[]) => {
  const r = await h.run(['dig', ...DIG, ...args], { timeout: 20_000 });
  return `${String(r.stdout)}${String(r.stderr)}`;
};
const answers = (out: string) => out.split('\n').map((l) => l.trim()).filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l));
const gatewayOf = async (net: string) => (JSON.parse(await h.ok(['network', 'inspect', net])) as { IPAM: { Config: { Gateway: string }[] } }[])[0]!.IPAM.Config[0]!.Gateway;
const ipOf = async (sb: string, net: string) =>
  (JSON.parse(await h.ok(['inspect', sb])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[])[0]!.NetworkSettings.Networks[net]!.IPAddress;
/** Sockets on port 53 at `addr` in the host namespace (ss -lunt). */
// With -p: a socket that should not be there says whose it is.
const listening = async (addr: string) => String((await h.run(['ss', '-Hlnutp'])).stdout).split('\n').filter((l) => l.includes(` ${addr}:53 `));
const hostDnsSet = async () => String((await h.run(['nft', 'list', 'set', 'ip', 'nsnet', 'host_dns'])).stdout);

describeKernel('names for the host on the gateway (kernel)', () => {
  test('the host digs the gateway for web and web.NET; sandboxes of this and other networks get nothing; rm takes it away', async () => {
    const net = `hn-${h.tag}`;
    const other = `ot-${h.tag}`;
    const [web, peer, stranger] = [h.sb('web'), h.sb('peer'), h.sb('x')];
    await h.ok(['network', 'create', '--opt', 'com.nsnet.network.host_dns=true', net]);
    await h.ok(['network', 'create', other]);
    await h.ok(['create', '--name', web, '--network', net, '--network-alias', 'www']);
    await h.ok(['create', '--name', peer, '--network', net]);
    await h.ok(['create', '--name', stranger, '--network', other]);
    const gw = await gatewayOf(net);
    const otherGw = await gatewayOf(other);
    const webIp = await ipOf(web, net);

    // The host: names, name.network (any case), aliases, over UDP and TCP; PTR.
    expect(answers(await hostDig(`@${gw}`, '+short', web))).toEqual([webIp]);
    expect(answers(await hostDig(`@${gw}`, '+short', `${web}.${net}`.toUpperCase()))).toEqual([webIp]);
    expect(answers(await hostDig(`@${gw}`, '+short', '+tcp', `www.${net}`))).toEqual([webIp]);
    expect(await hostDig(`@${gw}`, '+short', '-x', webIp)).toContain(`${web}.${net}.`);
    // Not a recursive resolver: another network's name, an unknown name in the zone, a name elsewhere.
    expect(await hostDig(`@${gw}`, stranger)).toMatch(/status: NXDOMAIN/);
    expect(await hostDig(`@${gw}`, `nope.${net}`)).toMatch(/status: NXDOMAIN/);
    expect(await hostDig(`@${gw}`, 'example.org')).toMatch(/status: REFUSED/);
    // What the docs say to look at.
    expect((await listening(gw)).length).toBe(2); // udp and tcp
    expect(await hostDnsSet()).toContain(gw);

    // A sandbox on another network: routed to the host, dropped at input (not from lo).
    const fromStranger = await h.nsnet(['exec', stranger, 'dig', ...DIG, '+short', `@${gw}`, web], { timeout: 30_000 });
    expect(answers(fromStranger.stdout)).toEqual([]);
    expect(fromStranger.stdout).toMatch(/timed out|no servers could be reached/);
    // A sandbox on the same network: across its bridge, dropped too (its own resolver is 127.0.0.11).
    const fromPeer = await h.nsnet(['exec', peer, 'dig', ...DIG, '+short', `@${gw}`, web], { timeout: 30_000 });
    expect(answers(fromPeer.stdout)).toEqual([]);
    expect(fromPeer.stdout).toMatch(/timed out|no servers could be reached/);
    const fromPeerTcp = await h.nsnet(['exec', peer, 'dig', ...DIG, '+short', '+tcp', `@${gw}`, web], { timeout: 30_000 });
    expect(answers(fromPeerTcp.stdout)).toEqual([]);
    // ... while its own resolver still answers it, and isolation between the networks holds.
    expect(answers((await h.nsnet(['exec', peer, 'dig', ...DIG, '+short', web])).stdout)).toEqual([webIp]);
    expect(answers((await h.nsnet(['exec', stranger, 'dig', ...DIG, '+short', web])).stdout)).toEqual([]);

    // Option off: nothing on the other network's gateway, and dig gets no answer there.
    expect(await listening(otherGw)).toEqual([]);
    expect(await hostDnsSet()).not.toContain(otherGw);
    expect(answers(await hostDig(`@${otherGw}`, '+short', stranger))).toEqual([]);
    expect(await hostDig(`@${otherGw}`, stranger)).not.toMatch(/status:/);

    // network rm: the listener and its element go.
    await h.ok(['rm', '-f', web, peer]);
    await h.ok(['network', 'rm', net]);
    expect(await listening(gw)).toEqual([]);
    expect(await hostDnsSet()).not.toContain(gw);
  }, 240_000);

  test('a restarted server listens again; a network made with the option while no server runs starts one', async () => {
    const net = `hr-${h.tag}`;
    const web = h.sb('web');
    // The first network of this host, with the option: the server starts and listens.
    await h.ok(['network', 'create', '--opt', 'com.nsnet.network.host_dns=1', net]);
    const gw = await gatewayOf(net);
    expect((await listening(gw)).length).toBe(2);
    await h.ok(['create', '--name', web, '--network', net]);
    const webIp = await ipOf(web, net);
    expect(answers(await hostDig(`@${gw}`, '+short', web))).toEqual([webIp]);
    // Killed: nothing listens; the next sync (any command that starts it) brings the listener back.
    await h.stopDns('SIGKILL');
    expect(await listening(gw)).toEqual([]);
    await h.ok(['create', '--name', h.sb('web2'), '--network', net]);
    expect((await listening(gw)).length).toBe(2);
    expect(answers(await hostDig(`@${gw}`, '+short', `${web}.${net}`))).toEqual([webIp]);
  }, 240_000);

  test('a bad value for the option is refused', async () => {
    const r = await h.nsnet(['network', 'create', '--opt', 'com.nsnet.network.host_dns=maybe', `hb-${h.tag}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/com\.nsnet\.network\.host_dns/);
  });
});
