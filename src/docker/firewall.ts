// nsnet's nftables tables on the host are derived from its state: every
// network, published port and icc=false port in the records has its element,
// and nothing else does. So they can be rebuilt whole at any time, and are,
// whenever they are found missing or not the ones nsnet made:
//
// - every command that takes the state lock first checks them (checkTables:
//   two NFT_MSG_GETTABLE requests and a small file, a cost that doesn't grow
//   with the number of sandboxes) and rebuilds them from the state it holds;
// - the DNS server (a long-lived process) watches nftables events and does
//   the same within milliseconds of an `nft flush ruleset` (firewall-watch.ts);
// - `nsnet system reconcile` does it on demand.
//
// "The ones nsnet made": each table carries a comment naming the rules layout
// (table.ts MARK), and the kernel gives each new table a new handle, which
// nsnet records in <runDir>/firewall.json when it builds them. A table that
// is gone, has another comment, or another handle (deleted and made again by
// someone else, a saved ruleset restored) is rebuilt.
//
//   nft list table ip nsnet          nft list table ip6 nsnet          nft list table bridge nsnet
//   nft -j list tables               the handles
//   cat /run/nsnet/firewall.json     the handles nsnet built
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isNotFound, KernelError } from '../kernel/errors.js';
import { nftApply, nftApplyCommand, nftList, nftTableGet } from '../kernel/nftables.js';
import type { Netns } from '../kernel/netns.js';
import { withLock } from '../state/lock.js';
import { readState, writeJsonAtomic } from '../state/store.js';
import { MARK, TABLE, TABLES, tablesText, type FirewallContent, type NetworkRules, type PortRule } from '../nft/table.js';
import { shownBefore, type Context } from './context.js';
import { runSteps, type Step } from './plan.js';
import type { NetworkRecord, PortBinding, SandboxRecord } from './types.js';

/** Gone: the table, set or element (nft says "element does not exist" for interval sets, as EINVAL). */
const missing = (e: unknown) => e instanceof KernelError
  && (e.code === 'ENOENT' || /element does not exist/.test(e.extack?.message ?? e.message));

const FAMILIES = ['ip', 'ip6', 'bridge'] as const;
type Handles = Record<(typeof FAMILIES)[number], string>;

/** A table's handle and comment, or undefined when it doesn't exist. */
async function tableGet(host: Netns, family: (typeof FAMILIES)[number]): Promise<{ handle: string; comment?: string } | undefined> {
  try {
    return await nftTableGet(host, family, TABLE);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

const marksFile = (ctx: Context) => path.join(ctx.dirs.runDir, 'firewall.json');

function recordedHandles(ctx: Context): Handles | undefined {
  try {
    const h = JSON.parse(readFileSync(marksFile(ctx), 'utf8')) as Partial<Handles>;
    // A record without ip6 (an nsnet from before IPv6 built the tables): no record, so the tables are rebuilt.
    return FAMILIES.every((f) => typeof h[f] === 'string') ? h as Handles : undefined;
  } catch {
    return undefined; // none yet (first use this boot), or damaged: the tables are rebuilt, which rewrites it
  }
}

/** What nsnet's tables must hold, from its records. Pure. */
export function firewallContent(networks: NetworkRecord[], sandboxes: SandboxRecord[]): FirewallContent {
  const bridged = networks.filter((n) => n.driver === 'bridge' && n.bridge && n.subnet);
  const iccOff = new Set(bridged.filter((n) => n.icc === false).map((n) => n.id));
  return {
    networks: bridged.map(networkRules),
    ports: sandboxes.flatMap((sb) => portRules(sb.ports)),
    iccPorts: sandboxes.flatMap((sb) => sb.endpoints.filter((e) => iccOff.has(e.networkId)).map((e) => e.hostVeth)),
  };
}

/**
 * A sandbox's published ports as DNAT map elements. A binding on [::1] has none: no DNAT can
 * serve ::1 (the ip6 output chain leaves it alone); the resident process relays it (ports.ts loopbackRelays).
 */
export const portRules = (ports: PortBinding[]): PortRule[] =>
  ports.filter((p) => p.hostIp !== '::1').map((p) => ({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, ip: p.ip, ...(p.ip6 && { ip6: p.ip6 }), port: p.containerPort }));

export const networkRules = (n: NetworkRecord): NetworkRules => ({
  bridge: n.bridge!, subnet: n.subnet!, ...(n.subnet6 && { subnet6: n.subnet6 }), internal: n.internal, masquerade: n.masquerade !== false, ...(n.clusterCidr && { clusterCidr: n.clusterCidr }),
  ...(n.hostDns && n.gateway && { hostDns: n.gateway }),
});

export type TablesCondition =
  | { ok: true }
  /** `absent`: no table and no record of building one this boot: made when the first network needs them. */
  | { ok: false; why: string; absent: boolean };

/** Are nsnet's tables there, and the ones it built? Two small netlink requests, whatever their size. */
export async function tablesCondition(ctx: Context): Promise<TablesCondition> {
  const recorded = recordedHandles(ctx);
  const why: string[] = [];
  let found = 0;
  for (const family of FAMILIES) {
    const t = await tableGet(ctx.host, family);
    if (t) found++;
    if (!t) why.push(`table ${family} ${TABLE} is missing`);
    else if (t.comment !== MARK) why.push(`table ${family} ${TABLE} was not built by this nsnet (comment ${JSON.stringify(t.comment ?? '')})`);
    else if (recorded && recorded[family] !== t.handle) why.push(`table ${family} ${TABLE} was replaced (handle ${t.handle}, nsnet built ${recorded[family]})`);
    else if (!recorded) why.push(`no record of building table ${family} ${TABLE}`);
  }
  return why.length ? { ok: false, why: why.join('; '), absent: !found && !recorded } : { ok: true };
}

/** The step that (re)builds nsnet's tables from the state: shown by --dry-run, run otherwise. */
export function rebuildStep(ctx: Context, content: FirewallContent, why: string): Step {
  const text = tablesText(content);
  return {
    title: `rebuilding nftables tables ${TABLES} from nsnet's state (${why})`,
    equivalent: nftApplyCommand(ctx.host.name, text),
    do: async () => {
      await withLock(path.join(ctx.dirs.runDir, 'nft.lock'), async () => {
        await nftApply(ctx.host, text, { what: `rebuilding nftables tables ${TABLES}` });
        const handles = {} as Handles;
        for (const family of FAMILIES) handles[family] = (await tableGet(ctx.host, family))?.handle ?? '';
        await writeJsonAtomic(marksFile(ctx), handles, false);
      });
      await startWatcher(ctx);
    },
  };
}

const RECHECK_MS = 100;
/** By the host namespace's handle: contexts sharing one (the CNI server's calls) share the window. */
const checkedAt = new WeakMap<Context['host'], number>();

/**
 * Checks nsnet's tables and, when they are missing or stale, rebuilds them
 * from the given state (a locked section's). Returns what it repaired, if
 * anything. In a dry run it shows the rebuild instead.
 */
export async function checkTables(ctx: Context, networks: NetworkRecord[], sandboxes: () => Promise<SandboxRecord[]>, force?: string): Promise<string | undefined> {
  // One check per burst: a CLI command takes the lock two or three times in
  // well under this; a long-lived library user checks at most ten times a
  // second (and its DNS server's watcher reacts to a flush at once anyway).
  if (!force && ctx.tablesWatched) return undefined;
  const last = checkedAt.get(ctx.host);
  if (!force && last !== undefined && performance.now() - last < RECHECK_MS) return undefined;
  const c = await tablesCondition(ctx);
  if (!force && (c.ok || c.absent)) {
    if (c.ok) checkedAt.set(ctx.host, performance.now());
    return undefined;
  }
  const why = c.ok ? force! : c.why;
  // A dry run changes no table: it shows this once, as if it had.
  if (shownBefore(ctx, 'tables')) return undefined;
  await runSteps([rebuildStep(ctx, firewallContent(networks, await sandboxes()), why)], ctx);
  if (ctx.dryRun) return undefined;
  return `rebuilt nftables tables ${TABLES} from the state (${why})`;
}

/**
 * Rebuilds the tables from the state on disk, read without the lock: for a
 * step that found them gone in the middle of an operation (the caller holds
 * the lock, and adds its own elements right after).
 */
async function rebuildFromDisk(ctx: Context): Promise<void> {
  checkedAt.delete(ctx.host);
  const s = await readState<NetworkRecord, SandboxRecord>(ctx.dirs);
  await runSteps([rebuildStep(ctx, firewallContent(s.networks, await s.sandboxes.all()), 'missing during an operation')], ctx);
}

/**
 * Once nsnet has tables, a process watches them: the DNS server (started
 * here if it isn't running; an empty sync attaches nothing).
 */
async function startWatcher(ctx: Context): Promise<void> {
  await ctx.dns?.sync(true, []).catch((e: Error) => ctx.warn(`nsnet: the DNS server, which also watches the firewall, did not start: ${e.message}`));
}

/**
 * The step that creates nsnet's tables from the state, for a plan that makes
 * a bridge while there are none yet (the first network this boot); none when
 * they exist (or a dry run already showed it).
 */
export async function tablesStep(ctx: Context, networks: NetworkRecord[], sandboxes: () => Promise<SandboxRecord[]>): Promise<Step[]> {
  if (ctx.planned?.has('tables')) return [];
  const c = await tablesCondition(ctx);
  if (c.ok || !c.absent || shownBefore(ctx, 'tables')) return [];
  return [{
    ...rebuildStep(ctx, firewallContent(networks, await sandboxes()), ''),
    title: `creating nftables tables ${TABLES} (first network on this host)`,
  }];
}

/** The step that adds a set of elements, undone by deleting them (built by the same element builder). */
export function elementsStep(ctx: Context, title: string, text: (op: 'add' | 'delete') => string, undoTitle: string): Step {
  return {
    title,
    equivalent: nftApplyCommand(ctx.host.name, text('add')),
    do: () => addElements(ctx, text('add'), title),
    undo: { title: undoTitle, equivalent: nftApplyCommand(ctx.host.name, text('delete')), do: () => deleteElements(ctx, text('delete'), undoTitle) },
  };
}

/** Adds elements (one transaction); tables that vanished meanwhile are rebuilt first. */
export async function addElements(ctx: Context, text: string, what: string): Promise<void> {
  if (!text) return;
  try {
    await nftApply(ctx.host, text, { what });
  } catch (e) {
    if (!missing(e)) throw e;
    await rebuildFromDisk(ctx);
    await nftApply(ctx.host, text, { what });
  }
}

/** Deletes elements; ones already gone are fine (teardown after a crash, a flushed ruleset). */
export async function deleteElements(ctx: Context, text: string, what: string): Promise<void> {
  if (!text) return;
  try {
    await nftApply(ctx.host, text, { what });
  } catch (e) {
    if (!missing(e)) throw e;
    // One of them was missing, and the batch is all-or-nothing: retry one by one.
    for (const line of text.split('\n').filter(Boolean)) {
      await nftApply(ctx.host, line, { what }).catch((err: unknown) => {
        if (!missing(err)) throw err;
      });
    }
  }
}

// ---- Living next to Docker ---------------------------------------------------
//
// Docker sets the policy of iptables' FORWARD chain (table ip filter, with the
// nf_tables backend) to drop. Every base chain on a hook must accept a packet
// for it to pass, so nsnet's accept in its own table is not enough: its
// networks' traffic would be dropped there. Docker reserves the DOCKER-USER
// chain, jumped to first from FORWARD, for rules like ours; nsnet puts one
// accept for traffic from and one for traffic to each of its bridges there
// (two rules per network, never per sandbox), marked with the comment
// "nsnet", and removes exactly those when the network goes.
//
//   nft list chain ip filter DOCKER-USER
const DOCKER_USER = 'chain ip filter DOCKER-USER';
const DOCKER_MARK = 'comment "nsnet"';

async function dockerUserExists(host: Netns): Promise<boolean> {
  try {
    await nftList(host, DOCKER_USER);
    return true;
  } catch (e) {
    if (missing(e)) return false;
    throw e;
  }
}

/** The rules that let a bridge's traffic through DOCKER-USER (insert: the last one ends up first). */
export function dockerForwardText(bridge: string): string {
  const q = JSON.stringify(bridge);
  return [`insert rule ip filter DOCKER-USER oifname ${q} accept ${DOCKER_MARK}`,
    `insert rule ip filter DOCKER-USER iifname ${q} accept ${DOCKER_MARK}`].join('\n');
}

/** Lets a bridge's traffic through Docker's FORWARD policy, when Docker is there. */
export async function dockerForwardAccept(ctx: Context, bridge: string): Promise<boolean> {
  if (!(await dockerUserExists(ctx.host))) return false;
  await nftApply(ctx.host, dockerForwardText(bridge), { what: `letting ${bridge} through Docker's FORWARD chain (DOCKER-USER)` });
  return true;
}

/** What dockerForwardRemove does, in shell terms (the rules' handles are found when it runs). */
export function dockerForwardRemoveCommand(bridge: string): string[] {
  return [`nft -a list chain ip filter DOCKER-USER  # and delete its two "nsnet" rules for ${bridge}, if Docker is here`];
}

/** Removes the DOCKER-USER rules of a bridge (found by bridge name and nsnet's comment). */
export async function dockerForwardRemove(ctx: Context, bridge: string): Promise<void> {
  if (!(await dockerUserExists(ctx.host))) return;
  const withHandles = await nftList(ctx.host, DOCKER_USER, { handles: true });
  const q = JSON.stringify(bridge);
  const handles = withHandles.split('\n')
    .filter((l) => l.includes(`ifname ${q} accept ${DOCKER_MARK}`))
    .map((l) => /# handle (\d+)/.exec(l)?.[1])
    .filter((h): h is string => !!h);
  if (handles.length) {
    await nftApply(ctx.host, handles.map((h) => `delete rule ip filter DOCKER-USER handle ${h}`).join('\n'),
      { what: `removing ${bridge} from DOCKER-USER` });
  }
}
