// Bringing nsnet's state files back in line with each other and with the
// kernel (the state half of `nsnet system reconcile`). Under the lock, in
// this order (each step one function below):
//
//   networks.json   damaged or missing networks: rebuilt from what can still
//                   be read of it and what else names them (recover-networks.ts).
//                   The damaged file is kept as networks.json.damaged-<time>.
//   creating/       creates whose process is gone: undone.
//   ipam/*.bits     every bitmap rebuilt from the records where it differs.
//   ports/*.json    rebuilt from the records' published ports: claims of
//                   sandboxes that no longer exist dropped, missing ones added.
//   ids/            entries of records that are gone, with nothing left in
//                   the kernel, dropped.
//
// Damaged sandbox records are reported, not removed: `nsnet rm -f NAME` does
// that. No file is deleted without being kept (<file>.damaged-<time>). With
// dryRun, nothing changes and the report says what would be done.
import { existsSync, readFileSync } from 'node:fs';
import { window6 } from '../net/ip6.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import { bitmapAddresses, decodeBitmap, ipText } from '../state/bitmap.js';
import { damagedCopyName, keepDamaged } from '../state/damaged.js';
import type { PortClaim } from '../state/port-claims.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import { withState } from '../state/store.js';
import type { Context } from './context.js';
import { hostResolvConf, reservedPrefixes } from './host.js';
import { builtinNetworks } from './network.js';
import { defaultBridgeIpv6 } from './networks.js';
import { processAlive } from './proc.js';
import { describeRecovered, recoverNetworks } from './recover-networks.js';
import { addresses6InUse, addressesInUse, damagedHoldings } from './repair.js';
import { cleanStaleCreates, undoSandbox } from './stale-creates.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

export interface ReconcileReport {
  /** One line each: what was found, what was done (or would be, with dryRun). */
  repaired: string[];
  /** What could not be fixed, and how to get out of it. */
  problems: string[];
}

/** One reconcile pass: the locked section, and the report it writes. */
interface Pass extends ReconcileReport {
  ctx: Context;
  s: State;
  dry: boolean;
  /** The words for what was done, or, in a dry run, for what would be. */
  did: (done: string, would: string) => string;
}

/**
 * Rebuilds what can be rebuilt of nsnet's state from the records and the
 * kernel (see the top of this file). Returns a line per repair and per
 * problem it could not fix.
 */
export async function reconcileState(ctx: Context, o: { dryRun?: boolean } = {}): Promise<ReconcileReport> {
  const dry = !!o.dryRun;
  const report: ReconcileReport = { repaired: [], problems: [] };
  await withState<NetworkRecord, SandboxRecord, void>(ctx.dirs, async (s) => {
    const pass: Pass = { ctx, s, dry, did: (done, would) => (dry ? would : done), ...report };
    s.addresses.rebuildFrom = async (id, base, size) => addressesInUse(s, id, base, size);
    s.addresses6.rebuildFrom = async (id) => addresses6InUse(s, id);
    s.ports.rebuildFrom = async () => [];
    const { networks, fresh } = await rebuildNetworksFile(pass);
    await undoStaleCreates(pass);
    const { records, damaged } = await s.sandboxes.scan();
    await rebuildBitmaps(pass, networks, fresh);
    await rebuildPortClaims(pass, records);
    await reportDamagedRecords(pass, damaged);
  }, { commit: !dry });
  return report;
}

/**
 * 1. networks.json: adds the networks recovered from other traces, and the
 * built-in ones if it has none. Returns the networks as they now are, and
 * those made here (their bitmap starts empty).
 */
async function rebuildNetworksFile({ ctx, s, dry, did, repaired, problems }: Pass): Promise<{ networks: NetworkRecord[]; fresh: Set<string> }> {
  const first = await s.sandboxes.scan();
  const known = s.networksDamaged ? [...s.salvaged] : [...s.networks];
  const { added, problems: netProblems } = await recoverNetworks(ctx, s, known, first.records, first.damaged, { adoptBridges: !!s.networksDamaged });
  let list = [...known, ...added];
  const fresh = new Set<string>();
  const lines = added.map(describeRecovered);
  if (s.networksDamaged || !list.some((n) => n.builtin)) {
    const reserved = await reservedPrefixes(ctx.host, await hostResolvConf());
    // A default bridge made afresh gets the config file's IPv6, as at the first start (networks.ts).
    const ipv6 = list.some((n) => n.name === 'bridge') ? undefined : defaultBridgeIpv6(ctx);
    const builtins = builtinNetworks({ networks: list } as State, reserved, ipv6).filter((b) => !list.some((n) => n.name === b.name));
    list = [...builtins, ...list];
    for (const b of builtins) fresh.add(b.id);
    lines.push(...builtins.map((b) => `built-in network ${b.name}${b.subnet ? ` (${b.subnet})` : ''}`));
  }
  if (s.networksDamaged) {
    const d = s.networksDamaged;
    const there = existsSync(d.path);
    const kept = dry ? damagedCopyName(d.path) : s.replaceDamagedNetworks(list);
    repaired.push(`${d.path}: ${d.problem}; ${there ? `${did('kept it as', 'would keep it as')} ${kept} and ` : ''}${did('rebuilt', 'would rebuild')} it with ${list.length} network(s): ${known.length} read from it${lines.length ? `, and ${lines.join('; ')}` : ''}`);
  } else if (lines.length) {
    if (!dry) s.networks = list;
    repaired.push(`${networksFile(ctx)}: ${did('added', 'would add')} ${lines.join('; ')}`);
  }
  problems.push(...netProblems);
  return { networks: list, fresh };
}

/** 2. Creates whose process is gone: the creating index, then records left "creating" without an entry. */
async function undoStaleCreates({ ctx, s, dry, did, repaired }: Pass): Promise<void> {
  await cleanStaleCreates(ctx, s, { dryRun: dry, report: (l) => repaired.push(l) });
  const indexed = new Set(s.sandboxes.creating());
  for (const r of (await s.sandboxes.scan()).records) {
    if (r.status !== 'creating' || indexed.has(r.name) || (r.createdBy && processAlive(r.createdBy.pid, r.createdBy.start))) continue;
    repaired.push(`sandbox ${r.name} was left half-created by a process that is gone; ${did('undid', 'would undo')} it`);
    if (!dry) await undoSandbox(ctx, s, r);
  }
}

/** Two ascending lists of addresses hold the same ones. */
const sameAddresses = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** 3. Address bitmaps, from the records; bitmaps of networks nsnet doesn't know are kept aside. */
async function rebuildBitmaps({ s, dry, did, repaired }: Pass, networks: NetworkRecord[], fresh: Set<string>): Promise<void> {
  const bridges = networks.filter((n) => n.subnet); // bridge and macvlan networks
  for (const n of bridges) {
    const b = parseIpv4Block(n.subnet!);
    const want = (await addressesInUse(s, n.id, b.network, b.size)).sort((x, y) => x - y);
    const file = s.addresses.file(n.id);
    const problem = s.addresses.check(n.id, b.network, b.size);
    let why = problem;
    if (!problem) {
      const have = bitmapAddresses(decodeBitmap(readFileSync(file), { base: b.network, size: b.size }).bitmap!);
      if (!sameAddresses(have, want)) why = `out of date (${have.length} address(es) marked, ${want.length} held by the records)`;
    }
    if (!why) continue;
    if (fresh.has(n.id)) {
      if (!dry) s.addresses.create(n.id, b.network, b.size);
      continue;
    }
    const shown = want.length ? `: ${want.slice(0, 8).map(ipText).join(', ')}${want.length > 8 ? ', ...' : ''}` : '';
    repaired.push(`${file}: ${why}; ${did('rebuilt', 'would rebuild')} it from the sandbox records (${want.length} address(es) in use${shown})`);
    if (!dry) s.addresses.replace(n.id, b.network, b.size, want);
  }
  // IPv6 bitmaps (dual-stack networks): rewritten from the records, quietly (a bit too many only holds an address back).
  if (!dry) {
    for (const n of bridges) if (n.subnet6) s.addresses6.replace(n.id, 0, window6(n.subnet6), await addresses6InUse(s, n.id));
    for (const id of s.addresses6.ids()) if (!bridges.some((n) => n.id === id && n.subnet6)) await s.addresses6.drop(id);
  }
  for (const id of s.addresses.ids()) {
    if (networks.some((n) => n.id === id)) continue;
    const file = s.addresses.file(id);
    const h = s.addresses.header(id);
    const kept = dry ? damagedCopyName(file) : keepDamaged(file);
    const what = h && !h.count ? `the empty address bitmap of network ${id.slice(0, 12)}, which nothing else names (no bridge, no sandbox): not recovered` : `the address bitmap of a network nsnet doesn't know`;
    repaired.push(`${file}: ${what}; ${did('kept it as', 'would keep it as')} ${kept}`);
  }
}

/** Claims by the same sandbox on the same host address are the same claim. */
const claimKey = (c: PortClaim) => `${c.sandboxId} ${c.hostIp}`;

/** 4. Port claims, from the records' published ports. */
async function rebuildPortClaims({ s, dry, did, repaired }: Pass, records: SandboxRecord[]): Promise<void> {
  const want = new Map<string, PortClaim[]>();
  for (const r of records) {
    for (const p of r.ports) {
      const k = `${p.proto}-${p.hostPort}`;
      want.set(k, [...(want.get(k) ?? []), { proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, sandboxId: r.id }]);
    }
  }
  const files = new Set<string>();
  for (const [proto, port] of s.ports.list()) {
    const k = `${proto}-${port}`;
    files.add(k);
    const file = s.ports.file(proto, port);
    const have = await s.ports.read(proto, port);
    const expected = want.get(k) ?? [];
    if (have.problem !== undefined) {
      const kept = dry ? damagedCopyName(file) : keepDamaged(file);
      repaired.push(`${file}: ${have.problem}; ${did('kept it as', 'would keep it as')} ${kept} and ${did('rebuilt', 'rebuild')} it from the sandbox records (${expected.length} claim(s))`);
      if (!dry) s.ports.replace(proto, port, expected);
      continue;
    }
    const ids = new Set(records.map((r) => r.id));
    const gone = have.claims.filter((c) => !ids.has(c.sandboxId));
    const missing = expected.filter((c) => !have.claims.some((h) => claimKey(h) === claimKey(c)));
    if (!gone.length && !missing.length) continue;
    const what = [
      ...(gone.length ? [`${did('dropped', 'would drop')} ${gone.length} claim(s) of sandboxes that no longer exist (${gone.map((c) => c.sandboxId.slice(0, 12)).join(', ')})`] : []),
      ...(missing.length ? [`${did('added', 'would add')} ${missing.length} claim(s) the records hold`] : []),
    ];
    repaired.push(`${file}: ${what.join('; ')}`);
    if (!dry) s.ports.replace(proto, port, expected);
  }
  for (const [k, expected] of want) {
    if (files.has(k)) continue;
    const [proto, port] = k.split('-') as ['tcp' | 'udp', string];
    repaired.push(`${s.ports.file(proto, Number(port))}: missing; ${did('rebuilt', 'would rebuild')} it from the sandbox records (${expected.length} claim(s))`);
    if (!dry) s.ports.replace(proto, Number(port), expected);
  }
}

/** 5. Damaged records: reported; id index entries of records gone with nothing left behind: dropped. */
async function reportDamagedRecords({ ctx, s, dry, did, repaired, problems }: Pass, damaged: DamagedRecord[]): Promise<void> {
  for (const d of damaged) {
    const h = await damagedHoldings(d);
    const left = existsSync(`/run/netns/${d.name}`) || existsSync(`${ctx.etcNetns}/${d.name}`) || h.addresses.length > 0;
    if (d.id && !d.text && !left) {
      repaired.push(`${d.path}: ${d.problem}, and nothing of the sandbox is left; ${did('dropped', 'would drop')} its id index entry`);
      if (!dry) s.sandboxes.dropIndex(d.id);
      continue;
    }
    problems.push(`${d.path}: ${d.problem}; "nsnet rm -f ${d.name}" removes the sandbox, from what can still be found`);
  }
}

const networksFile = (ctx: Context) => `${ctx.dirs.dataDir}/networks.json`;
