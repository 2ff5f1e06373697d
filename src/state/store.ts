// nsnet's state on disk: networks (persistent, like Docker's network store)
// and sandboxes (runtime: their namespaces don't outlive a reboot either).
//
//   <dataDir>/networks.json     default /var/lib/nsnet
//   <runDir>/sandboxes.json     default /run/nsnet
//   <runDir>/lock               flock(2) held around every read-modify-write
//
// Writes are atomic (write a temp file, fsync, rename over the old one), so a
// crash leaves either the old state or the new one, never half a file. Every
// change happens under the lock, so two nsnet processes never hand out the
// same address or name.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { withLock } from './lock.js';

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
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
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

/**
 * Runs `fn` on the current state under the lock; when `fn` returns, whatever
 * it changed is written back (only the files whose content changed).
 */
export async function withState<S extends { networks: unknown[]; sandboxes: unknown[] }, T>(
  dirs: StoreDirs, fn: (s: S) => Promise<T> | T,
): Promise<T> {
  const netFile = path.join(dirs.dataDir, 'networks.json');
  const sbFile = path.join(dirs.runDir, 'sandboxes.json');
  return withLock(path.join(dirs.runDir, 'lock'), async () => {
    const networks = await readJson<unknown[]>(netFile, []);
    const sandboxes = await readJson<unknown[]>(sbFile, []);
    const before = [JSON.stringify(networks), JSON.stringify(sandboxes)];
    const s = { networks, sandboxes } as S;
    const out = await fn(s);
    if (JSON.stringify(s.networks) !== before[0]) await writeJsonAtomic(netFile, s.networks);
    if (JSON.stringify(s.sandboxes) !== before[1]) await writeJsonAtomic(sbFile, s.sandboxes, false);
    return out;
  });
}
