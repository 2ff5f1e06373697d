// Per query: what the embedded server does with a name a sandbox asks for,
// from the index names.ts keeps (the choices, and Docker's, are described
// there). Allocates nothing unless it answers.
//
// Pure.
import { ipFromPtr } from './address.js';
import { TYPE } from './message.js';
import type { NameIndex, NetNames, View } from './names.js';

export type LookupResult =
  | { kind: 'answer'; ips: string[] }
  | { kind: 'nodata' }
  | { kind: 'ptr'; name: string }
  | { kind: 'forward' }
  /** Never produced by `lookup` (Docker never invents NXDOMAIN); for servers that must refuse names. */
  | { kind: 'nxdomain' };

// Shared results: lookups allocate nothing unless they answer.
const FORWARD: LookupResult = Object.freeze({ kind: 'forward' });
const NODATA: LookupResult = Object.freeze({ kind: 'nodata' });

/** `name` in one network: a --link alias of the requester first, then the network's records. */
function inNet(view: View, net: NetNames, name: string, six: boolean): string[] | undefined {
  const map = six ? net.byName6 : net.byName;
  if (view.links?.net === net) {
    const target = view.links.aliases.get(name);
    const ips = target === undefined ? undefined : map?.get(target);
    if (ips) return ips;
  }
  return map?.get(name);
}

/** Docker's `ResolveName` order: the full name in every joined network, then `a.b`+`c`, `a`+`b.c`. */
function resolve(view: View, name: string, six = false): string[] | undefined {
  for (const net of view.nets) {
    const ips = inNet(view, net, name, six);
    if (ips) return ips;
  }
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) {
    const net = view.netsByName.get(name.slice(i + 1));
    if (!net) continue;
    const ips = inNet(view, net, name.slice(0, i), six);
    if (ips) return ips;
  }
  return undefined;
}

/**
 * What the embedded server should do with a query from sandbox `requesterSandboxId`. `qname` may
 * be in any case, with or without the trailing dot. The `ips` of an answer are A (AAAA) records, shared
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
  if (qtype === TYPE.AAAA) {
    // Names of dual-stack endpoints; a name known only with IPv4 (IPv4-only networks) has no data.
    const ips6 = resolve(view, name, true);
    if (ips6?.length) return { kind: 'answer', ips: ips6 };
    return resolve(view, name) ? NODATA : FORWARD;
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
