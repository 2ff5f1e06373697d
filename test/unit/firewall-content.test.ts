// nsnet's nftables tables as a function of its state (docker/firewall.ts
// firewallContent, nft/table.ts tablesText): pure, no root.
import { describe, expect, test } from 'vitest';
import { firewallContent } from '../../src/docker/firewall.js';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';
import { MARK, MLD_QUIET_GROUP, networkElements, portElements, skeleton, tablesText } from '../../src/nft/table.js';

const net = (over: Partial<NetworkRecord>): NetworkRecord => ({
  id: 'a'.repeat(64), name: 'n', driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {},
  bridge: 'br-aaaaaaaaaaaa', subnet: '172.18.0.0/16', gateway: '172.18.0.1', ...over,
});

const sandbox = (over: Partial<SandboxRecord>): SandboxRecord => ({
  id: 'f'.repeat(64), name: 'web', created: '', status: 'running', mode: 'bridge', networkMode: 'n',
  endpoints: [], ports: [], ...over,
} as unknown as SandboxRecord);

describe('firewallContent', () => {
  test('bridge networks, published ports and icc=false ports; host and none have none', () => {
    const a = net({});
    const quiet = net({ id: 'b'.repeat(64), name: 'q', bridge: 'br-bbbbbbbbbbbb', subnet: '10.9.0.0/24', icc: false, internal: true });
    const host = net({ id: 'c'.repeat(64), name: 'host', driver: 'host', builtin: true, bridge: undefined, subnet: undefined });
    const web = sandbox({
      endpoints: [{ networkId: a.id, hostVeth: 'veth1111111' }, { networkId: quiet.id, hostVeth: 'veth2222222' }] as SandboxRecord['endpoints'],
      ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.18.0.2' }] as SandboxRecord['ports'],
    });
    const c = firewallContent([a, quiet, host], [web]);
    expect(c.networks).toEqual([
      { bridge: 'br-aaaaaaaaaaaa', subnet: '172.18.0.0/16', internal: false, masquerade: true },
      { bridge: 'br-bbbbbbbbbbbb', subnet: '10.9.0.0/24', internal: true, masquerade: true },
    ]);
    expect(c.ports).toEqual([{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, ip: '172.18.0.2', port: 80 }]);
    expect(c.iccPorts).toEqual(['veth2222222']);
    // A dual-stack endpoint adds nothing per port: its port's MLD reports are dropped by its interface group (MLD_QUIET_GROUP).
    const dual = sandbox({ endpoints: [{ networkId: a.id, hostVeth: 'veth3333333', ip6: '2001:db8::2' }] as SandboxRecord['endpoints'] });
    expect(firewallContent([a, quiet, host], [web, dual])).toEqual(c);
  });

  test('the tables text replaces both tables whole, in one buffer, and holds every element', () => {
    const text = tablesText({
      networks: [{ bridge: 'br-x', subnet: '10.1.0.0/24', internal: false, masquerade: true }],
      ports: [{ proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, ip: '10.1.0.2', port: 5353 }],
      iccPorts: ['veth0'],
    });
    const lines = text.split('\n');
    expect(lines.slice(0, 6)).toEqual(['add table ip nsnet', 'delete table ip nsnet', 'add table ip6 nsnet', 'delete table ip6 nsnet',
      'add table bridge nsnet', 'delete table bridge nsnet']);
    expect(text).toContain(skeleton());
    expect(text).toContain('add element ip nsnet bridges { "br-x" }');
    expect(text).toContain('add element ip nsnet masq_subnets { 10.1.0.0/24 }');
    expect(text).toContain('add element ip nsnet ports_addr { 127.0.0.1 . udp . 53 : 10.1.0.2 . 5353 }');
    expect(text).toContain('add element bridge nsnet icc_off_ports { "veth0" }');
    // Only nsnet's own tables are named.
    expect(text.match(/table (\w+) (\w+)/g)!.every((t) => t.endsWith(' nsnet'))).toBe(true);
  });

  test('the bridge table drops MLD reports only from ports in MLD_QUIET_GROUP, nothing else, with no element per port', () => {
    const bridge = skeleton().split(/^(?=table )/m).find((t) => t.startsWith('table bridge nsnet'))!;
    const pre = bridge.slice(bridge.indexOf('chain prerouting'), bridge.indexOf('chain forward'));
    expect(pre.split('\n').map((l) => l.trim()).filter((l) => l.endsWith('drop'))).toEqual([
      `meta iifgroup ${MLD_QUIET_GROUP} icmpv6 type { mld-listener-report, mld2-listener-report, mld-listener-done } drop`]);
    expect(MLD_QUIET_GROUP).toBe(0x6e736e36); // "nsn6": no other software's group
    expect(bridge).not.toContain('mld_quiet_ports');
  });

  test('every table carries the layout mark, which changes with the rules', () => {
    expect(MARK).toMatch(/^nsnet layout [0-9a-f]{8}$/);
    expect(skeleton().match(new RegExp(`comment "${MARK}"`, 'g'))).toHaveLength(3);
  });

  test('the ip6 table is the ip table with IPv6 types, no 127/8 masquerade, ::1 left out of output DNAT, and bridged NDP let through', () => {
    const tables = skeleton().split(/^(?=table )/m);
    const [ip, ip6] = [tables.find((t) => t.startsWith('table ip nsnet'))!, tables.find((t) => t.startsWith('table ip6 nsnet'))!];
    const as6 = ip.replace('table ip nsnet', 'table ip6 nsnet').replaceAll('ipv4_addr', 'ipv6_addr')
      .replace(/\bip (saddr|daddr|to)\b/g, 'ip6 $1').replace(/dnat ip /g, 'dnat ip6 ')
      .replace('\t\toifname @bridges ip6 saddr 127.0.0.0/8 masquerade\n', '')
      .replace('\t\tfib daddr type local jump publish\n\t}\n\tchain publish', '\t\tip6 daddr != ::1 fib daddr type local jump publish\n\t}\n\tchain publish')
      .replace('@same_subnet accept\n', '@same_subnet accept\n\t\tip6 daddr { fe80::/10, ff02::/16 } accept\n\t\tip6 saddr fe80::/10 accept\n');
    expect(ip6).toBe(as6);
  });
});

describe('IPv6 elements (dual stack)', () => {
  test('a dual-stack network: the same elements in the ip6 table; an IPv4-only one has none there', () => {
    const dual = net({ subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1', enableIPv6: true });
    const c = firewallContent([dual, net({ id: 'b'.repeat(64), bridge: 'br-b', subnet: '10.2.0.0/24' })], []);
    expect(c.networks[0]).toEqual({ bridge: 'br-aaaaaaaaaaaa', subnet: '172.18.0.0/16', subnet6: '2001:db8:1::/64', internal: false, masquerade: true });
    expect(networkElements('add', c.networks[0]!).split('\n').filter((l) => l.includes(' ip6 '))).toEqual([
      'add element ip6 nsnet bridges { "br-aaaaaaaaaaaa" }',
      'add element ip6 nsnet subnets { 2001:db8:1::/64 }',
      'add element ip6 nsnet same_subnet { 2001:db8:1::/64 . 2001:db8:1::/64 }',
      'add element ip6 nsnet masq_subnets { 2001:db8:1::/64 }',
    ]);
    expect(networkElements('add', c.networks[1]!)).not.toContain(' ip6 ');
    // --internal: in the internal set, never masqueraded, in both families; enable_ip_masquerade=false: no masq_subnets.
    const internal = networkElements('delete', { ...c.networks[0]!, internal: true });
    expect(internal).toContain('delete element ip6 nsnet internal { "br-aaaaaaaaaaaa" }');
    expect(internal).not.toContain('masq_subnets');
    expect(networkElements('add', { ...c.networks[0]!, masquerade: false })).not.toContain('masq_subnets');
  });

  test('published ports: 0.0.0.0 in both families for a dual-stack sandbox, "::" and IPv6 addresses in ip6 only, IPv4 addresses in ip only', () => {
    const base = { proto: 'tcp' as const, port: 80, ip: '172.18.0.2', ip6: '2001:db8:1::2' };
    expect(portElements('add', [{ ...base, hostIp: '0.0.0.0', hostPort: 8080 }]).trim().split('\n')).toEqual([
      'add element ip nsnet ports { tcp . 8080 : 172.18.0.2 . 80 }',
      'add element ip6 nsnet ports { tcp . 8080 : 2001:db8:1::2 . 80 }',
    ]);
    expect(portElements('add', [{ ...base, hostIp: '::', hostPort: 8081 }])).toBe('add element ip6 nsnet ports { tcp . 8081 : 2001:db8:1::2 . 80 }\n');
    expect(portElements('delete', [{ ...base, hostIp: '2001:db8:ffff::2', hostPort: 8082 }])).toBe('delete element ip6 nsnet ports_addr { 2001:db8:ffff::2 . tcp . 8082 }\n');
    expect(portElements('add', [{ ...base, hostIp: '127.0.0.1', hostPort: 8083 }])).toBe('add element ip nsnet ports_addr { 127.0.0.1 . tcp . 8083 : 172.18.0.2 . 80 }\n');
    // An IPv4-only sandbox: nothing in ip6, as before.
    const { ip6: _, ...v4 } = base;
    expect(portElements('add', [{ ...v4, hostIp: '0.0.0.0', hostPort: 8080 }])).toBe('add element ip nsnet ports { tcp . 8080 : 172.18.0.2 . 80 }\n');
    // firewallContent carries the binding's ip6.
    const sb = sandbox({ ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.18.0.2', ip6: '2001:db8:1::2' }] as SandboxRecord['ports'] });
    expect(firewallContent([], [sb]).ports).toEqual([{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, ip: '172.18.0.2', ip6: '2001:db8:1::2', port: 80 }]);
  });
});
