// `nsnet graph`: a picture of the host's nsnet topology - the uplink, the
// bridges, the veth pairs that wire sandboxes to them, addresses, the NAT
// (masquerade, published ports' DNAT, the DNS DNAT inside each sandbox), and
// the sandboxes without a veth of their own (host, none, container:) - as
// Graphviz DOT, Mermaid, or an SVG laid out here (no external service, no
// dependency). Pure: it draws nsnet's records plus the few facts about the
// host its caller read (the uplink, the DNS server's ports).
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';

/** The host's default-route interface: where masqueraded traffic leaves and published ports arrive. */
export interface Uplink {
  ifname: string;
  address: string;
  prefixlen?: number;
  gateway?: string;
}

/** The ports of the two sockets the embedded DNS server bound at 127.0.0.11 in a sandbox. */
export interface DnsPorts {
  udp: number;
  tcp: number;
}

/** What the records do not say, read from the kernel by the caller. */
export interface HostFacts {
  uplink?: Uplink;
  /** By sandbox id, from the sandbox's `table ip nsnet_dns`. Absent: not read; a sandbox missing: its DNS DNAT is not there. */
  dns?: Record<string, DnsPorts>;
}

/** A published port: host:PORT -> the sandbox's address:PORT, by the host's `table ip nsnet`. */
export interface Dnat {
  proto: 'tcp' | 'udp';
  /** "" for every host address. */
  hostIp: string;
  hostPort: number;
  ip: string;
  port: number;
  sandbox: string;
  /** "DNAT tcp 8080 -> 172.18.0.2:80" */
  label: string;
}

/** The embedded DNS in a sandbox: ports known, not read (unknown), or not attached (detached). */
export type DnsState = DnsPorts | 'unknown' | 'detached';

export interface TopoSandbox {
  name: string;
  ifname: string;
  ip: string;
  prefixlen: number;
  /** On a dual-stack network: its IPv6 address with the subnet's length, "2001:db8:1::2/64". */
  ip6?: string;
  mac: string;
  hostVeth: string;
  /** Short forms, "8080->80/tcp". */
  ports: string[];
  dnat: Dnat[];
  /** Present on user-defined networks only (the default bridge has no embedded DNS). */
  dns?: DnsState;
  /** The container: sandboxes sharing its namespace. */
  joined: string[];
}

export interface Topology {
  uplink?: Uplink;
  /** One per network with sandbox links: a Linux bridge, or a macvlan network's parent (no bridge, no NAT). */
  bridges: {
    name: string; // network name
    /** The box's key: the Linux bridge, or "macvlan:NETWORK" (two macvlan networks may share a parent). */
    bridge: string;
    /** macvlan: the parent the sandboxes' macvlans sit on (-o parent), and its mode; gateway is then the LAN's router. */
    macvlan?: { parent: string; mode: string };
    subnet: string;
    gateway: string;
    /** Dual stack (--ipv6): the IPv6 subnet and the bridge's IPv6 address. */
    subnet6?: string;
    gateway6?: string;
    dns: boolean; // user-defined: embedded DNS at 127.0.0.11
    internal: boolean;
    /** Traffic leaving by the uplink is masqueraded (not internal, masquerade on). */
    masquerade: boolean;
    flags: string[]; // internal, icc off, no masquerade
    sandboxes: TopoSandbox[];
  }[];
  /** --network host: the host's own namespace. */
  host: { name: string; joined: string[] }[];
  /** A namespace of its own with only lo: --network none, or no network connected (mode "bridge"), or an owner gone ("container:?"). */
  none: { name: string; mode: string; joined: string[] }[];
  /** container: sandboxes, by name: the sandbox whose namespace they share (as given: its owner may itself have joined another). */
  joinedTo: Record<string, string>;
  dnats: Dnat[];
}

const dnatLabel = (p: { proto: string; hostIp: string; hostPort: number; ip: string; port: number }) =>
  `DNAT ${p.proto} ${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort} -> ${p.ip}:${p.port}`;

export function topology(networks: NetworkRecord[], sandboxes: SandboxRecord[], facts: HostFacts = {}): Topology {
  const byId = new Map(sandboxes.map((s) => [s.id, s]));
  // container: sandboxes hang under the sandbox that owns the namespace (following a chain of joins).
  const root = (s: SandboxRecord): SandboxRecord | undefined => {
    let cur: SandboxRecord | undefined = s;
    for (let i = 0; cur?.mode === 'container' && i < sandboxes.length; i++) cur = byId.get(cur.containerOf ?? '');
    return cur?.mode === 'container' ? undefined : cur;
  };
  const joinedTo: Record<string, string> = {};
  const joined = new Map<string, string[]>();
  for (const s of sandboxes.filter((x) => x.mode === 'container' && !x.endpoints.length)) {
    joinedTo[s.name] = byId.get(s.containerOf ?? '')?.name ?? '?';
    const r = root(s);
    if (r) joined.set(r.id, [...(joined.get(r.id) ?? []), s.name]);
  }
  const dnats: Dnat[] = [];
  const bridges = networks.filter((n) => n.driver === 'bridge' || n.driver === 'macvlan').map((n) => ({
    name: n.name,
    bridge: n.driver === 'macvlan' ? `macvlan:${n.name}` : n.bridge!,
    ...(n.driver === 'macvlan' && { macvlan: { parent: n.parent ?? '?', mode: n.macvlanMode ?? 'bridge' } }),
    subnet: n.subnet!,
    gateway: n.gateway!,
    ...(n.subnet6 && { subnet6: n.subnet6, gateway6: n.gateway6! }),
    dns: !n.defaultBridge,
    internal: n.internal,
    masquerade: n.driver === 'bridge' && !n.internal && n.masquerade !== false,
    flags: [n.internal && 'internal', n.icc === false && 'icc off', n.masquerade === false && 'no masquerade'].filter((f): f is string => !!f),
    sandboxes: sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === n.id).map((e): TopoSandbox => {
      const mine = s.ports.filter((p) => p.ip === e.ip);
      const dnat = mine.map((p) => {
        const d = { proto: p.proto, hostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, hostPort: p.hostPort, ip: p.ip, port: p.containerPort, sandbox: s.name };
        return { ...d, label: dnatLabel(d) };
      });
      dnats.push(...dnat);
      return {
        name: s.name, ifname: e.ifname, ip: e.ip, prefixlen: e.prefixlen, mac: e.mac, hostVeth: e.hostVeth,
        ...(e.ip6 && n.subnet6 && { ip6: `${e.ip6}/${n.subnet6.split('/')[1]}` }),
        ports: mine.map((p) => `${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp}:`}${p.hostPort}->${p.containerPort}/${p.proto}`),
        dnat,
        ...(!n.defaultBridge && { dns: facts.dns ? (facts.dns[s.id] ?? 'detached') : 'unknown' }),
        joined: joined.get(s.id) ?? [],
      };
    })).sort((a, b) => ipOrder(a.ip) - ipOrder(b.ip)),
  })).filter((b) => b.sandboxes.length || !networks.find((n) => n.name === b.name)?.builtin);
  const host = sandboxes.filter((s) => s.mode === 'host').map((s) => ({ name: s.name, joined: joined.get(s.id) ?? [] }));
  const none = sandboxes.filter((s) => !s.endpoints.length && (s.mode === 'none' || s.mode === 'bridge' || (s.mode === 'container' && !root(s))))
    .map((s) => ({ name: s.name, mode: s.mode === 'container' ? 'container:?' : s.mode, joined: joined.get(s.id) ?? [] }));
  return { ...(facts.uplink && { uplink: facts.uplink }), bridges, host, none, joinedTo, dnats };
}

const ipOrder = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const uplinkText = (u: Uplink | undefined) => (u
  ? [`uplink ${u.ifname}`, `${u.address}${u.prefixlen !== undefined ? `/${u.prefixlen}` : ''}`, ...(u.gateway ? [`default via ${u.gateway}`] : [])]
  : ["the host's addresses", 'no default route']);
const dnsText = (d: DnsState) => (d === 'unknown' ? 'nsnet dns (udp, tcp)' : d === 'detached' ? 'not attached' : `udp :${d.udp}  tcp :${d.tcp}`);
const modeLine = (mode: string) => (mode === 'bridge' ? 'no network connected' : `--network ${mode}`);
/** A dual-stack bridge's IPv6 address, "2001:db8:1::1/64" (none on an IPv4-only one). */
const gateway6 = (b: Topology['bridges'][number]) => (b.gateway6 ? [`${b.gateway6}/${b.subnet6!.split('/')[1]}`] : []);
/** A sandbox's IPv6 address line, beside its IPv4 one. */
const ip6Line = (s: TopoSandbox) => (s.ip6 ? [`${s.ifname} ${s.ip6}`] : []);
type Band = Topology['bridges'][number];
/** A band's first line: the bridge, or the macvlan network's parent and mode. */
const bandTitle = (b: Band) => (b.macvlan ? `${b.macvlan.parent} (macvlan ${b.macvlan.mode})` : b.bridge);
/** Its address line: the bridge's own address, or the LAN's router (not an address of the host). */
const gatewayLine = (b: Band) => (b.macvlan ? `router ${b.gateway}` : `${b.gateway}/${b.subnet.split('/')[1]}`);
/** What links a sandbox to the band: a veth pair, or a macvlan of the parent. */
const linkText = (b: Band, s: TopoSandbox) => (b.macvlan ? `macvlan ${s.ifname} on ${b.macvlan.parent}` : `${s.hostVeth} = ${s.ifname}`);

/** Graphviz: the same things as the SVG - uplink, bridges, veths, masquerade, DNAT, DNS DNAT, host/none/container: sandboxes. */
export function toDot(t: Topology): string {
  const q = (lines: string[]) => `"${lines.join('\\n').replace(/"/g, '\\"')}"`;
  const out = ['digraph nsnet {', '  rankdir=TB; node [shape=box, fontname="sans-serif"]; edge [fontname="sans-serif", fontsize=10];',
    '  subgraph cluster_host { label="host network namespace";',
    `    uplink [label=${q(uplinkText(t.uplink))}];`];
  for (const b of t.bridges) out.push(`    br_${id(b.bridge)} [label=${q([bandTitle(b), gatewayLine(b), ...gateway6(b), `network ${b.name}`, ...(b.flags.length ? [`(${b.flags.join(', ')})`] : [])])}];`);
  for (const h of t.host) out.push(`    sb_${id(h.name)} [label=${q([h.name, '--network host', "the host's own namespace"])}, style=dashed];`);
  out.push('  }');
  const seen = new Set<string>();
  for (const b of t.bridges) {
    if (b.masquerade) out.push(`  br_${id(b.bridge)} -> uplink [label="masquerade"];`);
    for (const s of b.sandboxes) {
      if (!seen.has(s.name)) {
        seen.add(s.name);
        out.push(`  sb_${id(s.name)} [label=${q([s.name, `${s.ifname} ${s.ip}/${s.prefixlen}`, ...ip6Line(s), s.mac,
          ...(s.dns ? [`DNS DNAT 127.0.0.11:53 -> ${dnsText(s.dns)}`] : [])])}];`);
      }
      out.push(`  br_${id(b.bridge)} -> sb_${id(s.name)} [dir=none, label="${linkText(b, s)}"];`);
      for (const d of s.dnat) out.push(`  uplink -> sb_${id(s.name)} [label="${d.label}", style=dashed];`);
    }
  }
  for (const o of t.none) out.push(`  sb_${id(o.name)} [label=${q([o.name, modeLine(o.mode), 'own namespace, only lo'])}, style=dashed];`);
  for (const [name, owner] of Object.entries(t.joinedTo)) {
    out.push(`  sb_${id(name)} [label=${q([name, `--network container:${owner}`])}, style=dashed];`);
    if (owner !== '?') out.push(`  sb_${id(name)} -> sb_${id(owner)} [label="shares its namespace", style=dotted];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** Mermaid: the same things again. */
export function toMermaid(t: Topology): string {
  const q = (lines: string[]) => `"${lines.join('<br/>').replace(/"/g, '#quot;')}"`;
  const out = ['flowchart TB', '  subgraph host["host network namespace"]', `    uplink[${q(uplinkText(t.uplink))}]`];
  for (const b of t.bridges) out.push(`    br_${id(b.bridge)}[${q([bandTitle(b), b.macvlan ? gatewayLine(b) : b.gateway, ...(b.gateway6 ? [b.gateway6] : []), `network ${b.name}`, ...(b.flags.length ? [`(${b.flags.join(', ')})`] : [])])}]`);
  for (const h of t.host) out.push(`    sb_${id(h.name)}[${q([h.name, '--network host'])}]`);
  out.push('  end');
  const seen = new Set<string>();
  for (const b of t.bridges) {
    if (b.masquerade) out.push(`  br_${id(b.bridge)} -->|masquerade| uplink`);
    for (const s of b.sandboxes) {
      if (!seen.has(s.name)) {
        seen.add(s.name);
        out.push(`  sb_${id(s.name)}[${q([s.name, `${s.ifname} ${s.ip}`, ...(s.ip6 ? [`${s.ifname} ${s.ip6.split('/')[0]}`] : []), s.mac, ...(s.dns ? [`DNS DNAT 127.0.0.11:53 -> ${dnsText(s.dns)}`] : [])])}]`);
      }
      out.push(`  br_${id(b.bridge)} ---|${b.macvlan ? `macvlan ${s.ifname}` : s.hostVeth}| sb_${id(s.name)}`);
      for (const d of s.dnat) out.push(`  uplink -.->|"${d.label}"| sb_${id(s.name)}`);
    }
  }
  for (const o of t.none) out.push(`  sb_${id(o.name)}[${q([o.name, modeLine(o.mode), 'only lo'])}]`);
  for (const [name, owner] of Object.entries(t.joinedTo)) {
    out.push(`  sb_${id(name)}[${q([name, `--network container:${owner}`])}]`);
    if (owner !== '?') out.push(`  sb_${id(name)} -.-|shares its namespace| sb_${id(owner)}`);
  }
  return out.join('\n') + '\n';
}

// ---- The SVG: a layout (pure geometry, tested on its own), then drawn. ----

/** The widest the picture may be: a laptop's screen (1366 px) less a scroll bar. */
export const MAX_WIDTH = 1360;

// Text is measured, not rendered: about 0.567 em per character of sans-serif
// (digits are 0.556 em), 0.633 em in bold. Whatever would not fit its box is
// cut with an ellipsis, so no text ever runs over a border (the Chromium test
// checks this against real glyphs).
const charW = (size: number, bold: boolean) => size * (bold ? 0.633 : 0.567);
export const fit = (s: string, px: number, size = 12, bold = false) => {
  const max = Math.floor(px / charW(size, bold));
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

export type LineStyle = 'title' | 'plain' | 'dim' | 'small' | 'veth' | 'dns' | 'dnat' | 'flag';
export interface Line { text: string; style: LineStyle }
export type BoxKind = 'uplink' | 'bridge' | 'sandbox' | 'host' | 'none' | 'joined';
export interface Box { kind: BoxKind; name: string; x: number; y: number; w: number; h: number; lines: Line[]; title: string }
export type PathKind = 'veth' | 'masquerade' | 'dnat' | 'joined' | 'isolation';
/** A polyline; `to` names the box it ends at (a sandbox, a bridge, the uplink). */
export interface Path { kind: PathKind; points: [number, number][]; label: string; from?: string; to?: string; arrow?: boolean }
export interface Layout {
  width: number;
  height: number;
  /** The outline of the host's network namespace. */
  host: [number, number][];
  boxes: Box[];
  paths: Path[];
  texts: { x: number; y: number; text: string; style: 'heading' | 'legend' | 'label' }[];
  /** The legend's lines, each with the kind of path it explains (a sample of it is drawn before it). */
  legend: { x: number; y: number; text: string; kind: PathKind | 'dashed' | 'dns'; more?: boolean }[];
}

const SIZE: Record<LineStyle, number> = { title: 12, plain: 12, dim: 12, small: 11, veth: 11, dns: 11, dnat: 11, flag: 12 };
const LH = 16, PAD = 10, BOX_W = 216, MAX_PORTS = 3;
const SPINE_X = 10, SPINE_W = 220, SPINE_IN = 170; // the host column: content 20..190, then the trunks
const MASQ_X = 214, DNAT_X = 200;
const GRID_X = SPINE_X + SPINE_W + 80; // room for the trunk labels between the host column and the bridges
const JOIN_IN = 18; // a joined box is indented under its owner

const boxH = (lines: Line[]) => 12 + lines.length * LH;
const ln = (text: string, style: LineStyle, w: number): Line => ({ text: fit(text, w - 2 * PAD, SIZE[style], style === 'title'), style });

function sandboxLines(s: TopoSandbox, b: Band): Line[] {
  const w = BOX_W;
  const lines = [ln(s.name, 'title', w), ln(`${s.ifname} ${s.ip}/${s.prefixlen}`, 'plain', w), ...ip6Line(s).map((l) => ln(l, 'plain', w)), ln(s.mac, 'dim', w),
    ln(b.macvlan ? `macvlan on ${b.macvlan.parent}` : `host end ${s.hostVeth}`, 'veth', w)];
  if (s.dns) lines.push(ln('DNS DNAT 127.0.0.11:53 ->', 'dns', w), ln(dnsText(s.dns), 'dns', w));
  else lines.push(ln('no embedded DNS', 'dim', w));
  for (const d of s.dnat.slice(0, s.dnat.length > MAX_PORTS ? MAX_PORTS - 1 : MAX_PORTS)) {
    // Two lines when one does not fit: "DNAT tcp 127.0.0.1:8080" / "-> 172.18.0.2:80".
    if (fit(d.label, w - 2 * PAD, SIZE.dnat) === d.label) lines.push(ln(d.label, 'dnat', w));
    else lines.push(ln(d.label.slice(0, d.label.indexOf(' -> ')), 'dnat', w), ln(`  ${d.label.slice(d.label.indexOf(' -> ') + 1)}`, 'dnat', w));
  }
  if (s.dnat.length > MAX_PORTS) lines.push(ln(`and ${s.dnat.length - MAX_PORTS + 1} more published ports`, 'dnat', w));
  return lines;
}

const joinedLines = (name: string, owner: string, w: number) => [ln(name, 'title', w), ln(`--network container:${owner}`, 'dim', w)];

/**
 * The picture's geometry, at most MAX_WIDTH wide. The host's network
 * namespace is a comb: a column on the left (the uplink, --network host
 * sandboxes, the two NAT trunks) and one band per network holding its bridge.
 * Under each band, the network's sandboxes wrap into rows; each is wired by a
 * veth of its own, a line that leaves the bridge, runs down the channel left
 * of its column and enters the box from the left, so no wire crosses a box.
 * The masquerade trunk runs from each masquerading bridge to the uplink;
 * the DNAT trunk from the uplink to each bridge with published ports, and on
 * along the veth into the sandbox. Sandboxes with a namespace of their own but
 * no veth (none) come last; container: ones hang under their namespace's owner.
 */
export function layout(t: Topology): Layout {
  const boxes: Box[] = [];
  const paths: Path[] = [];
  const texts: Layout['texts'] = [];
  const top = 56;
  const avail = MAX_WIDTH - 20 - GRID_X;

  const joinedBoxes = (owner: string, names: string[], x: number, y: number, w: number) => {
    let yy = y;
    for (const name of names) {
      const lines = joinedLines(name, t.joinedTo[name] ?? owner, w - JOIN_IN);
      const b: Box = { kind: 'joined', name, x: x + JOIN_IN, y: yy + 8, w: w - JOIN_IN, h: boxH(lines), lines, title: `${name}: --network container:${t.joinedTo[name] ?? owner}, shares ${owner}'s network namespace` };
      boxes.push(b);
      paths.push({ kind: 'joined', points: [[x + JOIN_IN / 2, yy], [x + JOIN_IN / 2, b.y + b.h / 2], [b.x, b.y + b.h / 2]], label: `${name} shares ${owner}'s namespace`, from: name, to: owner });
      yy = b.y + b.h;
    }
    return yy;
  };
  const joinedH = (names: string[], w: number) => names.reduce((h, n) => h + 8 + boxH(joinedLines(n, t.joinedTo[n] ?? '', w - JOIN_IN)), 0);

  // The host column: its heading, the uplink, the --network host sandboxes.
  texts.push({ x: 20, y: top + 18, text: fit('host network namespace', SPINE_IN, 12, true), style: 'heading' });
  const upLines = uplinkText(t.uplink).map((s, i) => ln(s, i === 0 ? 'title' : i === 1 ? 'plain' : 'small', SPINE_IN));
  const uplink: Box = { kind: 'uplink', name: t.uplink?.ifname ?? 'host', x: 20, y: top + 28, w: SPINE_IN, h: boxH(upLines), lines: upLines,
    title: t.uplink ? `uplink ${t.uplink.ifname} ${t.uplink.address}${t.uplink.gateway ? `, default via ${t.uplink.gateway}` : ''}` : 'no default route: published ports arrive on the host addresses' };
  boxes.push(uplink);
  let spineY = uplink.y + uplink.h + 16;
  for (const h of t.host) {
    const lines = [ln(h.name, 'title', SPINE_IN), ln('--network host', 'small', SPINE_IN), ln("the host's own namespace", 'small', SPINE_IN)];
    const b: Box = { kind: 'host', name: h.name, x: 20, y: spineY, w: SPINE_IN, h: boxH(lines), lines, title: `${h.name}: --network host, in the host's own network namespace` };
    boxes.push(b);
    spineY = joinedBoxes(h.name, h.joined, b.x, b.y + b.h, b.w) + 12;
  }

  // One lane per network: its band (bridge), then its sandboxes in rows.
  let y = uplink.y + uplink.h + 16;
  const bands: { y: number; h: number }[] = [];
  let right = GRID_X + 300;
  for (const b of t.bridges) {
    const n = b.sandboxes.length;
    const chW = (rows: number) => 12 + 5 * (rows - 1);
    let cols = Math.max(1, Math.min(n, Math.floor(avail / (BOX_W + 12))));
    while (cols > 1 && cols * (BOX_W + chW(Math.ceil(n / cols))) > avail) cols--;
    const rows = Math.ceil(n / cols); // 0 for a network without sandboxes: its band only
    if (rows) cols = Math.ceil(n / rows); // as many rows, the columns evened out
    const ch = chW(Math.max(1, rows));
    const gridW = Math.max(1, cols) * (ch + BOX_W);
    const bw = Math.min(avail, Math.max(300, gridW));
    right = Math.max(right, GRID_X + bw);

    const flags = wrap(b.flags, bw - 2 * PAD).map((f) => ({ text: f, style: 'flag' as const }));
    const bLines = [ln(bandTitle(b), 'title', bw), ln(b.macvlan ? gatewayLine(b) : `gateway ${gatewayLine(b)}`, 'plain', bw),
      ...gateway6(b).map((g) => ln(`gateway ${g}`, 'plain', bw)), ln(`network ${b.name}`, 'dim', bw), ...flags];
    const band = { y, h: 0 };
    const br: Box = { kind: 'bridge', name: b.bridge, x: GRID_X, y: y + 10, w: bw, h: boxH(bLines), lines: bLines,
      title: `${b.macvlan ? `parent ${b.macvlan.parent} (macvlan mode ${b.macvlan.mode}) of network ${b.name}, router` : `bridge ${b.bridge} of network ${b.name}, gateway`} ${b.gateway}, subnet ${b.subnet}${b.subnet6 ? `, IPv6 gateway ${b.gateway6}, subnet ${b.subnet6}` : ''}${b.flags.length ? ` (${b.flags.join(', ')})` : ''}` };
    boxes.push(br);
    band.h = br.y + br.h + 10 - y;
    bands.push(band);
    if (b.masquerade) {
      const my = br.y + 14;
      paths.push({ kind: 'masquerade', points: [[br.x, my], [MASQ_X, my], [MASQ_X, uplink.y + 14], [uplink.x + uplink.w, uplink.y + 14]], arrow: true,
        label: `masquerade: ${b.subnet}${b.subnet6 ? ` and ${b.subnet6}` : ''} leaving by ${t.uplink?.ifname ?? 'the host'} gets its address`, from: b.bridge, to: uplink.name });
      texts.push({ x: SPINE_X + SPINE_W + 6, y: my - 4, text: 'masquerade', style: 'label' });
    }
    const dnats = b.sandboxes.flatMap((s) => s.dnat);
    if (dnats.length) {
      const dy = br.y + 34;
      paths.push({ kind: 'dnat', points: [[uplink.x + uplink.w, uplink.y + uplink.h - 12], [DNAT_X, uplink.y + uplink.h - 12], [DNAT_X, dy], [br.x, dy]], arrow: true,
        label: `DNAT to network ${b.name}: ${dnats.map((d) => d.label.slice(5)).join(', ')}`, from: uplink.name, to: b.bridge });
      texts.push({ x: SPINE_X + SPINE_W + 6, y: dy - 4, text: 'DNAT', style: 'label' });
    }

    // Rows as tall as their tallest box (plus the container: boxes hanging under it).
    const cellLines = b.sandboxes.map((s) => sandboxLines(s, b));
    const rowOf = (i: number) => b.sandboxes.slice(Math.floor(i / cols) * cols, Math.floor(i / cols) * cols + cols).map((_, k) => Math.floor(i / cols) * cols + k);
    const sbH = (i: number) => Math.max(...rowOf(i).map((k) => boxH(cellLines[k]!)));
    const rowY: number[] = [br.y + br.h + 10 + 18];
    for (let r = 0; r < rows; r++) {
      const first = r * cols;
      rowY.push(rowY[r]! + sbH(first) + Math.max(0, ...rowOf(first).map((k) => joinedH(b.sandboxes[k]!.joined, BOX_W))) + 14);
    }
    b.sandboxes.forEach((s, i) => {
      const r = Math.floor(i / cols), c = i % cols;
      const bx = GRID_X + c * (ch + BOX_W) + ch;
      const by = rowY[r]!;
      const box: Box = { kind: 'sandbox', name: s.name, x: bx, y: by, w: BOX_W, h: sbH(i), lines: cellLines[i]!,
        title: `${s.name}: ${s.ifname} ${s.ip}/${s.prefixlen}${s.ip6 ? ` ${s.ip6}` : ''} ${s.mac}, ${b.macvlan ? `macvlan on ${b.macvlan.parent}` : `veth ${s.hostVeth} on ${b.bridge}`}${s.dns ? `, DNS DNAT 127.0.0.11:53 -> ${dnsText(s.dns)}` : ''}${s.dnat.length ? `, ${s.dnat.map((d) => d.label).join(', ')}` : ''}` };
      boxes.push(box);
      // The veth: from its port on the bridge down the channel left of the column, into the box.
      const vx = bx - 6 - 5 * r;
      const wire: [number, number][] = [[vx, br.y + br.h], [vx, by + 14], [bx, by + 14]];
      paths.push({ kind: 'veth', points: wire, from: b.bridge, to: s.name,
        label: b.macvlan ? `macvlan ${s.ifname} in ${s.name}, a MAC of its own on ${b.macvlan.parent}'s LAN` : `veth pair: ${s.hostVeth} on ${b.bridge} = ${s.ifname} in ${s.name}` });
      for (const d of s.dnat) paths.push({ kind: 'dnat', points: wire, label: d.label, from: b.bridge, to: s.name, arrow: true });
      joinedBoxes(s.name, s.joined, bx, by + box.h, BOX_W);
    });
    y = rowY[rows]! + 8;
    // Nothing is routed between two networks: a dashed line between their lanes.
    if (b !== t.bridges[t.bridges.length - 1]) {
      paths.push({ kind: 'isolation', points: [[GRID_X, y], [GRID_X + bw, y]], label: 'isolation: nothing is routed between two networks' });
    }
    y += 14;
  }
  const hostBottom = Math.max(spineY, bands.length ? y - 14 : uplink.y + uplink.h + 16);

  // Namespaces of their own without a veth (none, nothing connected): after the lanes, no wires.
  if (t.none.length) {
    texts.push({ x: GRID_X, y: y + 12, text: 'namespaces of their own, no veth: only lo', style: 'heading' });
    const cols = Math.max(1, Math.min(t.none.length, Math.floor(avail / (BOX_W + 12))));
    right = Math.max(right, GRID_X + cols * (BOX_W + 12));
    const lines = t.none.map((o) => [ln(o.name, 'title', BOX_W), ln(modeLine(o.mode), 'dim', BOX_W), ln('own namespace, only lo', 'dim', BOX_W)]);
    const cellH = boxH(lines[0]!) + Math.max(0, ...t.none.map((o) => joinedH(o.joined, BOX_W)));
    t.none.forEach((o, i) => {
      const bx = GRID_X + (i % cols) * (BOX_W + 12) + 12, by = y + 24 + Math.floor(i / cols) * (cellH + 14);
      boxes.push({ kind: 'none', name: o.name, x: bx, y: by, w: BOX_W, h: boxH(lines[i]!), lines: lines[i]!, title: `${o.name}: ${modeLine(o.mode)}, a namespace of its own with only lo` });
      joinedBoxes(o.name, o.joined, bx, by + boxH(lines[i]!), BOX_W);
    });
    y += 24 + Math.ceil(t.none.length / cols) * (cellH + 14);
  }
  const width = Math.min(MAX_WIDTH, Math.max(640, right + 20));

  // The host namespace's outline, a comb: the column and one band per network.
  const hostPath: [number, number][] = [[SPINE_X, top], [SPINE_X + SPINE_W, top]];
  for (const band of bands) hostPath.push([SPINE_X + SPINE_W, band.y], [width - 10, band.y], [width - 10, band.y + band.h], [SPINE_X + SPINE_W, band.y + band.h]);
  hostPath.push([SPINE_X + SPINE_W, hostBottom], [SPINE_X, hostBottom]);

  // The legend.
  const legendY = Math.max(y, hostBottom) + 24;
  const entries: { kind: PathKind | 'dashed' | 'dns'; text: string }[] = [
    ...(t.bridges.some((b) => !b.macvlan) ? [{ kind: 'veth' as const, text: 'a veth pair: its host end (veth...) is a port of the bridge, its peer (eth0) is inside the sandbox' }] : []),
    ...(t.bridges.some((b) => b.macvlan) ? [{ kind: 'veth' as const, text: "a macvlan: the sandbox's eth0 sits on the parent with a MAC of its own, straight on the LAN (the host cannot reach it through the parent)" }] : []),
    ...(t.bridges.some((b) => b.masquerade) ? [{ kind: 'masquerade' as const, text: `masquerade: what a network sends out by ${t.uplink?.ifname ?? 'the uplink'} leaves with the host's address (nft table ip nsnet)` }] : []),
    ...(t.dnats.length ? [{ kind: 'dnat' as const, text: 'DNAT: a published port, host:PORT -> sandbox:PORT (nft table ip nsnet, maps ports and ports_addr)' }] : []),
    ...(t.bridges.some((b) => b.dns) ? [{ kind: 'dns' as const, text: 'DNS DNAT: in the sandbox, 127.0.0.11:53 -> the sockets nsnet dns bound there (nft table ip nsnet_dns)' }] : []),
    ...(t.bridges.length > 1 ? [{ kind: 'isolation' as const, text: 'isolation: nothing is routed between two networks' }] : []),
    ...(t.host.length || t.none.length || Object.keys(t.joinedTo).length
      ? [{ kind: 'dashed' as const, text: 'a sandbox without a veth of its own: --network host, none, container:' }] : []),
  ];
  // Each entry on as many lines as the width needs, broken between words; the sample is drawn before the first.
  const legend: Layout['legend'] = [];
  let ly = legendY;
  for (const e of entries) {
    const lines: string[] = [];
    for (const w of e.text.split(' ')) {
      const last = lines[lines.length - 1];
      if (last !== undefined && fit(`${last} ${w}`, width - 90, 11) === `${last} ${w}`) lines[lines.length - 1] = `${last} ${w}`;
      else lines.push(fit(w, width - 90, 11));
    }
    lines.forEach((text, k) => {
      legend.push({ x: 20, y: ly, text, kind: e.kind, ...(k > 0 && { more: true }) });
      ly += 18;
    });
  }
  const height = ly;
  return { width, height, host: hostPath, boxes, paths, texts, legend };
}

const COLOURS: Record<LineStyle, string> = { title: '#000', plain: '#000', dim: '#555', small: '#555', veth: '#2b6cb0', dns: '#2f855a', dnat: '#c53030', flag: '#c53030' };
const BOX_STYLE: Record<BoxKind, string> = {
  uplink: 'fill="#e6fffa" stroke="#2c7a7b"',
  bridge: 'fill="#dbe9f6" stroke="#2b6cb0"',
  sandbox: 'fill="#fff7e0" stroke="#b7791f"',
  host: 'fill="white" stroke="#999" stroke-dasharray="4 3"',
  none: 'fill="white" stroke="#999" stroke-dasharray="4 3"',
  joined: 'fill="white" stroke="#999" stroke-dasharray="4 3"',
};
const PATH_STYLE: Record<PathKind, string> = {
  veth: 'stroke="#2b6cb0" stroke-width="2"',
  masquerade: 'stroke="#dd6b20" stroke-width="2" marker-end="url(#arrow-masq)"',
  dnat: 'stroke="#c53030" stroke-width="2" stroke-dasharray="5 4" marker-end="url(#arrow-dnat)"',
  joined: 'stroke="#999" stroke-dasharray="3 3"',
  isolation: 'stroke="#805ad5" stroke-width="1.5" stroke-dasharray="6 4"',
};

/** The SVG of `layout(t)`: every box and path carries a <title>, so a screen reader (and a hover) tells what it is. */
export function toSvg(t: Topology): string {
  const L = layout(t);
  const { width: W, height: H } = L;
  const pts = (p: [number, number][]) => p.map(([x, y]) => `${x},${y}`).join(' ');
  const text = (x: number, y: number, s: string, attrs = '') => `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ''}>${esc(s)}</text>`;
  const nSb = t.bridges.reduce((n, b) => n + b.sandboxes.length, 0) + t.host.length + t.none.length + Object.keys(t.joinedTo).length;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="nsnet-title nsnet-desc">`,
    '<title id="nsnet-title">nsnet topology</title>',
    `<desc id="nsnet-desc">${esc(`${t.bridges.length} networks, ${nSb} sandboxes, ${t.dnats.length} published ports${t.uplink ? `; uplink ${t.uplink.ifname} ${t.uplink.address}` : ''}`)}</desc>`,
    '<defs>',
    '<marker id="arrow-masq" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#dd6b20"/></marker>',
    '<marker id="arrow-dnat" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c53030"/></marker>',
    '</defs>',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(20, 24, 'nsnet topology', 'font-size="15" font-weight="bold"'),
    text(20, 44, t.uplink ? `outside: ${t.uplink.gateway ? `default via ${t.uplink.gateway} ` : ''}on ${t.uplink.ifname}` : 'no default route', 'font-size="11" fill="#555"'),
    `<polygon class="host" points="${pts(L.host)}" fill="#f4f4f4" stroke="#999"><title>the host's network namespace: the uplink, the bridges, the host ends of the veths, nsnet's nftables</title></polygon>`,
  ];
  // Boxes first, then the wires over the band edges, then the joined connectors.
  for (const b of L.boxes) {
    out.push(`<g class="${b.kind}"><title>${esc(b.title)}</title>`,
      `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="6" ${BOX_STYLE[b.kind]}/>`,
      ...b.lines.map((l, k) => text(b.x + PAD, b.y + 18 + k * LH, l.text,
        [l.style === 'title' && 'font-weight="bold"', SIZE[l.style] !== 12 && `font-size="${SIZE[l.style]}"`, COLOURS[l.style] !== '#000' && `fill="${COLOURS[l.style]}"`].filter(Boolean).join(' '))),
      '</g>');
  }
  for (const p of L.paths) {
    const extra = p.kind === 'veth' ? `<rect x="${p.points[0]![0] - 3}" y="${p.points[0]![1] - 3}" width="6" height="6" fill="#2b6cb0"/>` : '';
    out.push(`<g class="${p.kind}"${p.to ? ` data-to="${esc(p.to)}"` : ''}><title>${esc(p.label)}</title><polyline points="${pts(p.points)}" fill="none" ${PATH_STYLE[p.kind]}/>${extra}</g>`);
  }
  for (const x of L.texts) {
    out.push(text(x.x, x.y, x.text, x.style === 'heading' ? 'fill="#555"' : x.style === 'legend' ? 'font-size="11" fill="#333"' : 'font-size="10" fill="#555"'));
  }
  for (const l of L.legend) {
    const y = l.y - 4;
    if (l.more || l.kind === 'dns') {
      // no sample: a continued line, or the DNS DNAT (text in the boxes, no line)
    } else if (l.kind === 'dashed') out.push(`<rect x="${l.x}" y="${y - 6}" width="40" height="12" rx="3" ${BOX_STYLE.none}/>`);
    else out.push(`<polyline points="${l.x},${y} ${l.x + 40},${y}" fill="none" ${PATH_STYLE[l.kind]}/>`);
    out.push(text(l.x + 50, l.y, l.text, `font-size="11" fill="${l.kind === 'dns' ? COLOURS.dns : '#333'}"`));
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
