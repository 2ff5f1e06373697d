// `nsnet graph`: a picture of the host's nsnet topology - bridges, the veth
// pairs that wire sandboxes to them, addresses, published ports, the
// embedded DNS - as Graphviz DOT, Mermaid, or an SVG drawn here (no external
// service, no dependency). Pure: it renders nsnet's state.
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';

export interface Topology {
  bridges: {
    name: string; // network name
    bridge: string; // Linux bridge
    subnet: string;
    gateway: string;
    dns: boolean; // user-defined: embedded DNS at 127.0.0.11
    flags: string[]; // internal, icc off, no masquerade
    sandboxes: { name: string; ifname: string; ip: string; prefixlen: number; mac: string; hostVeth: string; ports: string[] }[];
  }[];
  /** Sandboxes without an endpoint of their own: host, none, container: modes. */
  others: { name: string; mode: string }[];
}

export function topology(networks: NetworkRecord[], sandboxes: SandboxRecord[]): Topology {
  const bridges = networks.filter((n) => n.driver === 'bridge').map((n) => ({
    name: n.name,
    bridge: n.bridge!,
    subnet: n.subnet!,
    gateway: n.gateway!,
    dns: !n.defaultBridge,
    flags: [n.internal && 'internal', n.icc === false && 'icc off', n.masquerade === false && 'no masquerade'].filter((f): f is string => !!f),
    sandboxes: sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === n.id).map((e) => ({
      name: s.name, ifname: e.ifname, ip: e.ip, prefixlen: e.prefixlen, mac: e.mac, hostVeth: e.hostVeth,
      ports: s.ports.filter((p) => p.ip === e.ip).map((p) => `${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp}:`}${p.hostPort}->${p.containerPort}/${p.proto}`),
    }))).sort((a, b) => (a.ip < b.ip ? -1 : 1)),
  })).filter((b) => b.sandboxes.length || !networks.find((n) => n.name === b.name)?.builtin);
  const owners = new Map(sandboxes.map((s) => [s.id, s.name]));
  const others = sandboxes.filter((s) => !s.endpoints.length).map((s) => ({
    name: s.name,
    mode: s.mode === 'container' ? `container:${owners.get(s.containerOf ?? '') ?? '?'}` : s.mode,
  }));
  return { bridges, others };
}

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toDot(t: Topology): string {
  const out = ['digraph nsnet {', '  rankdir=TB; node [shape=box, fontname="sans-serif"]; edge [dir=none, fontname="sans-serif", fontsize=10];',
    '  subgraph cluster_host { label="host (its own network namespace)";'];
  for (const b of t.bridges) out.push(`    br_${id(b.bridge)} [label="${b.bridge}\\n${b.gateway}/${b.subnet.split('/')[1]}\\nnetwork ${b.name}${b.flags.length ? `\\n(${b.flags.join(', ')})` : ''}", style=filled, fillcolor="#dbe9f6"];`);
  out.push('  }');
  for (const b of t.bridges) {
    for (const s of b.sandboxes) {
      out.push(`  sb_${id(s.name)} [label="${s.name}\\n${s.ifname} ${s.ip}/${s.prefixlen}\\n${s.mac}${b.dns ? '\\nDNS 127.0.0.11' : ''}${s.ports.length ? `\\n-p ${s.ports.join(' ')}` : ''}"];`);
      out.push(`  br_${id(b.bridge)} -> sb_${id(s.name)} [label="${s.hostVeth} = ${s.ifname}"];`);
    }
  }
  for (const o of t.others) out.push(`  sb_${id(o.name)} [label="${o.name}\\n--network ${o.mode}", style=dashed];`);
  out.push('}');
  return out.join('\n') + '\n';
}

export function toMermaid(t: Topology): string {
  const out = ['flowchart TB', '  subgraph host["host"]'];
  for (const b of t.bridges) out.push(`    br_${id(b.bridge)}["${b.bridge}<br/>${b.gateway}<br/>network ${b.name}"]`);
  out.push('  end');
  for (const b of t.bridges) {
    for (const s of b.sandboxes) {
      out.push(`  sb_${id(s.name)}["${s.name}<br/>${s.ifname} ${s.ip}<br/>${s.mac}"]`);
      out.push(`  br_${id(b.bridge)} ---|${s.hostVeth}| sb_${id(s.name)}`);
    }
  }
  for (const o of t.others) out.push(`  sb_${id(o.name)}["${o.name}<br/>--network ${o.mode}"]`);
  return out.join('\n') + '\n';
}

/** An SVG in the seeds' style: the host on top with its bridges, each bridge's sandboxes below it. */
export function toSvg(t: Topology): string {
  const colW = 230, boxW = 200, sbH = 92, gap = 26, top = 40;
  const cols = Math.max(1, t.bridges.length + (t.others.length ? 1 : 0));
  const rows = Math.max(1, ...t.bridges.map((b) => b.sandboxes.length), t.others.length);
  const W = cols * colW + 40;
  const hostH = 110;
  const H = top + hostH + 50 + rows * (sbH + gap) + 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="20" y="24" font-size="15" font-weight="bold">nsnet topology</text>`,
    `<rect x="10" y="${top}" width="${W - 20}" height="${hostH}" rx="8" fill="#f4f4f4" stroke="#999"/>`,
    `<text x="20" y="${top + 18}" fill="#555">host network namespace</text>`,
  ];
  // The wires first, so the boxes drawn after them cover their ends.
  t.bridges.forEach((b, i) => {
    if (!b.sandboxes.length) return;
    const x = 20 + i * colW + boxW / 2;
    const lastY = top + hostH + 50 + (b.sandboxes.length - 1) * (sbH + gap);
    out.push(`<line x1="${x}" y1="${top + 94}" x2="${x}" y2="${lastY}" stroke="#2b6cb0" stroke-width="2"/>`);
  });
  t.bridges.forEach((b, i) => {
    const x = 20 + i * colW;
    const y = top + 30;
    out.push(`<rect x="${x}" y="${y}" width="${boxW}" height="64" rx="6" fill="#dbe9f6" stroke="#2b6cb0"/>`,
      `<text x="${x + 10}" y="${y + 18}" font-weight="bold">${esc(b.bridge)}</text>`,
      `<text x="${x + 10}" y="${y + 34}">${esc(`${b.gateway}  (${b.subnet})`)}</text>`,
      `<text x="${x + 10}" y="${y + 50}" fill="#555">${esc(`network ${b.name}${b.flags.length ? ` - ${b.flags.join(', ')}` : ''}`)}</text>`);
    b.sandboxes.forEach((s, j) => {
      const sy = top + hostH + 50 + j * (sbH + gap);
      out.push(`<text x="${x + boxW / 2 + 6}" y="${sy - 8}" font-size="10" fill="#2b6cb0">${esc(`${s.hostVeth} = ${s.ifname}`)}</text>`,
        `<rect x="${x}" y="${sy}" width="${boxW}" height="${sbH}" rx="6" fill="#fff7e0" stroke="#b7791f"/>`,
        `<text x="${x + 10}" y="${sy + 18}" font-weight="bold">${esc(s.name)}</text>`,
        `<text x="${x + 10}" y="${sy + 34}">${esc(`${s.ifname} ${s.ip}/${s.prefixlen}`)}</text>`,
        `<text x="${x + 10}" y="${sy + 50}" fill="#555">${esc(s.mac)}</text>`,
        ...(b.dns ? [`<text x="${x + 10}" y="${sy + 66}" fill="#2f855a">${esc('resolver 127.0.0.11 (DNAT)')}</text>`] : []),
        ...(s.ports.length ? [`<text x="${x + 10}" y="${sy + 82}" fill="#c53030">${esc(`-p ${s.ports.join(' ')}`)}</text>`] : []));
    });
  });
  if (t.others.length) {
    const x = 20 + t.bridges.length * colW;
    t.others.forEach((o, j) => {
      const sy = top + hostH + 50 + j * (sbH + gap);
      out.push(`<rect x="${x}" y="${sy}" width="${boxW}" height="${sbH / 2}" rx="6" fill="white" stroke="#999" stroke-dasharray="4 3"/>`,
        `<text x="${x + 10}" y="${sy + 18}" font-weight="bold">${esc(o.name)}</text>`,
        `<text x="${x + 10}" y="${sy + 34}" fill="#555">${esc(`--network ${o.mode}`)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
