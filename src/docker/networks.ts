// Networks, the impure part: `nsnet network create|rm|ls|inspect|prune`.
//
// A bridge network's kernel objects are one plan (bridge.ts; a macvlan
// network's, macvlan.ts: usually none): `network create` runs it and writes
// the record once they exist (a failure halfway undoes what was made);
// `network rm` runs its undos. Also here: usingState, the
// way every operation takes the state.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isUlaGlobalId, ulaGlobalId, window6 } from '../net/ip6.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import { withState } from '../state/store.js';
import { bridgeSteps } from './bridge.js';
import { remember, type Context } from './context.js';
import { conflict, forEachRef, notFound, NsnetError } from './errors.js';
import { readDaemonConfig } from './daemon-config.js';
import { checkTables, tablesStep } from './firewall.js';
import { hostResolvConf, reservedPrefixes } from './host.js';
import { findParent, macvlanNetworkSteps } from './macvlan.js';
import { builtinNetworks, inspectNetwork, planNetwork, type NetworkCreateRequest } from './network.js';
import { removeSteps, runSteps } from './plan.js';
import { damagedOn, readableNetworks, warnDamagedNetworks, wireRepairs } from './repair.js';
import { finishPendingRemovals } from './removals.js';
import { cleanStaleCreates } from './stale-creates.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

/**
 * Runs `fn` on the state under the lock, with the built-in networks present
 * (made on first use; not over a damaged networks.json), its indexes
 * rebuilding themselves from the records when damaged (repair.ts), the
 * creates whose process died undone first, and nsnet's firewall tables
 * checked and rebuilt from this state if missing (firewall.ts): no command
 * works on top of a flushed firewall.
 */
export async function usingState<T>(ctx: Context, fn: (s: State) => Promise<T> | T, o: { checkTables?: boolean } = {}): Promise<T> {
  const cleaned: string[] = [];
  const out = await withState<NetworkRecord, SandboxRecord, T>(ctx.dirs, async (s) => {
    wireRepairs(ctx, s);
    if (!ctx.dryRun) {
      cleaned.push(...await cleanStaleCreates(ctx, s));
      for (const line of await finishPendingRemovals(ctx, s)) ctx.warn(`nsnet: ${line}`);
    }
    if (!s.networksDamaged && !s.networks.some((n) => n.builtin)) {
      const reserved = await reservedPrefixes(ctx.host, await hostResolvConf());
      const builtins = builtinNetworks(s, reserved, defaultBridgeIpv6(ctx));
      // Normally the first start (no record yet). Records on networks it doesn't list mean networks.json lost them: say so.
      const known = new Set(s.networks.map((n) => n.id));
      const lost = new Map<string, string[]>();
      for (const r of (await s.sandboxes.scan({ orphans: false })).records) {
        for (const e of r.endpoints) if (!known.has(e.networkId)) lost.set(e.networkId, [...(lost.get(e.networkId) ?? []), r.name]);
      }
      for (const [id, names] of lost) {
        ctx.warn(`nsnet: warning: ${path.join(ctx.dirs.dataDir, 'networks.json')} lists no network ${id.slice(0, 12)}, which sandbox(es) ${names.join(', ')} are on; run "nsnet system reconcile" to recover it from the kernel and the sandbox records`);
      }
      s.networks.unshift(...builtins);
      for (const n of builtins) if (n.subnet) createBitmap(s, n);
    }
    if (o.checkTables !== false) {
      // Over a damaged networks.json, from the networks still readable: better than no tables at all.
      const repaired = await checkTables(ctx, readableNetworks(ctx, s), () => s.sandboxes.all());
      if (repaired) ctx.warn(`nsnet: ${repaired}`);
    }
    const result = await fn(s);
    warnDamagedNetworks(ctx, s);
    return result;
  }, { commit: !ctx.dryRun || ctx.scratchState === true });
  // The DNS server lets go of what it held in their namespaces.
  if (cleaned.length) await ctx.dns?.sync(false, cleaned).catch(() => {});
  return out;
}

/** A network's own kernel objects, each with its undo (network rm): a bridge's, or a macvlan network's (usually none). */
function networkSteps(ctx: Context, n: NetworkRecord) {
  return n.driver === 'macvlan' ? macvlanNetworkSteps(ctx, n) : bridgeSteps(ctx, n);
}

/** A network's subnet as the bitmap wants it. */
export function subnetBlock(n: NetworkRecord): { base: number; size: number } {
  const b = parseIpv4Block(n.subnet!);
  return { base: b.network, size: b.size };
}

/** A new network's empty address bitmap: from then on, a missing one means a lost one (rebuilt from the records). */
export function createBitmap(s: State, n: NetworkRecord): void {
  const { base, size } = subnetBlock(n);
  s.addresses.create(n.id, base, size);
  if (n.subnet6) s.addresses6.create(n.id, 0, window6(n.subnet6));
}

/** The default bridge's IPv6, from the config file (daemon.json's ipv6, fixed-cidr-v6); none when it is off. */
export function defaultBridgeIpv6(ctx: Context): { subnet6?: string; ulaGlobalId?: string; file: string } | undefined {
  const conf = readDaemonConfig(ctx.configFile);
  return conf.ipv6 ? { ...(conf.fixedCidrV6 ? { subnet6: conf.fixedCidrV6 } : { ulaGlobalId: hostUlaGlobalId(ctx) }), file: ctx.configFile! } : undefined;
}

/**
 * The host's ULA global id (RFC 4193: 40 random bits, chosen once): the
 * default IPv6 subnets are /64s of fdXX:XXXX:XXXX::/48. Kept in
 * <dataDir>/ula-global-id, made on first use (under the state lock); a dry
 * run shows one without keeping it.
 */
function hostUlaGlobalId(ctx: Context): string {
  const file = path.join(ctx.dirs.dataDir, 'ula-global-id');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== undefined) {
    if (!isUlaGlobalId(text)) throw new NsnetError('InvalidArgument', `${file}: "${text}" is not a ULA global id (10 hex digits); remove it to choose a new one`);
    return text;
  }
  const id = ulaGlobalId(randomBytes(5));
  if (!ctx.dryRun) {
    mkdirSync(ctx.dirs.dataDir, { recursive: true });
    writeFileSync(file, `${id}\n`, { mode: 0o644 });
  }
  return id;
}

/** A network by name, full id or unique id prefix, as Docker resolves them. */
export function findNetwork(s: { networks: NetworkRecord[] }, ref: string): NetworkRecord {
  const byName = s.networks.find((n) => n.name === ref);
  if (byName) return byName;
  const byId = s.networks.filter((n) => n.id.startsWith(ref));
  if (byId.length === 1 && ref.length >= 1) return byId[0]!;
  if (byId.length > 1) throw new NsnetError('InvalidArgument', `network ${ref} is ambiguous (${byId.length} matches found on name,id)`);
  throw notFound(`network ${ref} not found`);
}

export async function networkCreate(ctx: Context, req: NetworkCreateRequest): Promise<NetworkRecord> {
  const made = await usingState(ctx, async (s) => {
    const reserved = req.subnet ? [] : await reservedPrefixes(ctx.host, await hostResolvConf());
    const ula = req.ipv6 && !req.subnet6 ? { ulaGlobalId: hostUlaGlobalId(ctx) } : {};
    const { network, warnings } = planNetwork({ ...req, ...ula }, s, reserved);
    warnings.forEach(ctx.warn);
    if (network.driver === 'macvlan') {
      // Nothing on the parent; it must exist (an internal network's own one is made by the plan).
      if (!network.ownParent) await findParent(ctx, network);
      remember(ctx, `parent ${network.parent}`);
      await runSteps(networkSteps(ctx, network), ctx);
      // Its sandboxes use the embedded DNS server: started now, as a bridge network's first
      // firewall tables start it, not on the way to the first sandbox.
      if (!ctx.dryRun) await ctx.dns?.sync(true, []).catch((e: Error) => ctx.warn(`nsnet: the DNS server did not start: ${e.message}`));
    } else {
      // The first network this boot makes nsnet's tables too.
      const tables = await tablesStep(ctx, s.networks, () => s.sandboxes.all());
      remember(ctx, `bridge ${network.bridge}`); // in a dry run, later plans (compose up) see it as made
      await runSteps([...tables, ...networkSteps(ctx, network)], ctx);
    }
    s.networks.push(network);
    createBitmap(s, network);
    return network;
  });
  // Names for the host (host_dns): the DNS server listens on the gateway once the record is written.
  if (made.hostDns && !ctx.dryRun) {
    await ctx.dns?.sync(true, []).catch((e: Error) => ctx.warn(`nsnet: names for the host on network ${made.name}: ${e.message}`));
  }
  return made;
}

/** Removes networks; each one that can't be removed is reported, the others still go. */
export function networkRemove(ctx: Context, refs: string[]): Promise<string[]> {
  return forEachRef(refs, async (ref) => {
    const hostDns = await networkRemoveOne(ctx, ref);
    // Its listener on the gateway (host_dns) goes once the record is gone.
    if (hostDns && !ctx.dryRun) await ctx.dns?.sync(false, []).catch((e: Error) => ctx.warn(`nsnet: ${e.message}`));
  });
}

/** Removes one network; returns whether the DNS server listened for the host on it. */
function networkRemoveOne(ctx: Context, ref: string): Promise<boolean> {
  return usingState(ctx, async (s) => {
    // A damaged networks.json: the networks that can still be read of it (rm of what it lists keeps working).
    const nets = readableNetworks(ctx, s);
    let n: NetworkRecord;
    try {
      n = findNetwork({ networks: nets }, ref);
    } catch (e) {
      if (s.networksDamaged && e instanceof NsnetError && e.kind === 'NotFound') throw s.networksDamaged;
      throw e;
    }
    if (n.builtin) throw new NsnetError('Conflict', `${n.name} is a pre-defined network and cannot be removed`);
    const sub = subnetBlock(n);
    if (await s.addresses.anyUsed(n.id, sub.base, sub.size)) {
      const { records, damaged } = await s.sandboxes.scan();
      const users = records.filter((sb) => sb.endpoints.some((e) => e.networkId === n.id)).map((u) => u.name);
      for (const d of damaged) if (await damagedOn(d, { id: n.id, ...sub })) users.push(`${d.name} (its record ${d.path} is damaged: "nsnet rm -f ${d.name}" removes it)`);
      if (users.length) throw conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints (${users.join(', ')})`);
      // Addresses marked in use that no record (readable or damaged) and no namespace holds: a stale bitmap.
      ctx.warn(`nsnet: ${s.addresses.file(n.id)} marks addresses in use that no sandbox holds; removing network ${n.name} anyway`);
    }
    await removeSteps(networkSteps(ctx, n), ctx);
    if (s.networksDamaged) {
      const kept = s.replaceDamagedNetworks(nets.filter((x) => x.id !== n.id));
      ctx.warn(`nsnet: kept the damaged ${s.networksDamaged.path} as ${kept}, and wrote the ${nets.length - 1} network(s) that could still be read of it; "nsnet system reconcile" recovers the others from the kernel and the sandbox records`);
    } else {
      s.networks = s.networks.filter((x) => x.id !== n.id);
    }
    await s.addresses.drop(n.id);
    if (n.subnet6) await s.addresses6.drop(n.id);
    return n.hostDns === true;
  });
}

export function networkList(ctx: Context): Promise<NetworkRecord[]> {
  return usingState(ctx, (s) => s.networks);
}

export function networkInspect(ctx: Context, refs: string[]): Promise<object[]> {
  return usingState(ctx, async (s) => {
    const all = await s.sandboxes.all();
    return refs.map((r) => inspectNetwork(findNetwork(s, r), all));
  });
}

/** Removes every user-defined network no sandbox uses. */
export async function networkPrune(ctx: Context): Promise<string[]> {
  const unused = await usingState(ctx, async (s) => {
    const names: string[] = [];
    for (const n of s.networks) {
      if (n.builtin || !n.subnet) continue;
      const { base, size } = subnetBlock(n);
      if (!(await s.addresses.anyUsed(n.id, base, size))) names.push(n.name);
    }
    return names;
  });
  return unused.length ? networkRemove(ctx, unused) : [];
}
