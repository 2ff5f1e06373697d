// Dual-stack bridge networks (--ipv6, docs/ipv6.md): sandboxes get an IPv6
// address (lowest free, nodad) beside the IPv4 one, the bridge the IPv6
// gateway, a default IPv6 route; IPv4-only networks keep IPv6 off in the
// sandbox; --ipv6 without an IPv6 subnet takes a /64 of the host's ULA /48.
// Documentation prefixes only (2001:db8::/32).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ipv6Overlap, parseIpv6Block, ulaPrefix48 } from '../../src/net/ip6.js';
import { MLD_QUIET_GROUP } from '../../src/nft/table.js';
import { TestHost } from '../helpers/host.js';
import { describeKernel, ipJson, tag } from '../helpers/kernel.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const inNs = (ns: string, cmd: string[]) => execa('ip', ['netns', 'exec', ns, ...cmd], { reject: false, timeout: 10_000 });
const ping6 = (ns: string, ip: string) => inNs(ns, ['ping', '-6', '-c1', '-W2', ip]);
const dig = async (ns: string, args: string[]) =>
  (await inNs(ns, ['dig', '+time=2', '+tries=2', '@127.0.0.11', ...args])).stdout;
const short = (out: string) => out.split('\n').filter(Boolean);
const inspect = async (what: string[]) => JSON.parse(await h.ok(what)) as any[];
const endpoint = async (sb: string, net: string) => (await inspect(['inspect', sb]))[0].NetworkSettings.Networks[net];
/** The global IPv6 addresses of a link, as `ip -6 addr` shows them. */
async function globals6(dev: string, ns?: string): Promise<{ local: string; prefixlen: number; nodad: boolean }[]> {
  const links = (await ipJson(['-6', 'addr', 'show', 'dev', dev], ns)) as any[];
  return (links[0]?.addr_info ?? []).filter((a: any) => a.scope === 'global')
    .map((a: any) => ({ local: a.local, prefixlen: a.prefixlen, nodad: !!a.nodad }));
}

describeKernel('IPv6 dual stack', () => {
  test('a dual-stack network: addresses, gateway, routes; sandboxes ping each other and the gateway over IPv6', async () => {
    const net = `v6-${h.tag}`;
    const [a, b] = [h.sb('6a'), h.sb('6b')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '198.51.100.0/24', '--subnet', '2001:db8:1::/64', net]);
    const info = (await inspect(['network', 'inspect', net]))[0];
    expect(info.EnableIPv6).toBe(true);
    expect(info.IPAM.Config).toEqual([{ Subnet: '198.51.100.0/24', Gateway: '198.51.100.1' }, { Subnet: '2001:db8:1::/64', Gateway: '2001:db8:1::1' }]);
    expect(await h.ok(['network', 'ls', '--filter', `name=${net}`, '--format', '{{.Name}} {{.IPv6}}'])).toBe(`${net} true`);
    const bridge = `br-${info.Id.slice(0, 12)}`;
    expect(await globals6(bridge, h.name)).toEqual([{ local: '2001:db8:1::1', prefixlen: 64, nodad: true }]);

    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    const [ea, eb] = [await endpoint(a, net), await endpoint(b, net)];
    expect([ea.GlobalIPv6Address, ea.GlobalIPv6PrefixLen, ea.IPv6Gateway]).toEqual(['2001:db8:1::2', 64, '2001:db8:1::1']);
    expect(eb.GlobalIPv6Address).toBe('2001:db8:1::3');
    expect(await globals6('eth0', a)).toEqual([{ local: '2001:db8:1::2', prefixlen: 64, nodad: true }]);
    const routes = (await ipJson(['-6', 'route', 'show', 'default'], a)) as any[];
    expect(routes.map((r) => [r.gateway, r.dev])).toEqual([['2001:db8:1::1', 'eth0']]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth0.accept_ra'])).stdout).toBe('0');
    const nsIps = (await inspect(['network', 'inspect', net]))[0].Containers;
    expect(Object.values(nsIps).map((c: any) => c.IPv6Address).sort()).toEqual(['2001:db8:1::2/64', '2001:db8:1::3/64']);

    expect((await ping6(a, '2001:db8:1::3')).exitCode).toBe(0);
    expect((await ping6(b, '2001:db8:1::2')).exitCode).toBe(0);
    expect((await ping6(a, '2001:db8:1::1')).exitCode).toBe(0);
    // The embedded DNS: AAAA for names on the network, A as before, PTR under ip6.arpa.
    expect(short(await dig(a, ['+short', 'AAAA', b]))).toEqual(['2001:db8:1::3']);
    expect(short(await dig(a, ['+short', 'A', b]))).toEqual([eb.IPAddress]);
    expect(short(await dig(a, ['+short', '-x', '2001:db8:1::3']))).toEqual([`${b}.${net}.`]);
    expect((await h.nsnet(['exec', a, 'getent', 'ahostsv6', b])).stdout).toMatch(/^2001:db8:1::3\s/);
    // getent ahosts (AF_UNSPEC, what most programs ask): both families, from the embedded DNS.
    const ahosts = (await h.nsnet(['exec', a, 'getent', 'ahosts', b])).stdout;
    expect(ahosts).toMatch(/^2001:db8:1::3\s+STREAM/m);
    expect(ahosts).toMatch(new RegExp(`^${eb.IPAddress.replaceAll('.', '\\.')}\\s+STREAM`, 'm'));
    // IPv4 still works beside it.
    expect((await inNs(a, ['ping', '-c1', '-W2', eb.IPAddress])).exitCode).toBe(0);

    // rm frees the address: the lowest free one is handed out again.
    await h.ok(['rm', '-f', a]);
    const c = h.sb('6c');
    await h.ok(['create', '--name', c, '--network', net]);
    expect((await endpoint(c, net)).GlobalIPv6Address).toBe('2001:db8:1::2');
  });

  test('an IPv4-only network keeps IPv6 off in its sandboxes', async () => {
    const net = `v4-${h.tag}`;
    const a = h.sb('4a');
    await h.ok(['network', 'create', '--subnet', '203.0.113.0/24', net]);
    expect((await inspect(['network', 'inspect', net]))[0].EnableIPv6).toBe(false);
    await h.ok(['create', '--name', a, '--network', net]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6'])).stdout).toBe('1');
    const e = await endpoint(a, net);
    expect([e.GlobalIPv6Address, e.GlobalIPv6PrefixLen, e.IPv6Gateway]).toEqual(['', 0, '']);
    // Its name has no IPv6 address: NOERROR and no answer (not NXDOMAIN).
    const out = await dig(a, ['AAAA', a]);
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/ANSWER: 0,/);
  });

  test('--ipv6 without an IPv6 subnet: /64s of one ULA /48, kept for the host', async () => {
    const [n1, n2] = [`u1-${h.tag}`, `u2-${h.tag}`];
    await h.ok(['network', 'create', '--ipv6', n1]);
    await h.ok(['network', 'create', '--ipv6', n2]);
    const v6 = async (n: string) => (await inspect(['network', 'inspect', n]))[0].IPAM.Config.find((c: any) => c.Subnet.includes(':'));
    const [c1, c2] = [await v6(n1), await v6(n2)];
    const m1 = /^(fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}):(?:([0-9a-f]{1,4})::|:)\/64$/.exec(c1.Subnet);
    const m2 = /^(fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}):(?:([0-9a-f]{1,4})::|:)\/64$/.exec(c2.Subnet);
    expect(m1, c1.Subnet).not.toBeNull();
    expect(m2, c2.Subnet).not.toBeNull();
    expect(m1![1]).toBe(m2![1]); // the same /48
    expect(c1.Subnet).not.toBe(c2.Subnet);
    expect(c1.Gateway).toBe(c1.Subnet.replace('/64', '1'));
    // The global id is the host's: kept in the state, the /48 of every later default subnet.
    const kept = (await h.run(['cat', `${h.root}/lib/ula-global-id`])).stdout.trim();
    expect(kept).toMatch(/^[0-9a-f]{10}$/);
    for (const c of [c1, c2]) expect(ipv6Overlap(parseIpv6Block(ulaPrefix48(kept)), parseIpv6Block(c.Subnet))).toBe(true);
  });

  test('bad IPv6 requests: one clear error each', async () => {
    const net = `bad-${h.tag}`;
    let r = await h.nsnet(['network', 'create', '--subnet', '2001:db8:9::/64', net]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/needs --ipv6/);
    r = await h.nsnet(['network', 'create', '--ipv6', '--subnet', '2001:db8:9::/64', '--subnet', '2001:db8:8::/64', net]);
    expect(r.stderr).toMatch(/more than one IPv6 --subnet/);
    r = await h.nsnet(['network', 'create', '--ipv6', '--subnet', '2001:db8:9::5/64', net]);
    expect(r.stderr).toMatch(/host bits set/);
    // --internal --ipv6 is allowed now that the ip6 table keeps it internal (ipv6-firewall.test.ts).
    await h.ok(['network', 'create', '--ipv6', '--internal', `${net}i`]);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '2001:db8:9::/64', net]);
    r = await h.nsnet(['network', 'create', '--ipv6', '--subnet', '2001:db8:9::/48', `${net}2`]);
    expect(r.stderr).toMatch(/overlaps/);
  });

  test('--ip6: a static IPv6 address on a dual-stack network (run, network connect); refused clearly otherwise, nothing left', async () => {
    const [dual, v4, other] = [`s6-${h.tag}`, `s4-${h.tag}`, `o6-${h.tag}`];
    const [a, b, c] = [h.sb('sa'), h.sb('sb'), h.sb('sc')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '198.51.100.0/24', '--subnet', '2001:db8:6::/64', dual]);
    await h.ok(['network', 'create', '--subnet', '203.0.113.0/24', v4]);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '2001:db8:7::/64', other]);
    await h.ok(['run', '-d', '--name', a, '--network', dual, '--ip6', '2001:db8:6::abc', '--', 'sleep', '100']);
    const e = await endpoint(a, dual);
    expect([e.GlobalIPv6Address, e.IPAMConfig]).toEqual(['2001:db8:6::abc', { IPv6Address: '2001:db8:6::abc' }]);
    expect(await globals6('eth0', a)).toEqual([{ local: '2001:db8:6::abc', prefixlen: 64, nodad: true }]);
    // The lowest free one still goes to the next sandbox, and they reach each other.
    await h.ok(['create', '--name', b, '--network', dual]);
    expect((await endpoint(b, dual)).GlobalIPv6Address).toBe('2001:db8:6::2');
    expect((await ping6(b, '2001:db8:6::abc')).exitCode).toBe(0);
    // network connect --ip6: b gets eth1 on the other network with the address asked for.
    await h.ok(['network', 'connect', '--ip6', '2001:db8:7::77', other, b]);
    expect(await globals6('eth1', b)).toEqual([{ local: '2001:db8:7::77', prefixlen: 64, nodad: true }]);

    const before = (await h.ok(['ps', '-aq'])).split('\n').sort();
    for (const [args, code, message] of [
      [['--network', v4, '--ip6', '2001:db8:6::9'], 1, `invalid --ip6 2001:db8:6::9: network ${v4} has no IPv6 (it was not created with --ipv6)`],
      [['--network', dual, '--ip6', '2001:db8:9::9'], 1, 'invalid address 2001:db8:9::9: not a host address of subnet 2001:db8:6::/64'],
      [['--network', dual, '--ip6', '2001:db8:6::abc'], 1, 'address 2001:db8:6::abc already in use'],
      [['--network', dual, '--ip6', '198.51.100.9'], 125, 'invalid argument "198.51.100.9" for "--ip6" flag: invalid IPv6 address: 198.51.100.9'],
      [['--ip6', '2001:db8:6::9'], 1, 'user specified IP address is supported on user defined networks only'],
    ] as const) {
      const r = await h.nsnet(['create', '--name', c, ...args]);
      expect([r.code, r.stderr.trim().split('\n')], args.join(' ')).toEqual([code, [`Error: ${message}`]]);
    }
    expect((await h.ok(['ps', '-aq'])).split('\n').sort()).toEqual(before);
    // The refused requests claimed nothing: c gets the next free addresses of both families.
    await h.ok(['create', '--name', c, '--network', dual]);
    const ec = await endpoint(c, dual);
    expect([ec.IPAddress, ec.GlobalIPv6Address]).toEqual(['198.51.100.4', '2001:db8:6::3']);
  }, 60_000);

  test('the default bridge: IPv6 from the config file (daemon.json\'s ipv6, fixed-cidr-v6), IPv4 only without it; a bad config is named', async () => {
    // A bad config: the first command (which makes the built-in networks) says which file and why, and makes nothing.
    const bad = path.join(h.root, 'bad.json');
    writeFileSync(bad, '{"ipv6": "yes"}');
    const r = await h.nsnet(['network', 'ls'], { env: { NSNET_CONFIG: bad } });
    expect([r.code, r.stderr.trim()]).toEqual([1, `Error: ${bad}: "ipv6" must be true or false, not "yes"`]);
    // No config: the default bridge is IPv4 only, IPv6 off in its sandboxes.
    const a = h.sb('da');
    await h.ok(['create', '--name', a]);
    expect((await inspect(['network', 'inspect', 'bridge']))[0].EnableIPv6).toBe(false);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6'])).stdout).toBe('1');
    expect((await endpoint(a, 'bridge')).GlobalIPv6Address).toBe('');

    // A host whose config (beside its --root state) asks for IPv6 on the default bridge.
    const other = await TestHost.make(tag());
    try {
      writeFileSync(path.join(other.root, 'daemon.json'), JSON.stringify({ ipv6: true, 'fixed-cidr-v6': '2001:db8:5::/64' }));
      const [b, c] = [other.sb('db'), other.sb('dc')];
      await other.ok(['create', '--name', b]);
      await other.ok(['create', '--name', c]);
      const info = JSON.parse(await other.ok(['network', 'inspect', 'bridge']))[0];
      expect(info.EnableIPv6).toBe(true);
      expect(info.IPAM.Config[1]).toEqual({ Subnet: '2001:db8:5::/64', Gateway: '2001:db8:5::1' });
      const eb = JSON.parse(await other.ok(['inspect', b]))[0].NetworkSettings.Networks.bridge;
      expect([eb.GlobalIPv6Address, eb.GlobalIPv6PrefixLen, eb.IPv6Gateway]).toEqual(['2001:db8:5::2', 64, '2001:db8:5::1']);
      expect(await globals6('eth0', b)).toEqual([{ local: '2001:db8:5::2', prefixlen: 64, nodad: true }]);
      expect(await globals6('nsnet0', other.name)).toEqual([{ local: '2001:db8:5::1', prefixlen: 64, nodad: true }]);
      expect((await ping6(b, '2001:db8:5::1')).exitCode).toBe(0);
      expect((await ping6(b, '2001:db8:5::3')).exitCode).toBe(0);

      // networks.json lost: system reconcile recovers the default bridge dual stack, from its bridge's IPv6 address.
      const bridgeV6 = async () => JSON.parse(await other.ok(['network', 'inspect', 'bridge']))[0].IPAM.Config as unknown[];
      const netsFile = path.join(other.root, 'lib', 'networks.json');
      rmSync(netsFile);
      expect(await other.ok(['system', 'reconcile'])).toContain('2001:db8:5::/64, gateway 2001:db8:5::1, bridge nsnet0) from sandbox');
      expect(await bridgeV6()).toEqual([{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }, { Subnet: '2001:db8:5::/64', Gateway: '2001:db8:5::1' }]);
      await other.ok(['rm', '-f', b, c]);
      // And with the bridge gone too (a reboot): the default bridge made afresh takes the config file's IPv6.
      await other.run(['ip', 'link', 'del', 'nsnet0'], { reject: true });
      rmSync(netsFile);
      expect(await other.ok(['system', 'reconcile'])).toContain('built-in network bridge (172.17.0.0/16)');
      expect(await bridgeV6()).toEqual([{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }, { Subnet: '2001:db8:5::/64', Gateway: '2001:db8:5::1' }]);
    } finally {
      await other.cleanup();
    }
  }, 60_000);

  test('a dual-stack sandbox is usable the moment create returns: no tentative address, and no router solicitation or DAD probe is ever sent', async () => {
    const net = `nd-${h.tag}`;
    const a = h.sb('nd');
    await h.ok(['network', 'create', '--ipv6', '--subnet', '198.51.100.0/24', '--subnet', '2001:db8:9::/64', net]);
    await h.ok(['create', '--name', a, '--network', net]);
    // Right away: the global address (nodad) and the link-local one (the namespace's accept_dad=0) are not tentative.
    const addrs = ((await ipJson(['-6', 'addr', 'show', 'dev', 'eth0'], a)) as any[])[0].addr_info as any[];
    expect(addrs.map((x) => x.scope).sort()).toEqual(['global', 'link']);
    expect(addrs.filter((x) => x.tentative || x.dadfailed)).toEqual([]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth0.accept_ra', 'net.ipv6.conf.eth0.accept_dad'])).stdout).toBe('0\n0');
    // DAD would probe within rtr_solicit_delay (1 s) and a router solicitation follow it: after that, none was sent.
    await new Promise((r) => setTimeout(r, 1500));
    const snmp6 = (await inNs(a, ['cat', '/proc/net/snmp6'])).stdout;
    const counter = (k: string) => Number(new RegExp(`^${k}\\s+(\\d+)$`, 'm').exec(snmp6)?.[1]);
    expect([counter('Icmp6OutRouterSolicits'), counter('Icmp6OutNeighborSolicits')]).toEqual([0, 0]);
    // ...and the address works.
    expect((await ping6(a, '2001:db8:9::1')).exitCode).toBe(0);
    // The MLD reports of sandboxes made after it (4 each) are dropped at the bridge, not flooded to it. (The host's
    // own reports - the bridge's, its ports' - still reach it: only the sandboxes' ports are quietened.) Seen with
    // tcpdump on its eth0, by source MAC: the new sandboxes' are 02:42 + their IPv4 address.
    const dump = execa('ip', ['netns', 'exec', a, 'tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'icmp6'], { reject: false, timeout: 30_000 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      dump.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening on')) { clearTimeout(t); resolve(); }
      });
    });
    await h.ok(['create', '--name', h.sb('nd2'), '--network', net]);
    await h.ok(['create', '--name', h.sb('nd3'), '--network', net]);
    await new Promise((r) => setTimeout(r, 2500));
    dump.kill('SIGINT');
    const lines = String((await dump).stdout).split('\n');
    const reports = lines.filter((l) => /listener report/.test(l));
    expect(reports.filter((l) => /^\S+ 02:42:c6:33:64:0[34] >/.test(l)), lines.join('\n')).toEqual([]);
    // Their host-side ports are born in nsnet's interface group (the static rule's match), and go with their sandboxes.
    const quiet = async () => ((await ipJson(['link', 'show'], h.name)) as any[]).filter((l) => l.group === String(MLD_QUIET_GROUP)).map((l) => l.ifname as string);
    expect(await quiet()).toHaveLength(3);
    expect((await quiet()).every((n) => /^veth[0-9a-f]{7}$/.test(n))).toBe(true);
    await h.ok(['rm', '-f', h.sb('nd2')]);
    expect(await quiet()).toHaveLength(2);
    // The rule is the bridge table's one drop in prerouting: MLD reports from that group.
    expect((await h.run(['nft', 'list', 'chain', 'bridge', 'nsnet', 'prerouting'])).stdout).toContain(
      `iifgroup ${MLD_QUIET_GROUP} icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } drop`);
  });

  test('a dual-stack sandbox connected to an IPv4-only network: the new interface has IPv6 off, its port is not in the MLD-quiet group', async () => {
    const [n6, n4] = [`c6-${h.tag}`, `c4-${h.tag}`];
    const a = h.sb('c6');
    await h.ok(['network', 'create', '--ipv6', '--subnet', '198.51.100.0/24', '--subnet', '2001:db8:c::/64', n6]);
    await h.ok(['network', 'create', '--subnet', '203.0.113.0/24', n4]);
    await h.ok(['create', '--name', a, '--network', n6]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.default.disable_ipv6', 'net.ipv6.conf.eth0.disable_ipv6'])).stdout).toBe('0\n0');
    expect(await h.ok(['network', 'connect', '--dry-run', n4, a])).toContain(`ip netns exec ${a} sysctl -w net.ipv6.conf.default.disable_ipv6=1`);
    await h.ok(['network', 'connect', n4, a]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6', 'net.ipv6.conf.eth1.disable_ipv6'])).stdout).toBe('0\n1');
    expect(await globals6('eth1', a)).toEqual([]);
    // Two ports: the dual-stack one in the group, the IPv4 one not (group 0, "default").
    const groups = ((await ipJson(['-d', 'link', 'show', 'type', 'veth'], h.name)) as any[]).map((l) => String(l.group));
    expect(groups.sort()).toEqual([String(MLD_QUIET_GROUP), 'default'].sort());
    // A dual-stack network connected after that turns IPv6 on for its own interface (three writes).
    const n6b = `d6-${h.tag}`;
    await h.ok(['network', 'create', '--ipv6', '--subnet', '192.0.2.0/24', '--subnet', '2001:db8:d::/64', n6b]);
    await h.ok(['network', 'connect', n6b, a]);
    expect((await inNs(a, ['sysctl', '-n', 'net.ipv6.conf.eth2.disable_ipv6', 'net.ipv6.conf.eth2.accept_ra', 'net.ipv6.conf.eth2.accept_dad'])).stdout).toBe('0\n0\n0');
    expect((await globals6('eth2', a)).map((x: any) => x.local)).toEqual(['2001:db8:d::2']);
  });

  test('--dry-run of a dual-stack network and sandbox prints the IPv6 steps', async () => {
    const net = `dr-${h.tag}`;
    let out = await h.ok(['network', 'create', '--dry-run', '--ipv6', '--subnet', '2001:db8:5::/64', net]);
    expect(out).toMatch(/ip addr add 2001:db8:5::1\/64 dev br-[0-9a-f]{12} nodad/);
    expect(out).toMatch(/sysctl -w net\.ipv6\.conf\.all\.forwarding=1/);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '2001:db8:5::/64', net]);
    const a = h.sb('dr');
    out = await h.ok(['create', '--dry-run', '--name', a, '--network', net]);
    // Born with IPv6 on (the namespace's default): no write for eth0.
    expect(out).toContain(`ip netns exec ${a} sysctl -qw net.ipv6.conf.default.disable_ipv6=0`);
    expect(out).not.toContain('net.ipv6.conf.eth0');
    expect(out).toContain(`ip -n ${a} addr add 2001:db8:5::2/64 dev eth0 nodad`);
    expect(out).toContain(`ip -n ${a} route add default via 2001:db8:5::1`);
  });

  test('a dual-stack network and sandbox with published ports: the plan, replayed by hand in a fresh host, builds the same kernel state, firewall included', async () => {
    const other = await TestHost.make(tag());
    try {
      const br = `br6${h.tag}`;
      const net = `rp-${h.tag}`;
      const netArgs = ['--ipv6', '--subnet', '198.51.100.0/24', '--subnet', '2001:db8:7::/64', '-o', `com.docker.network.bridge.name=${br}`, net];
      const [a, b] = [h.sb('ra'), other.sb('rb')];
      const planNet = await h.ok(['network', 'create', '--dry-run', ...netArgs]);
      await h.ok(['network', 'create', ...netArgs]);
      const ports = ['-p', '8080:80', '-p', '[::]:8081:81', '-p', '127.0.0.1:8082:82'];
      const planSb = await h.ok(['create', '--dry-run', '--name', a, '--network', net, ...ports]);
      // The golden part: the sandbox's IPv6 and its published ports in both families.
      const lines = planSb.replaceAll(a, 'SB').replace(/veth[0-9a-f]{7}/g, 'vethID').split('\n');
      const at = lines.indexOf('# adding 2001:db8:7::2/64 to eth0');
      expect(at).toBeGreaterThan(0);
      // Its interfaces are born with IPv6 on, taking no RAs and running no DAD (the namespace's defaults); its port
      // in the MLD-quiet interface group; the address beside the IPv4 address and link-up; the IPv6 route last.
      expect(lines.slice(lines.indexOf('# creating network namespace SB'), lines.indexOf('# creating network namespace SB') + 6)).toEqual([
        '# creating network namespace SB',
        'ip netns add SB',
        'ip netns exec SB sysctl -qw net.ipv6.conf.default.accept_ra=0',
        'ip netns exec SB sysctl -qw net.ipv6.conf.default.accept_dad=0',
        'ip netns exec SB sysctl -qw net.ipv6.conf.default.disable_ipv6=0',
        'ip -n SB link set dev lo up',
      ]);
      expect(lines.find((l) => l.startsWith('ip link add vethID'))).toMatch(new RegExp(`^ip link add vethID group ${MLD_QUIET_GROUP} master ${br} up type veth`));
      expect(lines.slice(at)).toEqual([
        '# adding 2001:db8:7::2/64 to eth0',
        'ip -n SB addr add 2001:db8:7::2/64 dev eth0 nodad',
        '# adding 198.51.100.2/24 to eth0 and bringing it up',
        'ip -n SB addr add 198.51.100.2/24 dev eth0',
        'ip -n SB link set dev eth0 up',
        '# adding default route via 198.51.100.1',
        'ip -n SB route add default via 198.51.100.1',
        '# adding default route via 2001:db8:7::1',
        'ip -n SB route add default via 2001:db8:7::1',
        '# publishing 3 port(s)',
        'nft add element ip nsnet ports { tcp . 8080 : 198.51.100.2 . 80 }',
        'nft add element ip6 nsnet ports { tcp . 8080 : 2001:db8:7::2 . 80 }',
        'nft add element ip6 nsnet ports { tcp . 8081 : 2001:db8:7::2 . 81 }',
        'nft add element ip nsnet ports_addr { 127.0.0.1 . tcp . 8082 : 198.51.100.2 . 82 }',
        // [::1] (no DNAT serves it): relayed by the resident process, 8080 and [::]:8081 but not 127.0.0.1:8082.
        '# relaying [::1]:8080/tcp, [::1]:8081/tcp to sandbox SB (with the DNS server\'s attach: IPv6 has no route_localnet)',
        '# nsnet dns listens on [::1]:8080 (tcp) and relays to [2001:db8:7::2]:80',
        '# nsnet dns listens on [::1]:8081 (tcp) and relays to [2001:db8:7::2]:81',
      ]);
      // ...and the network's elements in the ip6 table.
      expect(planNet.split('\n')).toEqual(expect.arrayContaining([
        `nft add element ip6 nsnet bridges { "${br}" }`, 'nft add element ip6 nsnet subnets { 2001:db8:7::/64 }',
        'nft add element ip6 nsnet same_subnet { 2001:db8:7::/64 . 2001:db8:7::/64 }', 'nft add element ip6 nsnet masq_subnets { 2001:db8:7::/64 }']));
      await h.ok(['create', '--name', a, '--network', net, ...ports]);
      const script = `${planNet}\n${planSb.replaceAll(a, b)}`.split('\n').filter((l) => !l.includes('DOCKER-USER') && !l.includes('UNIX-CONNECT')).join('\n');
      const r = await execa('nsenter', [`--net=/run/netns/${other.name}`, '--', 'bash', '-e'], { input: script, reject: false });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const view = async (host: TestHost, sb: string) => ({
        sandbox: await globals6('eth0', sb),
        routes: ((await ipJson(['-6', 'route', 'show', 'default'], sb)) as any[]).map((x) => [x.gateway, x.dev]),
        sysctls: (await inNs(sb, ['sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6', 'net.ipv6.conf.eth0.accept_ra', 'net.ipv6.conf.eth0.accept_dad', 'net.ipv6.conf.lo.disable_ipv6'])).stdout,
        bridge: await globals6(br, host.name),
        forwarding: (await host.run(['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).stdout,
        quietPorts: ((await ipJson(['link', 'show'], host.name)) as any[]).filter((l) => l.group === String(MLD_QUIET_GROUP)).length,
        // The sandboxes' host-side veths have names of their own.
        nft: (await host.run(['nft', 'list', 'ruleset'])).stdout.replace(/veth[0-9a-f]{7}/g, 'vethID'),
      });
      const [va, vb] = [await view(h, a), await view(other, b)];
      expect(vb).toEqual(va);
      expect(va).toEqual({
        sandbox: [{ local: '2001:db8:7::2', prefixlen: 64, nodad: true }], routes: [['2001:db8:7::1', 'eth0']],
        sysctls: '0\n0\n0\n0', bridge: [{ local: '2001:db8:7::1', prefixlen: 64, nodad: true }], forwarding: '1', quietPorts: 1,
        nft: expect.stringContaining('table ip6 nsnet {'),
      });
      expect(va.nft).toMatch(/map ports \{\n\t\ttype inet_proto \. inet_service : ipv6_addr \. inet_service\n\t\telements = \{ tcp \. 8080 : 2001:db8:7::2 \. 80,\s+tcp \. 8081 : 2001:db8:7::2 \. 81 \}/);
      expect((await ping6(b, '2001:db8:7::1')).exitCode).toBe(0);
    } finally {
      await other.cleanup();
    }
  });
});
