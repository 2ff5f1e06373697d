// Repairs a locked section makes on its way, each said out loud (ctx.warn):
// an address bitmap or port claim file that is missing or damaged is rebuilt
// from the sandbox records (the truth), so no address or port is handed out
// twice; a damaged record's addresses come from what its text still says and
// from the kernel (the addresses in its namespace). And the networks, when
// networks.json is damaged, as far as they can still be read.
//
// The other repairs: stale-creates.ts (a create whose process died is
// undone), remove-damaged.ts (a damaged record removed by name, rm -f).
// These are the rare paths: they may read every record. The normal path
// reads one directory (creating/, empty) and nothing else.
import { existsSync } from 'node:fs';
import { addrList } from '../kernel/addr.js';
import { NETNS_RUN_DIR, netnsOpen } from '../kernel/netns.js';
import { ipv4ToInt } from '../net/ip.js';
import { offset6 } from '../net/ip6.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import type { PortClaim } from '../state/port-claims.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import type { Context } from './context.js';
import { salvageRecord } from './salvage.js';
import type { NetworkRecord, State } from './types.js';

const warned = new WeakSet<State>();

/** Says once per section that networks.json is damaged and how to recover (for commands that did without it). */
export function warnDamagedNetworks(ctx: Context, s: State): void {
  if (!s.networksDamaged || warned.has(s)) return;
  warned.add(s);
  ctx.warn(`nsnet: warning: ${s.networksDamaged.path}: ${s.networksDamaged.problem}; run "nsnet system reconcile" to rebuild it from the kernel and the sandbox records (until then, commands that need the networks stop)`);
}

/**
 * The networks, or, when networks.json is damaged, those that can still be
 * read of it (with a warning naming the file, once per section). For what
 * needs networks only to tidy up (rm -f, ps, network rm).
 */
export function readableNetworks(ctx: Context, s: State): NetworkRecord[] {
  try {
    return s.networks;
  } catch (e) {
    if (!s.networksDamaged) throw e;
    if (!warned.has(s)) {
      warned.add(s);
      ctx.warn(`nsnet: warning: ${s.networksDamaged.path}: ${s.networksDamaged.problem}; going on with the ${s.salvaged.length} network(s) that can still be read (run "nsnet system reconcile" to rebuild it from the kernel and the sandbox records)`);
    }
    return s.salvaged;
  }
}

/** The addresses in a named namespace (none if it is gone): IPv4 as numbers, IPv6 (global) as text. */
export async function namespaceAddresses(name: string): Promise<{ v4: number[]; v6: string[] }> {
  if (!existsSync(`${NETNS_RUN_DIR}/${name}`)) return { v4: [], v6: [] };
  try {
    const ns = await netnsOpen({ name });
    try {
      const all = await addrList(ns);
      return {
        v4: all.filter((a) => a.family === 4 && !a.address.startsWith('127.')).map((a) => ipv4ToInt(a.address)),
        v6: all.filter((a) => a.family === 6 && a.scope === 'global').map((a) => a.address),
      };
    } finally {
      await ns.close();
    }
  } catch {
    return { v4: [], v6: [] };
  }
}

/** What a damaged record still holds: its id, endpoints and the addresses its namespace has (both families). */
export async function damagedHoldings(d: DamagedRecord) {
  const sal = d.text ? salvageRecord(d.text) : { endpoints: [] };
  const kernel = await namespaceAddresses(d.name);
  const recorded = sal.endpoints.filter((e) => e.ip).map((e) => ipv4ToInt(e.ip!));
  const recorded6 = sal.endpoints.flatMap((e) => (e.ip6 ? [e.ip6] : []));
  return {
    sal, id: d.id ?? sal.id as string | undefined,
    addresses: [...new Set([...recorded, ...kernel.v4])],
    addresses6: [...new Set([...recorded6, ...kernel.v6])],
    networkIds: new Set(sal.endpoints.map((e) => e.networkId)),
  };
}

/** Does a damaged record hold an address of this network (by its text, or its namespace's addresses)? */
export async function damagedOn(d: DamagedRecord, net: { id: string; base: number; size: number }): Promise<boolean> {
  const h = await damagedHoldings(d);
  return h.networkIds.has(net.id) || h.addresses.some((n) => n >= net.base && n < net.base + net.size);
}

/**
 * The addresses in use on a network, from every record: endpoints of the
 * readable ones (dynamic and static alike; the gateway, network and
 * broadcast addresses are the allocator's own), and for damaged ones, what
 * their text still says plus the addresses their namespace has in the subnet.
 */
export async function addressesInUse(s: State, networkId: string, base: number, size: number): Promise<number[]> {
  const { records, damaged } = await s.sandboxes.scan();
  const used = new Set<number>();
  // Removals still deleting their veth hold their addresses too (removals.ts).
  const pending = (await s.removing.all()).removals.map((r) => r.record);
  for (const r of [...records, ...pending]) for (const e of r.endpoints) if (e.networkId === networkId) used.add(ipv4ToInt(e.ip));
  for (const d of damaged) {
    const h = await damagedHoldings(d);
    for (const e of h.sal.endpoints) if (e.networkId === networkId && e.ip) used.add(ipv4ToInt(e.ip));
    for (const n of h.addresses) if (n >= base && n < base + size) used.add(n);
  }
  return [...used];
}

/**
 * The offsets (net/ip6.ts offset6) of a dual-stack network's IPv6 addresses
 * in use: what its IPv6 bitmap should mark. As addressesInUse: the readable
 * records, the removals still pending, and for damaged records what their
 * text still says plus the addresses their namespace has in the subnet.
 */
export async function addresses6InUse(s: State, networkId: string): Promise<number[]> {
  const net = (s.networksDamaged ? s.salvaged : s.networks).find((n) => n.id === networkId);
  if (!net?.subnet6) return [];
  const { records, damaged } = await s.sandboxes.scan();
  const pending = (await s.removing.all()).removals.map((r) => r.record);
  const ips = [...records, ...pending].flatMap((r) => r.endpoints.filter((e) => e.networkId === networkId && e.ip6).map((e) => e.ip6!));
  for (const d of damaged) ips.push(...(await damagedHoldings(d)).addresses6);
  const offsets = new Set<number>();
  for (const ip of ips) {
    let off: number | undefined;
    try {
      off = offset6(net.subnet6, ip);
    } catch {
      continue; // a damaged text's "address" that is not one
    }
    if (off !== undefined) offsets.add(off);
  }
  return [...offsets];
}

/** The claims on one host port, from the records' published ports. */
export async function claimsFromRecords(s: State, proto: 'tcp' | 'udp', port: number): Promise<PortClaim[]> {
  const out: PortClaim[] = [];
  // Removals still unpublishing their ports hold them too (removals.ts).
  const pending = (await s.removing.all()).removals.map((r) => r.record);
  for (const r of [...(await s.sandboxes.scan()).records, ...pending]) {
    for (const p of r.ports) if (p.proto === proto && p.hostPort === port) out.push({ proto, hostIp: p.hostIp, hostPort: port, sandboxId: r.id });
  }
  return out;
}

/** Lets the section's indexes rebuild themselves from the records when they are missing or damaged, saying so. */
export function wireRepairs(ctx: Context, s: State): void {
  s.addresses.rebuildFrom = async (networkId, base, size, why, file) => {
    const used = await addressesInUse(s, networkId, base, size);
    // A bitmap lost with /run at a reboot, with no sandbox left to hold an address, is no news.
    if (why !== 'missing' || used.length) ctx.warn(`nsnet: ${file}: ${why}; rebuilt it from the sandbox records (${used.length} address(es) in use)`);
    return used;
  };
  // An index with nothing but the records behind it, and missing for networks made before it existed: rebuilt quietly.
  s.addresses6.rebuildFrom = async (networkId) => addresses6InUse(s, networkId);
  s.ports.rebuildFrom = async (proto, port, why, file) => {
    const claims = await claimsFromRecords(s, proto, port);
    ctx.warn(`nsnet: ${file}: ${why}; rebuilt it from the sandbox records (${claims.length} claim(s))`);
    return claims;
  };
}

/** Subnets of every network with a bitmap: from the networks that can be read, else the bitmap's own header. */
export function bitmapSubnets(ctx: Context, s: State): Map<string, { base: number; size: number }> {
  const out = new Map<string, { base: number; size: number }>();
  for (const n of readableNetworks(ctx, s)) {
    if (!n.subnet) continue; // bridge and macvlan networks
    const b = parseIpv4Block(n.subnet);
    out.set(n.id, { base: b.network, size: b.size });
  }
  for (const id of s.addresses.ids()) {
    const h = out.has(id) ? undefined : s.addresses.header(id);
    if (h) out.set(id, h);
  }
  return out;
}
