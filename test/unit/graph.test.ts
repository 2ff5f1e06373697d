import { describe, expect, test } from 'vitest';
import { fit, layout, MAX_WIDTH, toDot, toMermaid, toSvg, topology, type Box } from '../../src/graph/topology.js';
import { parseDnsRedirect, dnsRedirect } from '../../src/dns/redirect.js';
import type { SandboxRecord } from '../../src/docker/types.js';
import { busyHost, net } from '../helpers/graph-fixture.js';
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
  expect(t.bridges[0]!.sandboxes[0]!.dnat.map((d) => d.label)).toEqual(['DNAT tcp 8080 -> 172.17.0.2:80']);
  // container: sandboxes hang under the sandbox whose namespace they share.
  expect(t.joinedTo).toEqual({ joined: 'web' });
  expect(t.bridges[0]!.sandboxes[0]!.joined).toEqual(['joined']);
  expect(t.host).toEqual([]);
  expect(t.none).toEqual([]);
  // The default bridge has no embedded DNS; mynet's was not read (no facts given).
  expect(t.bridges.map((b) => b.sandboxes[0]!.dns)).toEqual([undefined, 'unknown']);
  expect(t.bridges.map((b) => b.masquerade)).toEqual([true, true]);
});

test('the SVG is well-formed and names every sandbox and bridge', () => {
  const svg = toSvg(topology(networks, sandboxes));
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  // Every opened element is closed, in order (a small well-formedness check without an XML parser).
  const stack: string[] = [];
  for (const [, close, tag, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
    if (close) expect(stack.pop()).toBe(tag);
    else if (!selfClosing) stack.push(tag!);
  }
  expect(stack).toEqual([]);
  for (const name of ['web', 'db', 'joined', 'nsnet0', 'br-0123456789ab', '172.18.0.2/16', 'DNAT tcp 8080 -&gt; 172.17.0.2:80', '<title>']) expect(svg).toContain(name);
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
  // Each veth is a polyline: down from the bridge, then right into its box's left edge.
  const veths = (svg.match(/<g class="veth"[^>]*>.*?<polyline points="([^"]+)"/g) ?? [])
    .map((g) => /points="([^"]+)"/.exec(g)![1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]));
  expect(boxes).toHaveLength(4);
  expect(veths).toHaveLength(4);
  for (const [[x1, y1], [x2, y2], [x3, y3]] of veths as [[number, number], [number, number], [number, number]][]) {
    expect(x2).toBe(x1); // down...
    expect(y3).toBe(y2); // ...then across
    const ends = boxes.filter((b) => b.x === x3! && b.y < y3! && y3! < b.y + b.h);
    expect(ends).toHaveLength(1); // ends on the left edge of exactly one sandbox...
    const crossed = boxes.filter((b) => (b.x < x1! && x1! < b.x + b.w && b.y < y2! && y1! < b.y + b.h) || (b.y < y2! && y2! < b.y + b.h && x1! < b.x + b.w && b.x < x3!));
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
  expect(svg).toContain('>a-sandbox-name-much-long…<');
  expect(svg).toContain('>internal, icc off, no masquerade<');
  expect(svg).not.toContain('isolation:'); // one network: no isolation to show
  expect(svg).not.toContain('>masquerade<'); // internal: nothing leaves by the uplink
});

const overlap = (a: Box, b: Box) => !(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y);

describe('the layout of a busy host: 30 sandboxes on 2 networks, host, none and container: ones', () => {
  const { networks, sandboxes, facts } = busyHost();
  const t = topology(networks, sandboxes, facts);
  const L = layout(t);

  test('stays within a laptop screen\'s width, rows wrapping', () => {
    expect(L.width).toBeLessThanOrEqual(MAX_WIDTH);
    const svg = toSvg(t);
    expect(svg).toContain(`width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}"`);
    // Wrapped: the 18 sandboxes of mynet sit on more than one row, and every box is inside the picture.
    const rows = new Set(L.boxes.filter((b) => b.kind === 'sandbox' && b.name.startsWith('api-')).map((b) => b.y));
    expect(rows.size).toBeGreaterThan(1);
    for (const b of L.boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(L.width);
      expect(b.y + b.h).toBeLessThanOrEqual(L.height);
    }
  });

  test('no two boxes overlap', () => {
    const bad: string[] = [];
    for (const [i, a] of L.boxes.entries()) {
      for (const b of L.boxes.slice(i + 1)) if (overlap(a, b)) bad.push(`${a.kind} ${a.name} / ${b.kind} ${b.name}`);
    }
    expect(bad).toEqual([]);
  });

  test('every sandbox is drawn once per endpoint, in the right kind of box', () => {
    const kinds = new Map(L.boxes.filter((b) => b.kind !== 'bridge' && b.kind !== 'uplink').map((b) => [b.name, b.kind]));
    expect(kinds.size).toBe(sandboxes.length);
    for (const s of sandboxes) expect(kinds.get(s.name)).toBe({ bridge: 'sandbox', host: 'host', none: 'none', container: 'joined' }[s.mode]);
    expect(L.boxes.filter((b) => b.kind === 'bridge').map((b) => b.name)).toEqual(['nsnet0', 'br-5f0c2e6a91d4']);
  });

  test('every published port has its DNAT path into its sandbox, and each bridge its trunks', () => {
    const box = new Map(L.boxes.map((b) => [b.name, b]));
    expect(t.dnats.map((d) => d.label)).toEqual(['DNAT tcp 8080 -> 172.17.0.2:80', 'DNAT tcp 8443 -> 172.18.0.2:443', 'DNAT udp 127.0.0.1:5353 -> 172.18.0.2:53']);
    for (const d of t.dnats) {
      const p = L.paths.find((x) => x.kind === 'dnat' && x.label === d.label)!;
      expect(p, d.label).toBeDefined();
      const [ex, ey] = p.points[p.points.length - 1]!;
      const target = box.get(d.sandbox)!;
      expect(ex).toBe(target.x); // ends on its sandbox's edge
      expect(ey).toBeGreaterThan(target.y);
      expect(ey).toBeLessThan(target.y + target.h);
      expect(target.lines.map((l) => l.text).join('\n')).toContain(d.label.includes('127.0.0.1') ? 'DNAT udp 127.0.0.1:5353' : d.label);
    }
    // From the uplink to both bridges (both publish), and from both (masquerading) to the uplink.
    const uplink = box.get('eth0')!;
    expect(uplink.kind).toBe('uplink');
    expect(L.paths.filter((p) => p.kind === 'dnat' && p.from === 'eth0').map((p) => p.to)).toEqual(['nsnet0', 'br-5f0c2e6a91d4']);
    expect(L.paths.filter((p) => p.kind === 'masquerade').map((p) => p.from)).toEqual(['nsnet0', 'br-5f0c2e6a91d4']);
    for (const p of L.paths.filter((x) => x.kind === 'masquerade')) expect(p.points[p.points.length - 1]![0]).toBe(uplink.x + uplink.w);
    // One veth per endpoint; none of them crosses a box other than its two ends.
    const veths = L.paths.filter((p) => p.kind === 'veth');
    expect(veths).toHaveLength(30);
    for (const v of veths) {
      for (const [[x1, y1], [x2, y2]] of v.points.slice(1).map((p, k) => [v.points[k]!, p] as const)) {
        const seg = { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) };
        const hit = L.boxes.filter((b) => b.name !== v.to && b.name !== v.from && b.x < seg.x + seg.w && seg.x < b.x + b.w && b.y < seg.y + seg.h && seg.y < b.y + b.h);
        expect(hit.map((b) => b.name), v.label).toEqual([]);
      }
    }
  });

  test('the DNS DNAT shows the ports read from each sandbox, and no text is wider than its box', () => {
    const api3 = L.boxes.find((b) => b.name === 'api-3')!;
    expect(api3.lines.map((l) => l.text)).toContain('DNS DNAT 127.0.0.11:53 ->');
    expect(api3.lines.map((l) => l.text)).toContain('udp :40004  tcp :40005');
    expect(L.boxes.find((b) => b.name === 'web-3')!.lines.map((l) => l.text)).toContain('no embedded DNS');
    for (const b of L.boxes) for (const l of b.lines) expect(fit(l.text, b.w - 20, ['small', 'veth', 'dns', 'dnat'].includes(l.style) ? 11 : 12, l.style === 'title')).toBe(l.text);
    expect(L.boxes.find((b) => b.kind === 'uplink')!.lines.map((l) => l.text)).toEqual(['uplink eth0', '192.0.2.10/24', 'default via 192.0.2.1']);
  });

  test('DOT and Mermaid carry the same: uplink, masquerade, DNAT edges, the other modes', () => {
    const dot = toDot(t), mmd = toMermaid(t);
    expect(dot).toContain('uplink [label="uplink eth0\\n192.0.2.10/24\\ndefault via 192.0.2.1"];');
    expect(dot).toContain('br_nsnet0 -> uplink [label="masquerade"];');
    expect(dot).toContain('uplink -> sb_api_1 [label="DNAT udp 127.0.0.1:5353 -> 172.18.0.2:53", style=dashed];');
    expect(dot).toContain('sb_monitor [label="monitor\\n--network host\\nthe host\'s own namespace", style=dashed];');
    expect(dot).toContain('sb_web_1_sidecar -> sb_web_1 [label="shares its namespace", style=dotted];');
    expect(dot).toContain('DNS DNAT 127.0.0.11:53 -> udp :40000  tcp :40001');
    expect(dot).not.toMatch(/color/);
    expect(mmd).toContain('br_nsnet0 -->|masquerade| uplink');
    expect(mmd).toContain('uplink -.->|"DNAT tcp 8443 -> 172.18.0.2:443"| sb_api_1');
    expect(mmd).toContain('sb_batch["batch<br/>--network none<br/>only lo"]');
    expect(mmd).toContain('sb_api_1_debug -.-|shares its namespace| sb_api_1');
  });
});

test('the DNS redirect is read back from its nft listing', () => {
  // As `nft list table ip nsnet_dns` prints the rules dnsRedirect wrote.
  const listing = dnsRedirect(41234, 40999).split('\n').filter((l) => l.startsWith('add rule')).map((l) => l.replace(/^add rule ip nsnet_dns \w+ /, '')).join('\n');
  expect(parseDnsRedirect(listing)).toEqual({ udp: 41234, tcp: 40999 });
  expect(parseDnsRedirect('table ip nsnet_dns {\n}\n')).toBeUndefined();
});

test('the uplink and the DNS facts reach the topology; a missing DNS table reads as not attached', () => {
  const nets = [net('n1', 'mynet', 'br-0123456789ab', '172.18.0.0/16', { masquerade: false })];
  const t = topology(nets, [sb('db', 'n1', '172.18.0.2')], { uplink: { ifname: 'whtour', address: '198.51.100.2' }, dns: {} });
  expect(t.uplink).toEqual({ ifname: 'whtour', address: '198.51.100.2' });
  expect(t.bridges[0]!.sandboxes[0]!.dns).toBe('detached');
  expect(t.bridges[0]!.masquerade).toBe(false);
  const L = layout(t);
  expect(L.paths.filter((p) => p.kind === 'masquerade')).toEqual([]);
  expect(L.boxes.find((b) => b.name === 'db')!.lines.map((l) => l.text)).toContain('not attached');
});

test('any number of networks and sandboxes: within the width, no box over another, nothing outside the picture', () => {
  // A few shapes, from empty to 8 networks of 0..40 sandboxes with many ports and joins.
  for (const sizes of [[], [0], [1], [7, 0, 3], [40], [5, 12, 1, 25, 0, 2, 9, 33]]) {
    const nets = sizes.map((_, i) => net(`n${i}`, `net-${i}-with-a-rather-long-name`, `br-${String(i).padStart(12, '0')}`, `10.${i}.0.0/16`, { internal: i % 3 === 1 }));
    const sbs: SandboxRecord[] = sizes.flatMap((n, i) => Array.from({ length: n }, (_, k) => sb(`s${i}-${k}-${'x'.repeat(k % 40)}`, `n${i}`, `10.${i}.${k >> 8}.${(k % 250) + 2}`, {
      id: `${i}-${k}`.padEnd(64, 'a'),
      ports: k % 4 === 0 ? Array.from({ length: k % 6 }, (_, p) => ({ proto: 'tcp' as const, hostIp: p % 2 ? '127.0.0.1' : '0.0.0.0', hostPort: 1000 * i + k + p, containerPort: 80 + p, ip: `10.${i}.${k >> 8}.${(k % 250) + 2}` })) : [],
    })));
    const owners = sbs.filter((_, k) => k % 5 === 0);
    for (const [k, o] of owners.entries()) sbs.push({ ...sb(`j${k}`, 'x', ''), endpoints: [], id: `j${k}`.padEnd(64, 'b'), mode: 'container', containerOf: o.id });
    sbs.push({ ...sb('h', 'x', ''), endpoints: [], id: 'h'.padEnd(64, 'c'), mode: 'host' }, { ...sb('z', 'x', ''), endpoints: [], id: 'z'.padEnd(64, 'd'), mode: 'none' });
    const L = layout(topology(nets, sbs, { uplink: { ifname: 'eth0', address: '192.0.2.10' } }));
    expect(L.width, `${sizes}`).toBeLessThanOrEqual(MAX_WIDTH);
    expect(new Set(L.boxes.filter((b) => b.kind !== 'bridge' && b.kind !== 'uplink').map((b) => b.name)).size).toBe(sbs.length);
    for (const [i, a] of L.boxes.entries()) {
      expect(a.x + a.w <= L.width && a.y + a.h <= L.height, `${a.name} inside`).toBe(true);
      for (const b of L.boxes.slice(i + 1)) expect(overlap(a, b), `${sizes}: ${a.name} / ${b.name}`).toBe(false);
    }
  }
});

test('a dual-stack network: the bridge\'s IPv6 address and each sandbox\'s, in the topology, DOT, Mermaid and the SVG', () => {
  const dual = net('n6', 'dual', 'br-666666666666', '172.30.0.0/24', { enableIPv6: true, subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1' });
  const v6 = sb('v6', 'n6', '172.30.0.2');
  v6.endpoints[0]!.ip6 = '2001:db8:1::2';
  const t = topology([...networks, dual], [...sandboxes, v6]);
  const b = t.bridges.find((x) => x.name === 'dual')!;
  expect([b.subnet6, b.gateway6, b.sandboxes[0]!.ip6]).toEqual(['2001:db8:1::/64', '2001:db8:1::1', '2001:db8:1::2/64']);
  // IPv4-only networks carry none.
  expect(t.bridges.filter((x) => x.name !== 'dual').map((x) => [x.subnet6, x.sandboxes[0]!.ip6])).toEqual([[undefined, undefined], [undefined, undefined]]);
  expect(toDot(t)).toContain('eth0 172.30.0.2/16\\neth0 2001:db8:1::2/64'); // the fixture's endpoints are /16
  expect(toDot(t)).toContain('172.30.0.1/24\\n2001:db8:1::1/64\\nnetwork dual');
  expect(toMermaid(t)).toContain('eth0 2001:db8:1::2<br/>');
  const l = layout(t);
  const box = (name: string) => l.boxes.find((x) => x.name === name)!;
  expect(box('v6').lines.map((x) => x.text)).toContain('eth0 2001:db8:1::2/64');
  expect(box('br-666666666666').lines.map((x) => x.text)).toContain('gateway 2001:db8:1::1/64');
  expect(box('br-666666666666').title).toContain('IPv6 gateway 2001:db8:1::1, subnet 2001:db8:1::/64');
  expect(l.paths.find((p) => p.kind === 'masquerade' && p.from === 'br-666666666666')!.label).toContain('172.30.0.0/24 and 2001:db8:1::/64');
  // No box over another with the extra lines.
  const boxes = l.boxes;
  for (const a of boxes) for (const c of boxes) {
    if (a === c) continue;
    expect(a.x + a.w <= c.x || c.x + c.w <= a.x || a.y + a.h <= c.y || c.y + c.h <= a.y, `${a.name} / ${c.name}`).toBe(true);
  }
});

test('a macvlan network is drawn on its parent: no bridge, no masquerade, the LAN router, a macvlan per sandbox', () => {
  const lan = net('m1', 'lan', '', '192.0.2.0/24', { driver: 'macvlan', parent: 'ens4', macvlanMode: 'private', gateway: '192.0.2.254' });
  const a = { ...sb('ma', 'm1', '192.0.2.2'), endpoints: [{ ...sb('ma', 'm1', '192.0.2.2').endpoints[0]!, hostVeth: '', prefixlen: 24 }] };
  const t = topology([...networks, lan], [...sandboxes, a]);
  const band = t.bridges.find((b) => b.name === 'lan')!;
  expect(band).toMatchObject({ bridge: 'macvlan:lan', macvlan: { parent: 'ens4', mode: 'private' }, masquerade: false, dns: true });
  expect(band.sandboxes.map((s) => s.name)).toEqual(['ma']);
  const dot = toDot(t);
  expect(dot).toContain('"ens4 (macvlan private)\\nrouter 192.0.2.254');
  expect(dot).toContain('br_macvlan_lan -> sb_ma [dir=none, label="macvlan eth0 on ens4"]');
  expect(dot).not.toContain('br_macvlan_lan -> uplink');
  expect(toMermaid(t)).toContain('br_macvlan_lan ---|macvlan eth0| sb_ma');
  const l = layout(t);
  expect(l.boxes.find((b) => b.name === 'ma')!.lines.map((x) => x.text)).toContain('macvlan on ens4');
  expect(l.paths.filter((p) => p.to === 'ma').map((p) => p.label)).toEqual(["macvlan eth0 in ma, a MAC of its own on ens4's LAN"]);
  expect(l.paths.some((p) => p.kind === 'masquerade' && p.from === 'macvlan:lan')).toBe(false);
  expect(l.legend.map((e) => e.text).join(' ')).toContain('a macvlan:');
});
