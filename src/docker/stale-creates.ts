// Creates whose process died halfway (creating/<name>, its pid and start
// time) are undone by the next command that holds the lock, through the
// removal path. Cheap when there is none: one readdir of an empty directory.
import type { Context } from './context.js';
import { processAlive } from './proc.js';
import { removeDamaged } from './remove-damaged.js';
import { readableNetworks } from './repair.js';
import type { SandboxRecord, State } from './types.js';

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
