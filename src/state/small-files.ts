// The small files of the runtime state (sandbox-store.ts): read whole (absent
// is undefined, not an error), written atomically (temp file, rename), and
// directories listed (absent is empty). Synchronous on purpose: these are
// small files on a tmpfs, touched while holding the lock, where a trip
// through libuv's thread pool for each would cost more than the work
// (docs/bench/core.md).
import * as fsSync from 'node:fs';
import path from 'node:path';

/** A file's text; undefined if there is no such file. */
export async function readOrUndefined(file: string): Promise<string | undefined> {
  // Most lookups are of files that don't exist (a new name, a removed id): a
  // stat answers those without the cost of an ENOENT exception.
  if (!fsSync.statSync(file, { throwIfNoEntry: false })) return undefined;
  try {
    return fsSync.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes a file by renaming a temp file over it (no fsync: /run does not outlive a reboot); makes its directory if needed. */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fsSync.writeFileSync(tmp, data, { mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fsSync.mkdirSync(path.dirname(file), { recursive: true });
    fsSync.writeFileSync(tmp, data, { mode: 0o600 });
  }
  fsSync.renameSync(tmp, file);
}

/** A directory's entries; none if there is no such directory. */
export function listDir(dir: string): string[] {
  try {
    return fsSync.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

