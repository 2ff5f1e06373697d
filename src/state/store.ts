// nsnet's state on disk: networks (persistent, like Docker's network store)
// and sandboxes (runtime: their namespaces don't outlive a reboot either).
//
//   <dataDir>/networks.json     default /var/lib/nsnet
//   <runDir>/...                default /run/nsnet: sandboxes, address maps,
//                               port claims (sandbox-store.ts)
//   <runDir>/lock               flock(2) held around every read-modify-write
//
// Writes are atomic (write a temp file, fsync, rename over the old one), so a
// crash leaves either the old state or the new one, never half a file. Every
// change happens under the lock, so two nsnet processes never hand out the
// same address or name.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { damagedCopyName, DamagedStateError, keepDamaged, RECONCILE_HINT } from './damaged.js';
import { withLock } from './lock.js';
import { AddressBits } from './address-bits.js';
import { PortClaims } from './port-claims.js';
import { PendingRemovals } from './removals.js';
import { RecordFiles } from './sandbox-records.js';
import { networksProblem, parseState, salvageNetworks } from './validate.js';

export interface StoreDirs {
  dataDir: string;
  runDir: string;
}

export function defaultDirs(env: NodeJS.ProcessEnv = process.env, root?: string): StoreDirs {
  if (root) return { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
  return {
    dataDir: env.NSNET_DATA_DIR || '/var/lib/nsnet',
    runDir: env.NSNET_RUN_DIR || '/run/nsnet',
  };
}

/** networks.json as read: the networks, or why it can't be used (and what could still be read of it). */
export interface NetworksRead<N> {
  networks: N[];
  /** Set when the file is damaged: every network that could still be read from it. */
  salvaged: N[];
  damaged?: DamagedStateError;
}

/**
 * Reads networks.json, checking it. Missing or without built-in networks is
 * a first start - unless <runDir>/ipam holds address maps of networks it
 * doesn't list: then it was lost or emptied, and is damaged.
 */
export function readNetworks<N extends { id: string; builtin?: boolean }>(dirs: StoreDirs): NetworksRead<N> {
  const file = path.join(dirs.dataDir, 'networks.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const damaged = (problem: string, salvaged: N[] = []) =>
    ({ networks: [], salvaged, damaged: new DamagedStateError(file, problem, RECONCILE_HINT) });
  if (text === undefined) {
    const lost = new AddressBits(dirs.runDir).ids();
    return lost.length ? damaged(`missing, while ${path.join(dirs.runDir, 'ipam')} holds the address maps of ${lost.length} network(s)`) : { networks: [], salvaged: [] };
  }
  const p = parseState<N[]>(text, networksProblem);
  if (p.problem !== undefined) return damaged(p.problem, salvageNetworks<N>(text));
  if (!p.value.some((n) => n.builtin)) {
    const known = new Set(p.value.map((n) => n.id));
    const lost = new AddressBits(dirs.runDir).ids().filter((id) => !known.has(id));
    if (lost.length) return damaged(`lists ${p.value.length ? 'no built-in networks' : 'no networks'}, while ${path.join(dirs.runDir, 'ipam')} holds the address maps of ${lost.length} network(s) it doesn't list`, p.value);
  }
  return { networks: p.value, salvaged: [] };
}

/**
 * Writes `data` to `file` atomically: temp file, (fsync,) rename. `durable`
 * adds the fsync, for files that must survive a power cut; runtime state
 * lives on a tmpfs (/run) that doesn't survive a reboot anyway.
 */
export async function writeJsonAtomic(file: string, data: unknown, durable = true): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const h = await fs.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(JSON.stringify(data) + '\n');
    if (durable) await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, file);
}

/** The state as a locked section sees it: networks in full, sandboxes and their claims lazily. */
export interface Stores<N, R extends { id: string; name: string }> {
  /** The networks; reading them throws DamagedStateError when networks.json is damaged (see networksDamaged). */
  networks: N[];
  /** Why networks.json can't be used, if it can't; `salvaged` then holds what could still be read of it. */
  networksDamaged?: DamagedStateError;
  salvaged: N[];
  /**
   * Replaces a damaged networks.json with `networks` when the section
   * commits, keeping the damaged file as <file>.damaged-<time>. Returns that name.
   */
  replaceDamagedNetworks(networks: N[]): string;
  sandboxes: RecordFiles<R>;
  addresses: AddressBits;
  /** Dual-stack networks' IPv6 addresses in use, by offset in the subnet (address-bits.ts). */
  addresses6: AddressBits;
  ports: PortClaims;
  /** Removals whose last kernel work runs after they answered (removals.ts): their addresses are still claimed. */
  removing: PendingRemovals<R>;
}

/**
 * The state as it is now, read without the lock: every file is replaced by an
 * atomic rename, so a reader sees each one whole, old or new. For readers that
 * only look (the DNS server); anything that changes state uses withState. A
 * damaged networks.json gives the networks that can still be read of it.
 */
export async function readState<N extends { id: string; builtin?: boolean }, R extends { id: string; name: string }>(dirs: StoreDirs):
  Promise<{ networks: N[]; networksDamaged?: DamagedStateError; sandboxes: RecordFiles<R> }> {
  const read = readNetworks<N>(dirs);
  return { networks: read.damaged ? read.salvaged : read.networks, ...(read.damaged && { networksDamaged: read.damaged }), sandboxes: new RecordFiles<R>(dirs.runDir) };
}

/**
 * Runs `fn` on the state under the lock; when it returns, whatever it changed
 * is written back (networks.json if it changed, and each sandbox, address map
 * and port file it touched). If `fn` throws, nothing is written. A damaged
 * networks.json is never written over, except by replaceDamagedNetworks.
 */
export async function withState<N extends { id: string; builtin?: boolean }, R extends { id: string; name: string }, T>(
  dirs: StoreDirs, fn: (s: Stores<N, R>) => Promise<T> | T, o: { commit?: boolean } = {},
): Promise<T> {
  const netFile = path.join(dirs.dataDir, 'networks.json');
  return withLock(path.join(dirs.runDir, 'lock'), async () => {
    const read = readNetworks<N>(dirs);
    let networks = read.networks;
    const before = JSON.stringify(networks);
    let replacement: { networks: N[]; keepAs: string } | undefined;
    const s: Stores<N, R> = {
      get networks() {
        if (read.damaged && !replacement) throw read.damaged;
        return networks;
      },
      set networks(v: N[]) {
        networks = v;
      },
      ...(read.damaged && { networksDamaged: read.damaged }),
      salvaged: read.salvaged,
      replaceDamagedNetworks(list: N[]) {
        replacement = { networks: list, keepAs: damagedCopyName(netFile) };
        networks = list;
        return replacement.keepAs;
      },
      sandboxes: new RecordFiles<R>(dirs.runDir),
      addresses: new AddressBits(dirs.runDir),
      addresses6: new AddressBits(dirs.runDir, 'bits6'),
      ports: new PortClaims(dirs.runDir),
      removing: new PendingRemovals<R>(dirs.runDir),
    };
    const out = await fn(s);
    if (o.commit === false) return out; // a dry run: plan against the state, change nothing
    if (replacement) {
      keepDamaged(netFile, replacement.keepAs);
      await writeJsonAtomic(netFile, networks);
    } else if (!read.damaged && JSON.stringify(networks) !== before) {
      await writeJsonAtomic(netFile, networks);
    }
    await s.sandboxes.flush();
    await s.addresses.flush();
    await s.addresses6.flush();
    await s.ports.flush();
    await s.removing.flush();
    return out;
  });
}
/**
 * Like withState for a section that only reads and writes sandbox records
 * (create's last phase, marking a record "created"): same lock, without
 * reading networks.json.
 */
export async function withRecords<R extends { id: string; name: string }, T>(dirs: StoreDirs, fn: (records: RecordFiles<R>) => Promise<T> | T): Promise<T> {
  return withLock(path.join(dirs.runDir, 'lock'), async () => {
    const records = new RecordFiles<R>(dirs.runDir);
    const out = await fn(records);
    await records.flush();
    return out;
  });
}
