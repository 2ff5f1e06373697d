// Bringing nsnet's state files back in line with each other and with the
// kernel (the state half of `nsnet system reconcile`). Under the lock:
//
//   networks.json   damaged or missing networks: rebuilt from what can still
//                   be read of it, the sandbox records (network ids, names,
//                   addresses, gateways), the bitmaps' headers (subnets) and
//                   the kernel's bridges (br-<12 hex of the id>, or any bridge
//                   whose MAC is the one nsnet derives from the id; their
//                   address gives subnet and gateway). The damaged file is
//                   kept as networks.json.damaged-<time>.
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
import { addrList } from '../kernel/addr.js';
import { linkList } from '../kernel/link.js';
import { ipv4Network, parsePrefix } from '../net/ip.js';
import { bridgeMac } from '../net/mac.js';
import { formatIpv4Block, parseIpv4Block } from '../net/subnet-pool.js';
import { bitmapAddresses, decodeBitmap, ipText } from '../state/bitmap.js';
import { damagedCopyName, keepDamaged, type DamagedStateError } from '../state/damaged.js';
import type { PortClaim } from '../state/port-claims.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import { readState, withState } from '../state/store.js';
import type { Context } from './context.js';
import { hostResolvConf, reservedPrefixes } from './host.js';
import { newId } from './names.js';
import { builtinNetworks, DEFAULT_BRIDGE } from './network.js';
import { processAlive } from './proc.js';
import { addressesInUse, cleanStaleCreates, damagedHoldings, readableNetworks, undoSandbox } from './repair.js';
import { salvageRecord } from './salvage.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

/** nsnet's state as the files say it, damaged parts apart: for rebuilding what derives from it (the firewall). */
export interface StateView {
  /** The networks (those that can still be read, if networks.json is damaged). */
  networks: NetworkRecord[];
  networksDamaged?: DamagedStateError;
  sandboxes: SandboxRecord[];
  /** Records that cannot be read, or are gone while the id index names them. */
  damaged: DamagedRecord[];
}

/** The state, read without the lock (each file is replaced atomically, so each is seen whole). */
export async function loadAll(ctx: Context): Promise<StateView> {
  const st = await readState<NetworkRecord, SandboxRecord>(ctx.dirs);
  const { records, damaged } = await st.sandboxes.scan();
  return { networks: st.networks, ...(st.networksDamaged && { networksDamaged: st.networksDamaged }), sandboxes: records, damaged };
}

/** The same, inside a locked section (usingState/withState). */
export async function viewOf(ctx: Context, s: State): Promise<StateView> {
  const networks = readableNetworks(ctx, s);
  const { records, damaged } = await s.sandboxes.scan();
  return { networks, ...(s.networksDamaged && { networksDamaged: s.networksDamaged }), sandboxes: records, damaged };
}

export interface ReconcileReport {
  /** One line each: what was found, what was done (or would be, with dryRun). */
  repaired: string[];
  /** What could not be fixed, and how to get out of it. */
  problems: string[];
}

interface Evidence {
  subnet?: string;
  gateway?: string;
  name?: string;
  defaultBridge?: boolean;
  bridge?: string;
  mtu?: number;
  from: Set<string>;
}

/** A name a record gives its network: the --network it was created with, unless that was an id or the default. */
function nameHint(networkMode: string | undefined, id: string): string | undefined {
  if (!networkMode || networkMode === 'bridge' || networkMode === 'default' || id.startsWith(networkMode)) return undefined;
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(networkMode) ? networkMode : undefined;
}

/** Networks the records, bitmaps and kernel bridges show, that `known` lacks. */
async function recoverNetworks(ctx: Context, s: State, known: NetworkRecord[], records: SandboxRecord[], damaged: DamagedRecord[],
  o: { adoptBridges: boolean }): Promise<{ added: NetworkRecord[]; problems: string[] }> {
  const strays: string[] = [];
  const ids = new Set(known.map((n) => n.id));
  const ev = new Map<string, Evidence>();
  const note = (id: string, from: string, e: Omit<Evidence, 'from'>) => {
    if (ids.has(id)) return;
    const cur = ev.get(id) ?? { from: new Set<string>() };
    cur.from.add(from);
    for (const [k, v] of Object.entries(e)) if (v !== undefined && (cur as unknown as Record<string, unknown>)[k] === undefined) (cur as unknown as Record<string, unknown>)[k] = v;
    ev.set(id, cur);
  };
  const fromEndpoint = (who: string, networkMode: string | undefined, first: boolean, e: { networkId: string; ip?: string; prefixlen?: number; gateway?: string }) => {
    const subnet = e.ip && e.prefixlen !== undefined ? `${ipv4Network(parsePrefix(`${e.ip}/${e.prefixlen}`))}/${e.prefixlen}` : undefined;
    note(e.networkId, who, {
      ...(subnet && { subnet }), ...(e.gateway && { gateway: e.gateway }),
      ...(first && { name: nameHint(networkMode, e.networkId) }),
      ...(first && (networkMode === 'bridge' || networkMode === 'default') && { defaultBridge: true }),
    });
  };
  for (const r of records) r.endpoints.forEach((e, i) => fromEndpoint(`sandbox ${r.name}`, r.networkMode, i === 0, e));
  for (const d of damaged) {
    if (!d.text) continue;
    const sal = salvageRecord(d.text);
    sal.endpoints.forEach((e, i) => fromEndpoint(`the damaged record of ${d.name}`, sal.networkMode, i === 0, e));
  }
  for (const id of s.addresses.ids()) {
    const h = s.addresses.header(id);
    if (h) note(id, 'its address bitmap', { subnet: formatIpv4Block({ address: h.base, network: h.base, prefixlen: 32 - Math.log2(h.size), size: h.size }) });
  }
  // The kernel's bridges: nsnet gives each the MAC 02:<first 10 hex of the network id>.
  const links = await linkList(ctx.host);
  const addrs = await addrList(ctx.host, { family: 4 });
  for (const l of links) {
    if (l.kind !== 'bridge') continue;
    const m = /^br-([0-9a-f]{12})$/.exec(l.name);
    const macHex = /^02(:[0-9a-f]{2}){5}$/.test(l.address) ? l.address.slice(3).replace(/:/g, '') : undefined;
    if (!macHex || (!m && l.name !== DEFAULT_BRIDGE) || (m && !m[1]!.startsWith(macHex))) continue; // not nsnet's
    if (known.some((n) => n.bridge === l.name)) continue;
    const a = addrs.find((x) => x.index === l.index);
    const kernel = {
      bridge: l.name, ...(l.mtu !== 1500 && { mtu: l.mtu }),
      ...(a && { subnet: `${ipv4Network(parsePrefix(`${a.address}/${a.prefixlen}`))}/${a.prefixlen}`, gateway: a.address }),
      ...(l.name === DEFAULT_BRIDGE && { defaultBridge: true }),
    };
    const match = [...ev.keys()].find((id) => bridgeMac(id) === l.address && (!m || id.startsWith(m[1]!)));
    if (match) note(match, `bridge ${l.name}`, kernel);
    // A bridge nothing else names: adopted only when networks.json is lost (it is the only trace of its network).
    else if (o.adoptBridges) note((m ? m[1]! : macHex) + newId().slice(m ? 12 : 10), `bridge ${l.name}`, kernel);
    else strays.push(`bridge ${l.name} looks like nsnet's (its MAC is derived from a network id) but no network, record or bitmap names it; "ip link del ${l.name}" removes it`);
  }
  const added: NetworkRecord[] = [];
  const problems: string[] = [...strays];
  const names = new Set(known.map((n) => n.name));
  for (const [id, e] of ev) {
    // Known only from an empty bitmap: no bridge, no sandbox (the unused default bridge, typically); nothing to keep.
    if (e.from.size === 1 && e.from.has('its address bitmap') && !s.addresses.header(id)?.count) continue;
    if (!e.subnet) {
      problems.push(`network ${id.slice(0, 12)} (named by ${[...e.from].join(', ')}): its subnet could not be recovered; remove what uses it (nsnet rm -f) or recreate it`);
      continue;
    }
    const block = parseIpv4Block(e.subnet);
    const subnet = formatIpv4Block(block);
    const dflt = !!e.defaultBridge && !names.has('bridge');
    let name = dflt ? 'bridge' : e.name ?? `recovered-${id.slice(0, 12)}`;
    if (names.has(name)) name = `recovered-${id.slice(0, 12)}`;
    names.add(name);
    const n: NetworkRecord = {
      id, name, driver: 'bridge', created: new Date().toISOString(), builtin: dflt, internal: false,
      options: dflt ? { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': DEFAULT_BRIDGE } : {},
      labels: {}, bridge: e.bridge ?? (dflt ? DEFAULT_BRIDGE : `br-${id.slice(0, 12)}`), subnet,
      gateway: e.gateway ?? ipText(block.network + 1), icc: true, masquerade: true,
      ...(e.mtu && { mtu: e.mtu }), ...(dflt && { defaultBridge: true }),
    };
    added.push(n);
    if (!dflt) problems.push(`network ${name} was recovered with default options: whether it was --internal, its icc, masquerade and labels could not be recovered (nsnet network inspect ${name})`);
    (n as NetworkRecord & { recoveredFrom?: string }).recoveredFrom = [...e.from].join(', ');
  }
  return { added, problems };
}

function describe(n: NetworkRecord & { recoveredFrom?: string }): string {
  const from = n.recoveredFrom;
  delete n.recoveredFrom;
  return `network ${n.name} (id ${n.id.slice(0, 12)}, ${n.subnet}, gateway ${n.gateway}, bridge ${n.bridge}) from ${from}`;
}

const sameSet = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const claimKey = (c: PortClaim) => `${c.sandboxId} ${c.hostIp}`;

/**
 * Rebuilds what can be rebuilt of nsnet's state from the records and the
 * kernel (see the top of this file). Returns a line per repair and per
 * problem it could not fix.
 */
export async function reconcileState(ctx: Context, o: { dryRun?: boolean } = {}): Promise<ReconcileReport> {
  const dry = !!o.dryRun;
  const did = (done: string, would: string) => (dry ? would : done);
  const repaired: string[] = [];
  const problems: string[] = [];
  await withState<NetworkRecord, SandboxRecord, void>(ctx.dirs, async (s) => {
    s.addresses.rebuildFrom = async (id, base, size) => addressesInUse(s, id, base, size);
    s.ports.rebuildFrom = async () => [];
    // 1. networks.json
    const first = await s.sandboxes.scan();
    const known = s.networksDamaged ? [...s.salvaged] : [...s.networks];
    const { added, problems: netProblems } = await recoverNetworks(ctx, s, known, first.records, first.damaged, { adoptBridges: !!s.networksDamaged });
    let list = [...known, ...added];
    const fresh = new Set<string>(); // networks made here: their bitmap starts empty
    const lines = added.map(describe);
    if (s.networksDamaged || !list.some((n) => n.builtin)) {
      const reserved = await reservedPrefixes(ctx.host, await hostResolvConf());
      const builtins = builtinNetworks({ networks: list } as State, reserved).filter((b) => !list.some((n) => n.name === b.name));
      list = [...builtins, ...list];
      for (const b of builtins) fresh.add(b.id);
      lines.push(...builtins.map((b) => `built-in network ${b.name}${b.subnet ? ` (${b.subnet})` : ''}`));
    }
    if (s.networksDamaged) {
      const d = s.networksDamaged;
      const { existsSync } = await import('node:fs');
      const there = existsSync(d.path);
      const kept = dry ? damagedCopyName(d.path) : s.replaceDamagedNetworks(list);
      repaired.push(`${d.path}: ${d.problem}; ${there ? `${did('kept it as', 'would keep it as')} ${kept} and ` : ''}${did('rebuilt', 'would rebuild')} it with ${list.length} network(s): ${known.length} read from it${lines.length ? `, and ${lines.join('; ')}` : ''}`);
    } else if (lines.length) {
      if (!dry) s.networks = list;
      repaired.push(`${path(ctx)}: ${did('added', 'would add')} ${lines.join('; ')}`);
    }
    problems.push(...netProblems);

    // 2. creates whose process is gone (the creating index, then records left "creating" without an entry).
    await cleanStaleCreates(ctx, s, { dryRun: dry, report: (l) => repaired.push(l) });
    const indexed = new Set(s.sandboxes.creating());
    for (const r of (await s.sandboxes.scan()).records) {
      if (r.status !== 'creating' || indexed.has(r.name) || (r.createdBy && processAlive(r.createdBy.pid, r.createdBy.start))) continue;
      repaired.push(`sandbox ${r.name} was left half-created by a process that is gone; ${did('undid', 'would undo')} it`);
      if (!dry) await undoSandbox(ctx, s, r);
    }

    // 3. address bitmaps, from the records
    const { records, damaged } = await s.sandboxes.scan();
    const bridges = list.filter((n) => n.driver === 'bridge' && n.subnet);
    for (const n of bridges) {
      const b = parseIpv4Block(n.subnet!);
      const want = (await addressesInUse(s, n.id, b.network, b.size)).sort((x, y) => x - y);
      const file = s.addresses.file(n.id);
      const problem = s.addresses.check(n.id, b.network, b.size);
      let why = problem;
      if (!problem) {
        const { readFileSync } = await import('node:fs');
        const have = bitmapAddresses(decodeBitmap(readFileSync(file), { base: b.network, size: b.size }).bitmap!);
        if (!sameSet(have, want)) why = `out of date (${have.length} address(es) marked, ${want.length} held by the records)`;
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
    for (const id of s.addresses.ids()) {
      if (list.some((n) => n.id === id)) continue;
      const file = s.addresses.file(id);
      const h = s.addresses.header(id);
      const kept = dry ? damagedCopyName(file) : keepDamaged(file);
      const what = h && !h.count ? `the empty address bitmap of network ${id.slice(0, 12)}, which nothing else names (no bridge, no sandbox): not recovered` : `the address bitmap of a network nsnet doesn't know`;
      repaired.push(`${file}: ${what}; ${did('kept it as', 'would keep it as')} ${kept}`);
    }

    // 4. port claims, from the records
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

    // 5. damaged records: reported; index entries of records gone with nothing left behind: dropped.
    for (const d of damaged) {
      const h = await damagedHoldings(d);
      const { existsSync } = await import('node:fs');
      const left = existsSync(`/run/netns/${d.name}`) || existsSync(`${ctx.etcNetns}/${d.name}`) || h.addresses.length > 0;
      if (d.id && !d.text && !left) {
        repaired.push(`${d.path}: ${d.problem}, and nothing of the sandbox is left; ${did('dropped', 'would drop')} its id index entry`);
        if (!dry) s.sandboxes.dropIndex(d.id);
        continue;
      }
      problems.push(`${d.path}: ${d.problem}; "nsnet rm -f ${d.name}" removes the sandbox, from what can still be found`);
    }
  }, { commit: !dry });
  return { repaired, problems };
}

const path = (ctx: Context) => `${ctx.dirs.dataDir}/networks.json`;
