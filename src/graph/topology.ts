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

// Text is measured, not rendered: about 6.8 px per character of 12 px sans-serif
// (digits are 0.556 em), a little more in bold. Whatever would not fit its box
// is cut with an ellipsis, so no text ever runs over a border.
const fit = (s: string, px: number, bold = false) => {
  const max = Math.floor(px / (bold ? 7.6 : 6.8));
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
};

/** Items joined with ", ", as few lines as fit in `px`. */
const wrap = (items: string[], px: number) => {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines[lines.length - 1];
    if (last !== undefined && fit(`${last}, ${item}`, px) === `${last}, ${item}`) lines[lines.length - 1] = `${last}, ${item}`;
    else lines.push(item);
  }
  return lines.map((l) => fit(l, px));
};

const MAX_PORT_LINES = 3;
const modeText = (mode: string) =>
  mode === 'host' ? "the host's own namespace" : mode === 'none' ? 'own namespace, only lo' : `${mode.slice('container:'.length)}'s namespace, shared`;

/**
 * An SVG in the seeds' style (Docker's docker0 pictures): the host's namespace
 * on top with its bridges; under each bridge, side by side, the sandboxes wired
 * to it, each by a veth pair of its own (the host end a port of the bridge, the
 * peer eth0 inside the sandbox), so every wire goes straight from the bridge to
 * its sandbox and crosses nothing. Sandboxes without a veth (host, none,
 * container:) come last, dashed. Red dashes between two networks: nothing is
 * routed between them. A legend says what the colours mean.
 */
export function toSvg(t: Topology): string {
  const margin = 20, boxW = 196, colGap = 20, colW = boxW + colGap, netGap = 24, lh = 16;
  const pad = 10, inner = boxW - 2 * pad;

  // Columns: each bridge spans its sandboxes (at least one column), the others follow.
  let x = margin;
  const groups = t.bridges.map((b) => {
    const cols = Math.max(1, b.sandboxes.length);
    const g = { b, x, w: cols * colW - colGap };
    x += cols * colW + netGap;
    return g;
  });
  const othersX = x;
  const contentRight = (t.others.length ? othersX + t.others.length * colW - colGap : x - netGap - colGap) + margin;
  const W = Math.max(640, contentRight);

  // Rows.
  const hostY = 40;
  const bridgeY = hostY + 28;
  const flagLines = groups.map((g) => wrap(g.b.flags, g.w - 2 * pad));
  const bridgeLines = 3 + Math.max(0, ...flagLines.map((l) => l.length));
  const bridgeH = 12 + bridgeLines * lh;
  const hostH = bridgeY + bridgeH + 30 - hostY;
  const sy = hostY + hostH + 26;
  const portLines = (n: number) => Math.min(n, MAX_PORT_LINES) + (n > MAX_PORT_LINES ? 1 : 0);
  const sbLines = Math.max(3, ...t.bridges.flatMap((b) => b.sandboxes.map((s) => 4 + portLines(s.ports.length))));
  const sbH = 14 + sbLines * lh;
  const legendY = sy + (t.bridges.some((b) => b.sandboxes.length) || t.others.length ? sbH : 0) + 30;
  const legend = [
    ['veth', 'a veth pair: vethXXXXXXX is a port of the bridge, its peer eth0 is inside the sandbox'],
    ...(groups.length > 1 ? [['isolation', 'isolation: nothing is routed between two networks (nft table ip nsnet)']] : []),
    ['', 'green: DNS at 127.0.0.11, user-defined networks only;  red -p: a published port (DNAT on the host)'],
  ];
  const H = legendY + legend.length * 18 + 4;

  const text = (tx: number, ty: number, s: string, attrs = '') => `<text x="${tx}" y="${ty}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(margin, 24, 'nsnet topology', 'font-size="15" font-weight="bold"'),
    `<rect x="10" y="${hostY}" width="${W - 20}" height="${hostH}" rx="8" fill="#f4f4f4" stroke="#999"/>`,
    text(margin, hostY + 18, "host network namespace (bridges, the host ends of the veths, nsnet's nftables)", 'fill="#555"'),
  ];

  // Between two networks: red dashes, drawn first so that nothing covers the boxes.
  groups.slice(1).forEach((g) => {
    const sx = g.x - (netGap + colGap) / 2;
    out.push(`<line x1="${sx}" y1="${bridgeY - 6}" x2="${sx}" y2="${sy + sbH}" stroke="#c53030" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  });

  for (const [i, { b, x: gx, w }] of groups.entries()) {
    out.push(`<rect x="${gx}" y="${bridgeY}" width="${w}" height="${bridgeH}" rx="6" fill="#dbe9f6" stroke="#2b6cb0"/>`,
      text(gx + pad, bridgeY + 18, fit(b.bridge, w - 2 * pad, true), 'font-weight="bold"'),
      text(gx + pad, bridgeY + 18 + lh, fit(`gateway ${b.gateway}/${b.subnet.split('/')[1]}`, w - 2 * pad)),
      text(gx + pad, bridgeY + 18 + 2 * lh, fit(`network ${b.name}`, w - 2 * pad), 'fill="#555"'),
      ...flagLines[i]!.map((l, k) => text(gx + pad, bridgeY + 18 + (3 + k) * lh, l, 'fill="#c53030"')));
    b.sandboxes.forEach((s, j) => {
      const bx = gx + j * colW;
      const cx = bx + boxW / 2;
      // The veth pair: from its port on the bridge, across the namespace border, to eth0.
      out.push(`<line class="veth" x1="${cx}" y1="${bridgeY + bridgeH}" x2="${cx}" y2="${sy}" stroke="#2b6cb0" stroke-width="2"/>`,
        `<rect x="${cx - 4}" y="${bridgeY + bridgeH - 4}" width="8" height="8" fill="#2b6cb0"/>`,
        text(cx + 6, hostY + hostH - 8, fit(s.hostVeth, boxW / 2 - 8), 'font-size="10" fill="#2b6cb0"'),
        text(cx + 6, sy - 6, s.ifname, 'font-size="10" fill="#2b6cb0"'),
        `<rect x="${bx}" y="${sy}" width="${boxW}" height="${sbH}" rx="6" fill="#fff7e0" stroke="#b7791f"/>`,
        text(bx + pad, sy + 18, fit(s.name, inner, true), 'font-weight="bold"'),
        text(bx + pad, sy + 18 + lh, fit(`${s.ifname} ${s.ip}/${s.prefixlen}`, inner)),
        text(bx + pad, sy + 18 + 2 * lh, s.mac, 'fill="#555"'),
        b.dns ? text(bx + pad, sy + 18 + 3 * lh, 'DNS 127.0.0.11 (embedded)', 'fill="#2f855a"')
          : text(bx + pad, sy + 18 + 3 * lh, 'no embedded DNS', 'fill="#777"'));
      const shown = s.ports.length > MAX_PORT_LINES ? s.ports.slice(0, MAX_PORT_LINES) : s.ports;
      shown.forEach((p, k) => out.push(text(bx + pad, sy + 18 + (4 + k) * lh, fit(`-p ${p}`, inner), 'fill="#c53030"')));
      if (shown.length < s.ports.length) {
        out.push(text(bx + pad, sy + 18 + (4 + MAX_PORT_LINES) * lh, `and ${s.ports.length - shown.length} more ports`, 'fill="#c53030"'));
      }
    });
  }

  t.others.forEach((o, j) => {
    const bx = othersX + j * colW;
    out.push(`<rect x="${bx}" y="${sy}" width="${boxW}" height="${sbH}" rx="6" fill="white" stroke="#999" stroke-dasharray="4 3"/>`,
      text(bx + pad, sy + 18, fit(o.name, inner, true), 'font-weight="bold"'),
      text(bx + pad, sy + 18 + lh, fit(`--network ${o.mode}`, inner), 'fill="#555"'),
      text(bx + pad, sy + 18 + 2 * lh, fit(modeText(o.mode), inner), 'fill="#555"'));
  });

  // The legend: what the lines and colours mean.
  legend.forEach(([mark, what], k) => {
    const ly = legendY + k * 18;
    if (mark === 'veth') out.push(`<line x1="${margin}" y1="${ly - 4}" x2="${margin + 24}" y2="${ly - 4}" stroke="#2b6cb0" stroke-width="2"/>`);
    if (mark === 'isolation') out.push(`<line x1="${margin}" y1="${ly - 4}" x2="${margin + 24}" y2="${ly - 4}" stroke="#c53030" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    out.push(text(margin + (mark ? 32 : 0), ly, what!, 'font-size="11" fill="#333"'));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
