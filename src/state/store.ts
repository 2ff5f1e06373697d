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
import { withLock } from './lock.js';
import { AddressBits, PortClaims, RecordFiles } from './sandbox-store.js';

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

async function readJson<T>(file: string, empty: T): Promise<T> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw new Error(`reading ${file}: ${(e as Error).message}`, { cause: e });
  }
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
  networks: N[];
  sandboxes: RecordFiles<R>;
  addresses: AddressBits;
  ports: PortClaims;
}

/**
 * The state as it is now, read without the lock: every file is replaced by an
 * atomic rename, so a reader sees each one whole, old or new. For readers that
 * only look (the DNS server); anything that changes state uses withState.
 */
export async function readState<N, R extends { id: string; name: string }>(dirs: StoreDirs): Promise<{ networks: N[]; sandboxes: RecordFiles<R> }> {
  return { networks: await readJson<N[]>(path.join(dirs.dataDir, 'networks.json'), []), sandboxes: new RecordFiles<R>(dirs.runDir) };
}

/**
 * Runs `fn` on the state under the lock; when it returns, whatever it changed
 * is written back (networks.json if it changed, and each sandbox, address map
 * and port file it touched). If `fn` throws, nothing is written.
 */
export async function withState<N, R extends { id: string; name: string }, T>(
  dirs: StoreDirs, fn: (s: Stores<N, R>) => Promise<T> | T, o: { commit?: boolean } = {},
): Promise<T> {
  const netFile = path.join(dirs.dataDir, 'networks.json');
  return withLock(path.join(dirs.runDir, 'lock'), async () => {
    const networks = await readJson<N[]>(netFile, []);
    const before = JSON.stringify(networks);
    const s: Stores<N, R> = {
      networks,
      sandboxes: new RecordFiles<R>(dirs.runDir),
      addresses: new AddressBits(dirs.runDir),
      ports: new PortClaims(dirs.runDir),
    };
    const out = await fn(s);
    if (o.commit === false) return out; // a dry run: plan against the state, change nothing
    if (JSON.stringify(s.networks) !== before) await writeJsonAtomic(netFile, s.networks);
    await s.sandboxes.flush();
    await s.addresses.flush();
    await s.ports.flush();
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
