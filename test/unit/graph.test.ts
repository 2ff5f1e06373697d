import { expect, test } from 'vitest';
import { toDot, toMermaid, toSvg, topology } from '../../src/graph/topology.js';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';

const net = (id: string, name: string, bridge: string, subnet: string, extra: Partial<NetworkRecord> = {}): NetworkRecord => ({
  id, name, driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {}, bridge, subnet,
  gateway: subnet.replace(/0\/\d+$/, '1'), ...extra,
});
const sb = (name: string, networkId: string, ip: string, extra: Partial<SandboxRecord> = {}): SandboxRecord => ({
  id: name.padEnd(64, '0'), name, created: '', status: 'created', mode: 'bridge', networkMode: networkId, hostname: name,
  endpoints: [{ networkId, endpointId: 'e', ifname: 'eth0', hostVeth: `veth${name}`, ip, prefixlen: 16, mac: '02:42:ac:11:00:02', gateway: '', aliases: [], staticIp: false }],
  ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], ...extra,
});

const networks = [net('n0', 'bridge', 'nsnet0', '172.17.0.0/16', { builtin: true, defaultBridge: true }), net('n1', 'mynet', 'br-0123456789ab', '172.18.0.0/16', { icc: false })];
const sandboxes = [
  sb('web', 'n0', '172.17.0.2', { ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, ip: '172.17.0.2' }] }),
  sb('db', 'n1', '172.18.0.2'),
  { ...sb('joined', 'n0', ''), endpoints: [], mode: 'container' as const, containerOf: 'web'.padEnd(64, '0') },
];

test('the topology groups sandboxes under their bridges', () => {
  const t = topology(networks, sandboxes);
  expect(t.bridges.map((b) => [b.bridge, b.sandboxes.map((s) => s.name), b.dns, b.flags])).toEqual([
    ['nsnet0', ['web'], false, []],
    ['br-0123456789ab', ['db'], true, ['icc off']],
  ]);
  expect(t.bridges[0]!.sandboxes[0]!.ports).toEqual(['8080->80/tcp']);
  expect(t.others).toEqual([{ name: 'joined', mode: 'container:web' }]);
});

test('the SVG is well-formed and names every sandbox and bridge', () => {
  const svg = toSvg(topology(networks, sandboxes));
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  // Every opened element is closed (a small well-formedness check without an XML parser).
  const opened = (svg.match(/<(rect|text|line|svg)\b[^>]*[^/]>/g) ?? []).filter((t) => !t.startsWith('<line') && !t.startsWith('<rect')).length;
  const closed = (svg.match(/<\/(text|svg)>/g) ?? []).length;
  expect(closed).toBe(opened);
  for (const name of ['web', 'db', 'joined', 'nsnet0', 'br-0123456789ab', '172.18.0.2/16', '-p 8080-&gt;80/tcp']) expect(svg).toContain(name);
});

test('DOT and Mermaid name the same things', () => {
  const t = topology(networks, sandboxes);
  for (const text of [toDot(t), toMermaid(t)]) {
    for (const name of ['web', 'db', 'joined', 'nsnet0', 'br-0123456789ab', 'vethdb']) expect(text).toContain(name);
  }
  expect(toDot(t)).toMatch(/^digraph nsnet \{/);
  expect(toMermaid(t)).toMatch(/^flowchart TB/);
});

test('in the SVG every veth goes straight from its bridge to its own sandbox, crossing no other box', () => {
  const many = [...sandboxes, sb('db-2', 'n1', '172.18.0.3'), sb('db-3', 'n1', '172.18.0.4')];
  const svg = toSvg(topology(networks, many));
  const num = (tag: string, a: string) => Number(new RegExp(`\\b${a}="([-\\d.]+)"`).exec(tag)![1]);
  // Sandbox boxes (filled #fff7e0) and the veths.
  const boxes = (svg.match(/<rect [^>]*fill="#fff7e0"[^>]*>/g) ?? []).map((r) => ({ x: num(r, 'x'), y: num(r, 'y'), w: num(r, 'width'), h: num(r, 'height') }));
  const veths = (svg.match(/<line class="veth"[^>]*>/g) ?? []).map((l) => ({ x: num(l, 'x1'), x2: num(l, 'x2'), y1: num(l, 'y1'), y2: num(l, 'y2') }));
  expect(boxes).toHaveLength(4);
  expect(veths).toHaveLength(4);
  for (const v of veths) {
    expect(v.x2).toBe(v.x); // vertical
    const ends = boxes.filter((b) => b.x < v.x && v.x < b.x + b.w && b.y === v.y2);
    expect(ends).toHaveLength(1); // ends on the top edge of exactly one sandbox...
    const crossed = boxes.filter((b) => b.x < v.x && v.x < b.x + b.w && b.y < v.y2 && v.y1 < b.y + b.h);
    expect(crossed).toHaveLength(0); // ...and passes through none
  }
  // No two sandbox boxes overlap.
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) expect(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y).toBe(true);
  }
});

test('in the SVG long names and flags are cut or wrapped to fit their boxes', () => {
  const long = 'a-sandbox-name-much-longer-than-any-box-is-wide';
  const nets = [net('n1', 'mynet', 'br-0123456789ab', '192.168.100.0/24', { internal: true, icc: false, masquerade: false })];
  const svg = toSvg(topology(nets, [sb(long, 'n1', '192.168.100.2')]));
  expect(svg).not.toContain(`>${long}<`);
  expect(svg).toContain('>a-sandbox-name-much-lo…<');
  expect(svg).toContain('>internal, icc off<');
  expect(svg).toContain('>no masquerade<');
  expect(svg).not.toContain('isolation:'); // one network: no isolation to show
});
