// The macvlan driver on a fake physical LAN (test/helpers/lan.ts): sandboxes
// appear on the LAN with addresses and MACs of their own, reach each other and
// the LAN's router, resolve each other's names through 127.0.0.11; `private`
// keeps them apart; the host cannot reach them through the parent (the
// kernel's rule) until it has a macvlan "shim" of its own (docs/macvlan.md).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { TestHost } from '../helpers/host.js';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';
import { LAN, makeLan, type Lan } from '../helpers/lan.js';
import { testDir } from '../helpers/temp-dir.js';

let h: TestHost;
let lan: Lan;
beforeEach(async () => {
  h = await TestHost.make(tag());
  lan = await makeLan(h);
});
afterEach(async () => {
  await h.cleanup();
  await lan.remove();
});

const ping = (ns: string, ip: string) => execa('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W1', ip], { reject: false, timeout: 10_000 });
const dig = async (ns: string, name: string) =>
  (await execa('ip', ['netns', 'exec', ns, 'dig', '+short', '+time=2', '+tries=2', '@127.0.0.11', name], { reject: false })).stdout.split('\n').filter(Boolean);
const inspect = async (what: string[]) => JSON.parse(await h.ok([...what])) as any[];
/** The sandbox's endpoint on `net`, as nsnet reports it. */
async function endpoint(sb: string, net: string): Promise<{ IPAddress: string; MacAddress: string }> {
  return (await inspect(['inspect', sb]))[0].NetworkSettings.Networks[net];
}
/** macvlan links in a namespace, with their mode (ip -d). */
async function macvlans(ns?: string): Promise<{ ifname: string; mode: string; address: string }[]> {
  const links = (await ipJson(['-d', 'link', 'show'], ns)) as any[];
  return links.filter((l) => l.linkinfo?.info_kind === 'macvlan').map((l) => ({ ifname: l.ifname, mode: l.linkinfo.info_data?.mode, address: l.address }));
}

const mvNet = (name: string, extra: string[] = []) =>
  ['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, '--gateway', LAN.router, '-o', 'parent=ens4', ...extra, name];

describeKernel('macvlan networks on a fake LAN', () => {
  test('two sandboxes on the LAN: own addresses and MACs, reach each other and the router, names resolve', async () => {
    const net = `mv-${h.tag}`;
    const [a, b] = [h.sb('ma'), h.sb('mb')];
    await h.ok(mvNet(net));
    const info = (await inspect(['network', 'inspect', net]))[0];
    expect(info.Driver).toBe('macvlan');
    expect(info.Options).toEqual({ parent: 'ens4', macvlan_mode: 'bridge' });
    expect(info.IPAM.Config).toEqual([{ Subnet: LAN.subnet, Gateway: LAN.router }]);
    expect(await h.ok(['network', 'ls', '--filter', 'driver=macvlan', '--format', '{{.Name}} {{.Driver}}'])).toBe(`${net} macvlan`);
    // Nothing made on the host for the network: no bridge, no macvlan.
    expect(((await ipJson(['link', 'show', 'type', 'bridge'], h.name)) as any[]).map((l) => l.ifname)).not.toContain(`br-${info.Id.slice(0, 12)}`);

    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    const [ea, eb] = [await endpoint(a, net), await endpoint(b, net)];
    expect([ea.IPAddress, eb.IPAddress]).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(ea.MacAddress).toBe('02:42:c0:00:02:02');
    // eth0 is a macvlan of ens4, born in the sandbox, with the MAC made from its address.
    expect(await macvlans(a)).toEqual([{ ifname: 'eth0', mode: 'bridge', address: ea.MacAddress }]);
    expect(await macvlans(h.name)).toEqual([]);
    expect(((await ipJson(['route'], a)) as any[]).find((r) => r.dst === 'default')?.gateway).toBe(LAN.router);

    for (const [from, to] of [[a, eb.IPAddress], [b, ea.IPAddress], [a, LAN.router], [b, LAN.router]] as const) {
      expect((await ping(from, to)).exitCode, `${from} -> ${to}`).toBe(0);
    }
    // The LAN saw them as two machines: their own addresses with their own MACs.
    const neigh = ((await ipJson(['neigh'], lan.name)) as any[]).map((n) => [n.dst, n.lladdr]);
    expect(neigh).toContainEqual([ea.IPAddress, ea.MacAddress]);
    expect(neigh).toContainEqual([eb.IPAddress, eb.MacAddress]);
    // The embedded DNS server, as on a user-defined bridge.
    expect(await dig(a, b)).toEqual([eb.IPAddress]);
    expect(await dig(b, a)).toEqual([ea.IPAddress]);
    expect(await h.run(['cat', `${h.etc}/${a}/resolv.conf`]).then((r) => r.stdout)).toContain('nameserver 127.0.0.11');
  }, 120_000);

  test('dual stack (--ipv6, one --subnet and --gateway per family): IPv6 addresses of their own, the LAN router as IPv6 gateway', async () => {
    const net = `m6-${h.tag}`;
    const [a, b] = [h.sb('6a'), h.sb('6b')];
    await h.ok(mvNet(net, ['--ipv6', '--subnet', LAN.subnet6, '--gateway', LAN.router6]));
    const info = (await inspect(['network', 'inspect', net]))[0];
    expect(info.EnableIPv6).toBe(true);
    expect(info.IPAM.Config).toEqual([{ Subnet: LAN.subnet, Gateway: LAN.router }, { Subnet: LAN.subnet6, Gateway: LAN.router6 }]);
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    const six = async (sb: string) => (await inspect(['inspect', sb]))[0].NetworkSettings.Networks[net];
    const [ea, eb] = [await six(a), await six(b)];
    expect([ea.GlobalIPv6Address, eb.GlobalIPv6Address]).toEqual(['2001:db8:1::2', '2001:db8:1::3']);
    expect(ea.IPv6Gateway).toBe(LAN.router6);
    // The address nodad (usable at once), IPv6 on for eth0 only, the default IPv6 route via the LAN's router.
    const addrs = ((await ipJson(['-6', 'addr', 'show', 'dev', 'eth0'], a)) as any[])[0].addr_info.filter((i: any) => i.scope === 'global');
    expect(addrs.map((i: any) => [i.local, i.prefixlen, !!i.nodad]), JSON.stringify(addrs)).toEqual([['2001:db8:1::2', 64, true]]);
    expect(((await ipJson(['-6', 'route'], a)) as any[]).find((r) => r.dst === 'default')?.gateway).toBe(LAN.router6);
    for (const [from, to] of [[a, eb.GlobalIPv6Address], [b, ea.GlobalIPv6Address], [a, LAN.router6], [b, LAN.router6]] as const) {
      expect((await ping(from, to)).exitCode, `${from} -> ${to}`).toBe(0);
    }
    // The router saw each with its own IPv6 address and its own MAC (the one made from its IPv4 address).
    const neigh = ((await ipJson(['-6', 'neigh'], lan.name)) as any[]).map((n) => [n.dst, n.lladdr]);
    expect(neigh).toContainEqual([ea.GlobalIPv6Address, ea.MacAddress]);
    expect(neigh).toContainEqual([eb.GlobalIPv6Address, eb.MacAddress]);
    // The LAN reaches the sandbox at its IPv6 address (no NAT on macvlan), and its name has an AAAA.
    const ping6 = await lan.run(['ping', '-c1', '-W1', ea.GlobalIPv6Address]);
    expect(ping6.exitCode).toBe(0);
    expect((await execa('ip', ['netns', 'exec', a, 'dig', '+short', '+time=2', '+tries=2', '@127.0.0.11', 'AAAA', b], { reject: false })).stdout).toBe(eb.GlobalIPv6Address);
    // rm gives the IPv6 address back: the next sandbox gets it.
    await h.ok(['rm', a]);
    const c = h.sb('6c');
    await h.ok(['create', '--name', c, '--network', net]);
    expect((await six(c)).GlobalIPv6Address).toBe('2001:db8:1::2');
  }, 120_000);

  test('rm frees the address and leaves no macvlan link; network rm leaves the parent as it was', async () => {
    const net = `mr-${h.tag}`;
    const [a, b] = [h.sb('ra'), h.sb('rb')];
    const before = await ipJson(['-d', 'link', 'show', 'ens4'], h.name);
    await h.ok(mvNet(net));
    await h.ok(['create', '--name', a, '--network', net]);
    expect((await endpoint(a, net)).IPAddress).toBe('192.0.2.2');
    expect(await macvlans(a)).toHaveLength(1);
    await h.ok(['rm', a]);
    expect(netnsNames()).not.toContain(a); // its macvlan went with it
    expect(await macvlans(h.name)).toEqual([]);
    await h.ok(['create', '--name', b, '--network', net]);
    expect((await endpoint(b, net)).IPAddress).toBe('192.0.2.2');
    await h.ok(['rm', b]);
    await h.ok(['network', 'rm', net]);
    // The kernel deletes a namespace's links in the background: the parent is as it was once the last macvlan is gone.
    const parent = () => ipJson(['-d', 'link', 'show', 'ens4'], h.name);
    for (let i = 0; i < 100 && JSON.stringify(await parent()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await parent()).toEqual(before);
  });

  test('private mode: sandboxes of one network cannot reach each other, both reach the LAN', async () => {
    const net = `mp-${h.tag}`;
    const [a, b] = [h.sb('pa'), h.sb('pb')];
    await h.ok(mvNet(net, ['-o', 'macvlan_mode=private']));
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    expect((await macvlans(a))[0]?.mode).toBe('private');
    expect((await ping(a, LAN.router)).exitCode).toBe(0);
    expect((await ping(b, LAN.router)).exitCode).toBe(0);
    expect((await ping(a, '192.0.2.3')).exitCode).not.toBe(0);
    expect((await ping(b, '192.0.2.2')).exitCode).not.toBe(0);
  });

  test('the host cannot reach its macvlan sandboxes through the parent; a macvlan shim on the host can (docs/macvlan.md)', async () => {
    const net = `ms-${h.tag}`;
    const a = h.sb('sa');
    // As the docs: the sandboxes get a slice of the LAN (--ip-range), the shim's address is kept out of IPAM (--aux-address).
    await h.ok(mvNet(net, ['--ip-range', '192.0.2.64/27', '--aux-address', 'host=192.0.2.64']));
    expect((await inspect(['network', 'inspect', net]))[0].IPAM.Config[0].AuxiliaryAddresses).toEqual({ host: '192.0.2.64' });
    await h.ok(['create', '--name', a, '--network', net]);
    const ip = (await endpoint(a, net)).IPAddress;
    expect(ip).toBe('192.0.2.65'); // .64 is the shim's: never handed out
    // The host on its LAN, as a real one: an address on the parent. It reaches the router, not its sandbox.
    await h.run(['ip', 'addr', 'add', '192.0.2.254/24', 'dev', 'ens4']);
    const hostPing = (to: string) => h.run(['ping', '-c1', '-W1', to]);
    expect((await hostPing(LAN.router)).exitCode).toBe(0);
    expect((await hostPing(ip)).exitCode).not.toBe(0);
    // The shim: a macvlan of the host's own on the same parent, and a route to the sandboxes' slice through it.
    for (const cmd of [
      ['ip', 'link', 'add', 'mv-shim', 'link', 'ens4', 'type', 'macvlan', 'mode', 'bridge'],
      ['ip', 'addr', 'add', '192.0.2.64/32', 'dev', 'mv-shim'],
      ['ip', 'link', 'set', 'mv-shim', 'up'],
      ['ip', 'route', 'add', '192.0.2.64/27', 'dev', 'mv-shim'],
    ]) expect((await h.run(cmd)).exitCode, cmd.join(' ')).toBe(0);
    expect((await hostPing(ip)).exitCode).toBe(0);
    expect((await ping(a, '192.0.2.64')).exitCode).toBe(0);
    // --ip of the aux address: refused.
    const r = await h.nsnet(['create', '--name', h.sb('sx'), '--network', net, '--ip', '192.0.2.64']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('192.0.2.64 is reserved as aux-address host');
  });

  test('connect and disconnect: a bridge sandbox gets eth1 on the LAN', async () => {
    const net = `mc-${h.tag}`;
    const br = `bc-${h.tag}`;
    const a = h.sb('ca');
    await h.ok(mvNet(net));
    await h.ok(['network', 'create', '--subnet', '10.91.0.0/24', br]);
    await h.ok(['create', '--name', a, '--network', br]);
    await h.ok(['network', 'connect', net, a]);
    expect(await macvlans(a)).toEqual([{ ifname: 'eth1', mode: 'bridge', address: '02:42:c0:00:02:02' }]);
    expect((await ping(a, LAN.router)).exitCode).toBe(0);
    await h.ok(['network', 'disconnect', net, a]);
    expect(await macvlans(a)).toEqual([]);
    // The address is free again.
    const b = h.sb('cb');
    await h.ok(['create', '--name', b, '--network', net]);
    expect((await endpoint(b, net)).IPAddress).toBe('192.0.2.2');
  });

  test('--internal: a parent of its own (dm-ID, a bridge with no ports), no default route, gone with the network', async () => {
    const net = `mi-${h.tag}`;
    const [a, b] = [h.sb('ia'), h.sb('ib')];
    const r = await h.nsnet(['network', 'create', '-d', 'macvlan', '--internal', '--subnet', '10.92.0.0/24', '-o', 'parent=ens4', net]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('-o parent=ens4 is not used');
    const id = r.stdout.trim();
    const dm = `dm-${id.slice(0, 12)}`;
    expect(((await ipJson(['-d', 'link', 'show', dm], h.name)) as any[])[0].linkinfo.info_kind).toBe('bridge');
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    expect((await ping(a, '10.92.0.3')).exitCode).toBe(0);
    expect(((await ipJson(['route'], a)) as any[]).some((x) => x.dst === 'default')).toBe(false);
    expect((await ping(a, LAN.router)).exitCode).not.toBe(0);
    await h.ok(['rm', a, b]);
    await h.ok(['network', 'rm', net]);
    expect(((await ipJson(['link'], h.name)) as any[]).map((l) => l.ifname)).not.toContain(dm);
  });

  test('passthru: one sandbox, with the parent\'s MAC; -p warns and publishes nothing', async () => {
    const net = `mt-${h.tag}`;
    await h.ok(mvNet(net, ['-o', 'macvlan_mode=passthru']));
    const a = h.sb('ta');
    const r = await h.nsnet(['create', '--name', a, '--network', net, '-p', '8080:80']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('WARNING: Published ports are discarded when using a macvlan network');
    expect((await inspect(['inspect', a]))[0].NetworkSettings.Ports).toEqual({});
    expect((await h.run(['nft', 'list', 'ruleset'])).stdout).not.toContain('8080');
    const parentMac = ((await ipJson(['link', 'show', 'ens4'], h.name)) as any[])[0].address;
    expect((await endpoint(a, net)).MacAddress).toBe(parentMac);
    expect(await macvlans(a)).toEqual([{ ifname: 'eth0', mode: 'passthru', address: parentMac }]);
    expect((await ping(a, LAN.router)).exitCode).toBe(0);
    const second = await h.nsnet(['create', '--name', h.sb('tb'), '--network', net]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`macvlan network ${net} is in passthru mode`);
  });

  test('bad options: one clear error each, nothing made', async () => {
    const bad: [string[], string][] = [
      [['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, `b1-${h.tag}`], 'macvlan network needs -o parent=IFACE'],
      [['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, '-o', 'parent=nope0', `b2-${h.tag}`], '-o parent interface nope0 was not found on the host'],
      [['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, '-o', 'parent=ens4', '-o', 'macvlan_mode=l3', `b3-${h.tag}`],
        "requested macvlan mode 'l3' is not valid"],
      [['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, '--gateway', '198.51.100.1', '-o', 'parent=ens4', `b4-${h.tag}`],
        "invalid gateway 198.51.100.1: parent subnet 192.0.2.0/24 doesn't contain this address"],
      [['network', 'create', '-d', 'macvlan', '--subnet', LAN.subnet, '--aux-address', 'x=198.51.100.9', '-o', 'parent=ens4', `b5-${h.tag}`],
        'no matching subnet for aux-address x=198.51.100.9'],
    ];
    for (const [args, message] of bad) {
      const r = await h.nsnet(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
    // Nothing made: no network recorded, nothing new in the host.
    expect(await h.ok(['network', 'ls', '--filter', 'driver=macvlan', '-q'])).toBe('');
    expect(((await ipJson(['link'], h.name)) as any[]).map((l) => l.ifname).sort()).toEqual(['ens4', 'lo']);
    // A second macvlan network on the same parent with an overlapping subnet.
    await h.ok(mvNet(`o1-${h.tag}`));
    const r = await h.nsnet(['network', 'create', '-d', 'macvlan', '--subnet', '192.0.2.128/25', '-o', 'parent=ens4', `o2-${h.tag}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`network o1-${h.tag} already uses parent ens4 with subnet ${LAN.subnet}, which overlaps 192.0.2.128/25`);
    expect(await h.ok(['network', 'ls', '--filter', 'driver=macvlan', '-q'])).toHaveLength(12);
  });
  test('compose: a macvlan network from driver_opts and ipam (ip_range, aux_addresses), an internal one; names resolve; down removes all', async () => {
    const p = `cm${h.tag}`;
    const file = path.join(testDir('nsnet-compose-mv-'), 'compose.yaml');
    writeFileSync(file, [
      'services:',
      '  web: { command: sleep 300, ports: ["8080:80"], networks: [lan, iso] }',
      '  db: { command: sleep 300, networks: [lan] }',
      'networks:',
      '  lan:',
      '    driver: macvlan',
      '    driver_opts: { parent: ens4, macvlan_mode: bridge }',
      '    ipam:',
      '      config:',
      `        - { subnet: ${LAN.subnet}, gateway: ${LAN.router}, ip_range: 192.0.2.64/27, aux_addresses: { host: 192.0.2.64 } }`,
      '  iso:',
      '    driver: macvlan',
      '    internal: true',
      '    ipam: { config: [{ subnet: 10.93.0.0/24 }] }',
    ].join('\n'));
    const up = await h.nsnet(['compose', '-f', file, '-p', p, 'up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(`Network ${p}_lan  Created`);
    expect(up.stderr).toContain('WARNING: Published ports are discarded when using a macvlan network');
    const [lanNet] = await inspect(['network', 'inspect', `${p}_lan`]);
    expect(lanNet.Driver).toBe('macvlan');
    expect(lanNet.Options).toEqual({ parent: 'ens4', macvlan_mode: 'bridge' });
    expect(lanNet.IPAM.Config).toEqual([{ Subnet: LAN.subnet, IPRange: '192.0.2.64/27', Gateway: LAN.router, AuxiliaryAddresses: { host: '192.0.2.64' } }]);
    expect(lanNet.Labels).toMatchObject({ 'com.docker.compose.project': p, 'com.docker.compose.network': 'lan' });
    const [isoNet] = await inspect(['network', 'inspect', `${p}_iso`]);
    const dm = `dm-${isoNet.Id.slice(0, 12)}`;
    expect(((await ipJson(['-d', 'link', 'show', dm], h.name)) as any[])[0].linkinfo.info_kind).toBe('bridge');

    const [web, db] = [`${p}_web_1`, `${p}_db_1`];
    const [ew, ed] = [await endpoint(web, `${p}_lan`), await endpoint(db, `${p}_lan`)];
    // The slice, in order, with .64 (the aux address) never handed out.
    expect([ew.IPAddress, ed.IPAddress].sort()).toEqual(['192.0.2.65', '192.0.2.66']);
    expect(await macvlans(web)).toHaveLength(2); // eth0 on the LAN, eth1 on the internal network
    for (const sb of [web, db]) expect((await ping(sb, LAN.router)).exitCode, `${sb} -> router`).toBe(0);
    expect((await ping(web, ed.IPAddress)).exitCode).toBe(0);
    const neigh = ((await ipJson(['neigh'], lan.name)) as any[]).map((n) => [n.dst, n.lladdr]);
    expect(neigh).toContainEqual([ew.IPAddress, ew.MacAddress]);
    // Service names through 127.0.0.11, as on a bridge network.
    expect(await dig(web, 'db')).toEqual([ed.IPAddress]);
    expect(await dig(db, 'web')).toEqual([ew.IPAddress]);
    expect((await h.run(['nft', 'list', 'ruleset'])).stdout).not.toContain('8080');

    const down = await h.nsnet(['compose', '-f', file, '-p', p, 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`Network ${p}_lan  Removed`);
    expect(await h.ok(['network', 'ls', '--filter', 'driver=macvlan', '-q'])).toBe('');
    expect(netnsNames().filter((n) => n.startsWith(`${p}_`))).toEqual([]);
    expect(((await ipJson(['link'], h.name)) as any[]).map((l) => l.ifname)).not.toContain(dm);
    expect(await macvlans(h.name)).toEqual([]);
  }, 120_000);
});
