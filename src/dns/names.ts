// What a sandbox may resolve through the embedded DNS server: the pure model behind 127.0.0.11.
//
// Docker registers, per endpoint on a user-defined network, the container's name, its network
// aliases, its short ID and its hostname (moby `daemon/container_operations.go`
// `buildEndpointDNSNames`), lower-cased, in that network's records (moby/libnetwork `network.go`
// `addNameToIP`; only the first name goes into the reverse map, for PTR). A container resolves a
// name only in the networks it is attached to (libnetwork `sandbox.go` `ResolveName`), so
// isolation between networks holds for names too. aardvark-dns has the same model as a pure
// function of the requester (`DNSBackend::lookup(requester, ...)`, `src/backend/mod.rs`); this
// file copies that shape: `buildIndex` once per state change, `lookup` per query.
// See it inside a sandbox: `dig @127.0.0.11 db A`, `dig @127.0.0.11 db.mynet A`,
// `dig @127.0.0.11 -x 172.18.0.3` (→ `db.mynet.`).
//
// Choices, where Docker's behaviour has options or nsnet has no exact counterpart:
// - A name on several joined networks answers from the first network in the requester's endpoint
//   order that knows it, as `ResolveName` does; all addresses registered under it there are
//   returned (several sandboxes sharing an alias → all of them; the server rotates them).
// - `a.b.c` is tried as a name in every joined network, then `a.b` in network `c`, then `a` in
//   network `b.c` (`ResolveName`), so `db.mynet` works, for joined networks only, and network
//   names may contain dots. Network names match case-insensitively, as DNS names do.
// - A name that is known but has no data for the type (AAAA: nsnet is IPv4-only; MX, TXT, ...) is
//   NODATA (NOERROR, no answers) rather than forwarded: an upstream can only answer NXDOMAIN for
//   it, and a client that gets NXDOMAIN for AAAA may give up on the A it already has. ANY gets
//   the A records.
// - An unknown single-label name is forwarded, as Docker does when nothing set `ndots` (nsnet's
//   resolv.conf has `ndots:0`); the upstream's NXDOMAIN is what the client sees ("bad address").
//   The embedded server never makes up an NXDOMAIN of its own (docker-behaviour.md §12.6).
// - `--link` on a user-defined network is an alias only its owner sees, checked before names.
// - container: sandboxes resolve with their owner's networks and links, and their own name points
//   at the owner's addresses (they answer on the same interfaces).
// - Sandboxes being created are included (their names must resolve the moment create returns);
//   sandboxes being removed are not (their addresses are about to be freed and reused).
//   Stopped sandboxes keep their namespace and address in nsnet, so they stay resolvable.
//
// Pure.
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { ipFromPtr, TYPE } from './message.js';

export type LookupResult =
  | { kind: 'answer'; ips: string[] }
  | { kind: 'nodata' }
  | { kind: 'ptr'; name: string }
  | { kind: 'forward' }
  /** Never produced by `lookup` (Docker never invents NXDOMAIN); for servers that must refuse names. */
  | { kind: 'nxdomain' };

/** One user-defined network's records. */
interface NetNames {
  name: string;
  /** Lower-cased name → its IPv4 addresses, de-duplicated, in registration order; frozen. */
  byName: Map<string, string[]>;
  /** IPv4 → the first name registered for it (the container's name, original case), for PTR. */
  byIp: Map<string, string>;
}

/** What one sandbox sees: its networks in endpoint order, by name, and its --link aliases. */
interface View {
  nets: NetNames[];
  netsByName: Map<string, NetNames>;
  /** The network the links apply to (the one given at create), alias → target name, lower-cased. */
  links?: { net: NetNames; aliases: Map<string, string> };
}

export interface NameIndex {
  /** Sandbox ID → what it sees. */
  readonly views: ReadonlyMap<string, View>;
}

/** The sandbox whose namespace `sb` uses: itself, or the end of its container: chain. */
function ownerOf(byId: Map<string, SandboxRecord>, sb: SandboxRecord): SandboxRecord | undefined {
  let cur = sb;
  // The chain is one step in practice (create resolves it); the bound guards a corrupt state.
  for (let i = 0; cur.containerOf !== undefined; i++) {
    const next = byId.get(cur.containerOf);
    if (!next || i >= 10) return undefined;
    cur = next;
  }
  return cur;
}

function add(net: NetNames, name: string, ip: string): void {
  const key = name.toLowerCase();
  if (key === '') return;
  const ips = net.byName.get(key);
  if (!ips) net.byName.set(key, [ip]);
  else if (!ips.includes(ip)) ips.push(ip);
}

/** Precomputes every sandbox's view; rebuild it whenever networks or sandboxes change. */
export function buildIndex(networks: NetworkRecord[], sandboxes: SandboxRecord[]): NameIndex {
  // Only user-defined bridges have an embedded DNS (docker-behaviour.md §12.1): not the default
  // bridge, host or none.
  const nets = new Map<string, NetNames>();
  for (const n of networks) {
    if (n.driver === 'bridge' && !n.defaultBridge) nets.set(n.id, { name: n.name, byName: new Map(), byIp: new Map() });
  }
  const byId = new Map(sandboxes.map((sb) => [sb.id, sb]));
  const live = (sb: SandboxRecord) => sb.status !== 'removing';

  for (const sb of sandboxes) {
    if (!live(sb)) continue;
    const name = sb.name.replace(/^\//, '');
    if (sb.containerOf !== undefined) {
      const owner = ownerOf(byId, sb);
      if (!owner || !live(owner)) continue;
      for (const e of owner.endpoints) {
        const net = nets.get(e.networkId);
        if (net && e.ip) add(net, name, e.ip);
      }
      continue;
    }
    for (const e of sb.endpoints) {
      const net = nets.get(e.networkId);
      if (!net || !e.ip) continue;
      // buildEndpointDNSNames order: name, aliases, short ID, hostname. The first is the PTR answer.
      for (const n of [name, ...e.aliases, sb.id.slice(0, 12), sb.hostname]) add(net, n, e.ip);
      if (!net.byIp.has(e.ip)) net.byIp.set(e.ip, name);
    }
  }
  for (const net of nets.values()) for (const ips of net.byName.values()) Object.freeze(ips);

  const views = new Map<string, View>();
  for (const sb of sandboxes) {
    const owner = ownerOf(byId, sb);
    if (!owner) continue;
    const view: View = { nets: [], netsByName: new Map() };
    for (const e of owner.endpoints) {
      const net = nets.get(e.networkId);
      if (!net || view.nets.includes(net)) continue;
      view.nets.push(net);
      const key = net.name.toLowerCase();
      if (!view.netsByName.has(key)) view.netsByName.set(key, net);
    }
    if (view.nets.length === 0) continue; // no embedded DNS for this sandbox
    const linkNet = view.netsByName.get(owner.networkMode.toLowerCase());
    if (linkNet && owner.links.length > 0) {
      const aliases = new Map<string, string>();
      for (const l of owner.links) aliases.set(l.alias.toLowerCase(), l.name.replace(/^\//, '').toLowerCase());
      view.links = { net: linkNet, aliases };
    }
    views.set(sb.id, view);
  }
  return { views };
}

// Shared results: lookups allocate nothing unless they answer.
const FORWARD: LookupResult = Object.freeze({ kind: 'forward' });
const NODATA: LookupResult = Object.freeze({ kind: 'nodata' });

/** `name` in one network: a --link alias of the requester first, then the network's records. */
function inNet(view: View, net: NetNames, name: string): string[] | undefined {
  if (view.links?.net === net) {
    const target = view.links.aliases.get(name);
    const ips = target === undefined ? undefined : net.byName.get(target);
    if (ips) return ips;
  }
  return net.byName.get(name);
}

/** Docker's `ResolveName` order: the full name in every joined network, then `a.b`+`c`, `a`+`b.c`. */
function resolve(view: View, name: string): string[] | undefined {
  for (const net of view.nets) {
    const ips = inNet(view, net, name);
    if (ips) return ips;
  }
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) {
    const net = view.netsByName.get(name.slice(i + 1));
    if (!net) continue;
    const ips = inNet(view, net, name.slice(0, i));
    if (ips) return ips;
  }
  return undefined;
}

/**
 * What the embedded server should do with a query from sandbox `requesterSandboxId`. `qname` may
 * be in any case, with or without the trailing dot. The `ips` of an answer are A records, shared
 * with the index: don't modify them (rotate() copies).
 */
export function lookup(index: NameIndex, requesterSandboxId: string, qname: string, qtype: number): LookupResult {
  const view = index.views.get(requesterSandboxId);
  if (!view) return FORWARD;
  let name = qname.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return FORWARD;

  if (qtype === TYPE.PTR) {
    const ip = ipFromPtr(name);
    if (ip !== undefined) {
      // Docker `ResolveIP`: the first joined network that knows the address; `<name>.<network>`.
      for (const net of view.nets) {
        const n = net.byIp.get(ip);
        if (n !== undefined) return { kind: 'ptr', name: `${n}.${net.name}` };
      }
      return FORWARD;
    }
  }
  const ips = resolve(view, name);
  if (!ips) return FORWARD;
  if ((qtype === TYPE.A || qtype === TYPE.ANY) && ips.length > 0) return { kind: 'answer', ips };
  return NODATA;
}

/**
 * Round robin: `ips` rotated left by `counter` (mod its length). Docker shuffles on every query;
 * a per-name counter spreads load the same way and is deterministic. Returns a new array.
 */
export function rotate(ips: readonly string[], counter: number): string[] {
  const n = ips.length;
  if (n <= 1) return ips.slice();
  const k = ((Math.trunc(counter) % n) + n) % n;
  return k === 0 ? ips.slice() : [...ips.slice(k), ...ips.slice(0, k)];
}
