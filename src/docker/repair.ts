// Repairs a locked section makes on its way, each said out loud (ctx.warn):
//
// - an address bitmap or port claim file that is missing or damaged is
//   rebuilt from the sandbox records (the truth), so no address or port is
//   handed out twice; a damaged record's addresses come from what its text
//   still says and from the kernel (the addresses in its namespace);
// - a create whose process died (creating/<name>, its pid and start time) is
//   undone by the next command that holds the lock;
// - a damaged record is removed by name (rm -f) from what can still be found:
//   its namespace, /etc/netns dir, host veths, port claims, id index entry.
//
// These are the rare paths: they may read every record. The normal path
// reads one directory (creating/, empty) and nothing else.
import { existsSync } from 'node:fs';
import { addrList } from '../kernel/addr.js';
import { linkDel, linkDelCommand, linkGet } from '../kernel/link.js';
import { NETNS_RUN_DIR, netnsOpen } from '../kernel/netns.js';
import { ipv4ToInt } from '../net/ip.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import type { DamagedRecord, PortClaim } from '../state/sandbox-store.js';
import type { Context } from './context.js';
import { dnsStep } from './embedded-dns.js';
import { filesStep } from './files.js';
import { namespaceStep, SandboxNs } from './namespace.js';
import { removeSteps, type Step } from './plan.js';
import { killAction, processAlive } from './proc.js';
import { portsStep } from './publish.js';
import { salvageRecord } from './salvage.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

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

/** The IPv4 addresses in a named namespace (none if it is gone). */
export async function namespaceAddresses(name: string): Promise<number[]> {
  if (!existsSync(`${NETNS_RUN_DIR}/${name}`)) return [];
  try {
    const ns = await netnsOpen({ name });
    try {
      return (await addrList(ns, { family: 4 })).filter((a) => !a.address.startsWith('127.')).map((a) => ipv4ToInt(a.address));
    } finally {
      await ns.close();
    }
  } catch {
    return [];
  }
}

/** What a damaged record still holds: its id, endpoints and the addresses its namespace has. */
export async function damagedHoldings(d: DamagedRecord) {
  const sal = d.text ? salvageRecord(d.text) : { endpoints: [] };
  const kernel = await namespaceAddresses(d.name);
  const recorded = sal.endpoints.filter((e) => e.ip).map((e) => ipv4ToInt(e.ip!));
  return { sal, id: d.id ?? sal.id as string | undefined, addresses: [...new Set([...recorded, ...kernel])], networkIds: new Set(sal.endpoints.map((e) => e.networkId)) };
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
  for (const r of records) for (const e of r.endpoints) if (e.networkId === networkId) used.add(ipv4ToInt(e.ip));
  for (const d of damaged) {
    const h = await damagedHoldings(d);
    for (const e of h.sal.endpoints) if (e.networkId === networkId && e.ip) used.add(ipv4ToInt(e.ip));
    for (const n of h.addresses) if (n >= base && n < base + size) used.add(n);
  }
  return [...used];
}

/** The claims on one host port, from the records' published ports. */
export async function claimsFromRecords(s: State, proto: 'tcp' | 'udp', port: number): Promise<PortClaim[]> {
  const out: PortClaim[] = [];
  for (const r of (await s.sandboxes.scan()).records) {
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
    if (n.driver !== 'bridge' || !n.subnet) continue;
    const b = parseIpv4Block(n.subnet);
    out.set(n.id, { base: b.network, size: b.size });
  }
  for (const id of s.addresses.ids()) {
    const h = out.has(id) ? undefined : s.addresses.header(id);
    if (h) out.set(id, h);
  }
  return out;
}

/**
 * Removes a sandbox whose record is damaged or missing, by name, from what
 * can still be found: its process (if the text still names it), its port
 * claims and their DNAT elements, its host veths, its namespace, its
 * /etc/netns dir, its id index entry; then the bitmaps of the networks it
 * may have been on are rebuilt from the records left. Returns its id, if known.
 */
export async function removeDamaged(ctx: Context, s: State, d: DamagedRecord): Promise<string | undefined> {
  const h = await damagedHoldings(d);
  // A record too damaged to say its id: the id index still does (one read per sandbox: the rare path).
  h.id ??= (await s.sandboxes.idsNaming(d.name))[0];
  const claims: PortClaim[] = [];
  if (h.id) {
    for (const [proto, port] of s.ports.list()) claims.push(...(await s.ports.get(proto, port)).filter((c) => c.sandboxId === h.id));
  }
  // What is known of it, as a record, for the same steps that make a sandbox; their undos remove it.
  const known = { id: h.id ?? '', name: d.name, joinedBy: [], ports: claims.map((c) => ({ ...c, ip: '', containerPort: 0 })) } as unknown as SandboxRecord;
  const ns = new SandboxNs(d.name);
  const alive = !!(h.sal.pid && h.sal.pidStart && processAlive(h.sal.pid, h.sal.pidStart));
  await removeSteps([
    ...(existsSync(`${NETNS_RUN_DIR}/${d.name}`) ? [namespaceStep(ns, `sandbox ${d.name}`)] : []),
    filesStep(ctx, d.name, undefined),
    ...(h.id && ctx.dns?.release ? [dnsStep(ctx, known, ns)] : []),
    ...h.sal.endpoints.flatMap((e) => (e.hostVeth ? [hostVethStep(ctx, e.hostVeth)] : [])),
    ...(claims.length ? [portsStep(ctx, known)] : []),
    ...(alive ? [{ title: '', equivalent: [], do: async () => {}, undo: killAction(d.name, () => h.sal.pid) }] : []),
  ], ctx);
  for (const c of claims) await s.ports.release(h.id!, [{ proto: c.proto, hostPort: c.hostPort }]);
  s.sandboxes.deleteDamaged(d.name, h.id);
  // Its addresses go back: the bitmaps that may have held one are rebuilt without it (all of them if nothing is known).
  for (const [id, sub] of bitmapSubnets(ctx, s)) {
    const mayHold = h.networkIds.has(id) || h.addresses.some((n) => n >= sub.base && n < sub.base + sub.size) || (!h.networkIds.size && !h.addresses.length);
    if (mayHold) s.addresses.replace(id, sub.base, sub.size, await addressesInUse(s, id, sub.base, sub.size));
  }
  return h.id;
}

/** A host-side veth left by a sandbox whose namespace is gone or unknown: removed on its own. */
function hostVethStep(ctx: Context, name: string): Step {
  return {
    title: `creating veth ${name}`,
    equivalent: [],
    do: async () => {},
    undo: {
      title: `deleting veth ${name}`,
      equivalent: [linkDelCommand(ctx.host.name, name)],
      do: async () => linkDel(ctx.host, await linkGet(ctx.host, name)),
    },
  };
}

/** Is the create that wrote creating/<name> still running? */
async function createAlive(s: State, name: string): Promise<boolean> {
  const c = (await s.sandboxes.creator(name)) ?? (await s.sandboxes.peek(name).then((p) => (p && 'record' in p ? p.record.createdBy : undefined)));
  return !!c && processAlive(c.pid, c.start);
}

/**
 * Undoes the creates whose process died halfway (creating/<name> entries
 * with a gone pid): kernel objects, files, addresses, ports and the record,
 * through the removal path. Returns the ids removed. Cheap when there is
 * none: one readdir of an empty directory.
 */
export async function cleanStaleCreates(ctx: Context, s: State, o: { dryRun?: boolean; report?: (line: string) => void } = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const name of s.sandboxes.creating()) {
    if (await createAlive(s, name)) continue;
    const p = await s.sandboxes.peek(name);
    const report = o.report ?? ((l: string) => ctx.warn(`nsnet: ${l}`));
    if (!p) {
      if (!o.dryRun) s.sandboxes.dropCreating(name);
      continue;
    }
    if ('damaged' in p) {
      report(`sandbox ${name} was left half-created by a process that is gone, and its record is damaged (${p.damaged.problem}); ${o.dryRun ? 'would remove' : 'removed'} what could still be found`);
      if (!o.dryRun) {
        const id = await removeDamaged(ctx, s, p.damaged);
        if (id) removed.push(id);
      }
      continue;
    }
    const sb = p.record;
    if (sb.status !== 'creating') {
      if (!o.dryRun) s.sandboxes.dropCreating(name);
      continue;
    }
    report(`sandbox ${name} was left half-created by process ${sb.createdBy?.pid ?? '(unknown)'}, which is gone; ${o.dryRun ? 'would undo' : 'undid'} it`);
    if (!o.dryRun) {
      await undoSandbox(ctx, s, sb);
      removed.push(sb.id);
    }
  }
  return removed;
}

/** Undoes a sandbox that never finished being created (no process runs in it): kernel objects, then its claims and record. */
export async function undoSandbox(ctx: Context, s: State, sb: SandboxRecord): Promise<void> {
  const { releaseClaims, sandboxTeardown } = await import('./sandboxes.js');
  await sandboxTeardown(ctx, sb, readableNetworks(ctx, s)).catch((e: unknown) => ctx.warn(`nsnet: undoing sandbox ${sb.name}: ${(e as Error).message}`));
  await releaseClaims(s, sb);
  s.sandboxes.delete(sb);
}
