// nsnet's nftables tables as a function of its state (docker/firewall.ts
// firewallContent, nft/table.ts tablesText): pure, no root.
import { describe, expect, test } from 'vitest';
import { firewallContent } from '../../src/docker/firewall.js';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';
import { MARK, skeleton, tablesText } from '../../src/nft/table.js';

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
  });

  test('the tables text replaces both tables whole, in one buffer, and holds every element', () => {
    const text = tablesText({
      networks: [{ bridge: 'br-x', subnet: '10.1.0.0/24', internal: false, masquerade: true }],
      ports: [{ proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, ip: '10.1.0.2', port: 5353 }],
      iccPorts: ['veth0'],
    });
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual(['add table ip nsnet', 'delete table ip nsnet', 'add table bridge nsnet', 'delete table bridge nsnet']);
    expect(text).toContain(skeleton());
    expect(text).toContain('add element ip nsnet bridges { "br-x" }');
    expect(text).toContain('add element ip nsnet masq_subnets { 10.1.0.0/24 }');
    expect(text).toContain('add element ip nsnet ports_addr { 127.0.0.1 . udp . 53 : 10.1.0.2 . 5353 }');
    expect(text).toContain('add element bridge nsnet icc_off_ports { "veth0" }');
    // Only nsnet's own tables are named.
    expect(text.match(/table (\w+) (\w+)/g)!.every((t) => t.endsWith(' nsnet'))).toBe(true);
  });

  test('both tables carry the layout mark, which changes with the rules', () => {
    expect(MARK).toMatch(/^nsnet layout [0-9a-f]{8}$/);
    expect(skeleton().match(new RegExp(`comment "${MARK}"`, 'g'))).toHaveLength(2);
  });
});
