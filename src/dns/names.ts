// What a sandbox may resolve through the embedded DNS server: the pure model behind 127.0.0.11.
//
// Docker registers, per endpoint on a user-defined network, the container's name, its network
// aliases, its short ID and its hostname (moby `daemon/container_operations.go`
// `buildEndpointDNSNames`), lower-cased, in that network's records (moby/libnetwork `network.go`
// `addNameToIP`; only the first name goes into the reverse map, for PTR). A container resolves a
// name only in the networks it is attached to (libnetwork `sandbox.go` `ResolveName`), so
// isolation between networks holds for names too. aardvark-dns has the same model as a pure
// function of the requester (`DNSBackend::lookup(requester, ...)`, `src/backend/mod.rs`); this
// file copies that shape: `buildIndex` once per state change, `lookup` per query (lookup.ts).
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
// - The host, on a network with com.nsnet.network.host_dns (host-listen.ts), asks with the view
//   `host:<network id>`: that one network, as its sandboxes see it (no links).
//
// Pure.
import { servesEmbeddedDns } from '../docker/embedded-dns.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';

/** One user-defined network's records. */
export interface NetNames {
  name: string;
  /** Lower-cased name → its IPv4 addresses, de-duplicated, in registration order; frozen. */
  byName: Map<string, string[]>;
  /** IPv4 or IPv6 → the first name registered for it (the container's name, original case), for PTR. */
  byIp: Map<string, string>;
  /** Lower-cased name → its IPv6 addresses (dual-stack networks, AAAA), as byName. */
  byName6?: Map<string, string[]>;
}

/** How an IPv6 address's name is keyed in NetState.counts, beside the IPv4 ones (no name has a '/'). */
const V6 = '6/';

/** What one sandbox sees: its networks in endpoint order, by name, and its --link aliases. */
export interface View {
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

/** Precomputes every sandbox's view; rebuild it whenever networks or sandboxes change. */
export function buildIndex(networks: NetworkRecord[], sandboxes: SandboxRecord[]): NameIndex {
  const x = new NameIndexer();
  x.update(networks, new Map(sandboxes.map((sb) => [sb.id, sb])));
  return x.index;
}

/** One user-defined network's records, with how many sandboxes registered each (name, address). */
interface NetState {
  names: NetNames;
  /** Lower-cased name -> address -> registrations (insertion order is the answer's order). */
  counts: Map<string, Map<string, number>>;
  /** Address -> names registered first for it, in order (byIp holds the first one). */
  ptr: Map<string, string[]>;
}

/** What one sandbox put into the index: (network, name, address) triples and its PTR names. */
interface Contribution {
  names: { net: NetState; key: string; ip: string }[];
  ptr: { net: NetState; ip: string; name: string }[];
}

/**
 * The index, kept up to date change by change: `update` with the sandboxes
 * that changed touches only their records (and those of sandboxes joined to
 * them with container:), so a sync costs the same with 10 sandboxes as with
 * 1000. Same answers as building it anew (checked in test/unit/dns-names).
 */
export class NameIndexer {
  private nets = new Map<string, NetState>();
  private netsKey = '';
  private contrib = new Map<string, Contribution>();
  private views = new Map<string, View>();
  private known = new Map<string, SandboxRecord>();
  readonly index: NameIndex = { views: this.views };
  /** Bumped by every update: what was answered from an older index may be stale (reply-cache.ts). */
  generation = 0;

  /**
   * `known`: every sandbox (by id, as the server holds them). `changed`: the ids
   * whose records changed or went away; absent, or the networks changed: all of them.
   */
  update(networks: NetworkRecord[], known: Map<string, SandboxRecord>, changed?: Iterable<string>): void {
    this.known = known;
    this.generation++;
    // Only user-defined networks (bridge, macvlan) have an embedded DNS (docker-behaviour.md §12.1): not the default
    // bridge, host or none.
    const user = networks.filter(servesEmbeddedDns);
    const key = JSON.stringify(user.map((n) => [n.id, n.name, !!n.hostDns]));
    let ids: Set<string>;
    if (changed === undefined || key !== this.netsKey) {
      this.netsKey = key;
      this.nets = new Map(user.map((n) => [n.id, { names: { name: n.name, byName: new Map(), byIp: new Map(), byName6: new Map() }, counts: new Map(), ptr: new Map() }]));
      this.contrib.clear();
      this.views.clear();
      // The host's view of a host_dns network (on its gateway): that network's names, as its sandboxes see them.
      for (const n of user) {
        const net = this.nets.get(n.id)!.names;
        if (hostDnsNetwork(n)) this.views.set(hostViewId(n.id), { nets: [net], netsByName: new Map([[n.name.toLowerCase(), net]]) });
      }
      ids = new Set(known.keys());
    } else {
      ids = new Set(changed);
      // Sandboxes joined (container:) to a changed one answer with its addresses: theirs change too.
      for (let grew = true, i = 0; grew && i < 10; i++) {
        grew = false;
        for (const sb of known.values()) {
          if (sb.containerOf !== undefined && ids.has(sb.containerOf) && !ids.has(sb.id)) {
            ids.add(sb.id);
            grew = true;
          }
        }
      }
    }
    const touched = new Set<NetState>();
    const keys = new Map<NetState, Set<string>>();
    const mark = (net: NetState, k: string) => {
      touched.add(net);
      (keys.get(net) ?? keys.set(net, new Set()).get(net)!).add(k);
    };
    for (const id of ids) this.withdraw(id, mark);
    for (const id of ids) this.register(id, mark);
    // Answers are frozen arrays handed out by lookup: replace the changed ones, never modify them.
    for (const net of touched) {
      for (const k of keys.get(net) ?? []) {
        const ips = net.counts.get(k);
        const [map, name] = k.startsWith(V6) ? [net.names.byName6!, k.slice(V6.length)] : [net.names.byName, k];
        if (ips?.size) map.set(name, Object.freeze([...ips.keys()]) as string[]);
        else map.delete(name);
      }
    }
    for (const id of ids) this.view(id);
  }

  private withdraw(id: string, mark: (net: NetState, k: string) => void): void {
    const c = this.contrib.get(id);
    if (!c) return;
    this.contrib.delete(id);
    for (const { net, key, ip } of c.names) {
      const ips = net.counts.get(key);
      const n = ips?.get(ip) ?? 0;
      if (n <= 1) ips?.delete(ip);
      else ips!.set(ip, n - 1);
      if (ips?.size === 0) net.counts.delete(key);
      mark(net, key);
    }
    for (const { net, ip, name } of c.ptr) {
      const list = net.ptr.get(ip) ?? [];
      list.splice(list.indexOf(name), 1);
      if (list.length) net.names.byIp.set(ip, list[0]!);
      else {
        net.ptr.delete(ip);
        net.names.byIp.delete(ip);
      }
    }
  }

  private register(id: string, mark: (net: NetState, k: string) => void): void {
    const sb = this.known.get(id);
    if (!sb || !live(sb)) return;
    const c: Contribution = { names: [], ptr: [] };
    const add = (net: NetState, name: string, ip: string) => {
      if (name === '') return;
      const key = ip.includes(':') ? V6 + name.toLowerCase() : name.toLowerCase();
      const ips = net.counts.get(key) ?? net.counts.set(key, new Map()).get(key)!;
      ips.set(ip, (ips.get(ip) ?? 0) + 1);
      c.names.push({ net, key, ip });
      mark(net, key);
    };
    const name = sb.name.replace(/^\//, '');
    if (sb.containerOf !== undefined) {
      const owner = ownerOf(this.known, sb);
      if (owner && live(owner)) {
        for (const e of owner.endpoints) {
          const net = this.nets.get(e.networkId);
          if (net && e.ip) add(net, name, e.ip);
          if (net && e.ip6) add(net, name, e.ip6);
        }
      }
    } else {
      for (const e of sb.endpoints) {
        const net = this.nets.get(e.networkId);
        if (!net || !e.ip) continue;
        // buildEndpointDNSNames order: name, aliases, short ID, hostname. The first is the PTR answer.
        // A dual-stack endpoint's names answer AAAA with its IPv6 address, and that address's PTR too.
        for (const ip of e.ip6 ? [e.ip, e.ip6] : [e.ip]) {
          for (const n of [name, ...e.aliases, sb.id.slice(0, 12), sb.hostname]) add(net, n, ip);
          const list = net.ptr.get(ip) ?? net.ptr.set(ip, []).get(ip)!;
          list.push(name);
          net.names.byIp.set(ip, list[0]!);
          c.ptr.push({ net, ip, name });
        }
      }
    }
    this.contrib.set(id, c);
  }

  private view(id: string): void {
    this.views.delete(id);
    const sb = this.known.get(id);
    const owner = sb && ownerOf(this.known, sb);
    if (!owner) return;
    const view: View = { nets: [], netsByName: new Map() };
    for (const e of owner.endpoints) {
      const net = this.nets.get(e.networkId)?.names;
      if (!net || view.nets.includes(net)) continue;
      view.nets.push(net);
      const key = net.name.toLowerCase();
      if (!view.netsByName.has(key)) view.netsByName.set(key, net);
    }
    if (view.nets.length === 0) return; // no embedded DNS for this sandbox
    const linkNet = view.netsByName.get(owner.networkMode.toLowerCase());
    if (linkNet && owner.links.length > 0) {
      const aliases = new Map<string, string>();
      for (const l of owner.links) aliases.set(l.alias.toLowerCase(), l.name.replace(/^\//, '').toLowerCase());
      view.links = { net: linkNet, aliases };
    }
    this.views.set(id, view);
  }
}

const live = (sb: SandboxRecord) => sb.status !== 'removing';

/** The view the host asks with, on a host_dns network's gateway (lookup's requester id); no sandbox id has a colon. */
export const hostViewId = (networkId: string) => `host:${networkId}`;

/** A network whose names the host may ask for on its gateway: a user-defined bridge with com.nsnet.network.host_dns=true. */
export const hostDnsNetwork = (n: NetworkRecord): boolean =>
  n.driver === 'bridge' && !n.builtin && !n.defaultBridge && n.hostDns === true && !!n.gateway;
