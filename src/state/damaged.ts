// A state file nsnet cannot use as it is: cut short, empty, binary, wrongly
// shaped, or missing while other files say it should exist. Reported by path,
// with what is wrong and how to get out of it; never silently reset.
import { renameSync } from 'node:fs';

export class DamagedStateError extends Error {
  override name = 'DamagedStateError';
  /** One error kind for the CLI (src/cli/main.ts): shown as one clean line. */
  readonly kind = 'DamagedState' as const;

  constructor(readonly path: string, readonly problem: string, readonly hint: string) {
    super(`${path}: ${problem}; ${hint}`);
  }
}

export const isDamaged = (e: unknown): e is DamagedStateError => e instanceof DamagedStateError;

export const RECONCILE_HINT = 'run "nsnet system reconcile" to rebuild it from the kernel and the sandbox records';

/** Where a damaged file is kept when something replaces it: <file>.damaged-<UTC time>. */
export function damagedCopyName(file: string, now = new Date()): string {
  return `${file}.damaged-${now.toISOString().replace(/[:.]/g, '').replace(/-/g, '')}`;
}

/** Renames a damaged file out of the way (keeping it); returns its new name, or undefined if it was gone. */
export function keepDamaged(file: string, to = damagedCopyName(file)): string | undefined {
  try {
    renameSync(file, to);
    return to;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
