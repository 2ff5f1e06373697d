// `nsnet rm`: removing sandboxes. What a removal does to the kernel is never
// written here: it is the undo of each step that made the sandbox (its
// mode's steps, its log file's, and the start of its process if it runs), in reverse
// (sandboxSteps + removeSteps), so `rm --dry-run` prints exactly that.
// In a process that lives on (ctx.deferRemovals: the CNI server), the
// undos that may run after the answer (a CNI attachment's veth) do, and the
// addresses stay claimed until they are done (removals.ts).
import path from 'node:path';
import { DamagedStateError, isDamaged } from '../state/damaged.js';
import { recordHint, type DamagedRecord } from '../state/sandbox-records.js';
import type { Context } from './context.js';
import { conflict, forEachRef, NsnetError } from './errors.js';
import { findSandbox } from './lookup.js';
import { sandboxNs } from './namespace.js';
import { usingState } from './networks.js';
import { overlayLeaving } from './overlay-endpoint.js';
import { removeSteps, type Action } from './plan.js';
import { finishLater, thisProcess } from './removals.js';
import { isRunning, processFilesSteps, startStep } from './process.js';
import { removeDamaged } from './remove-damaged.js';
import { readableNetworks } from './repair.js';
import { releaseClaims, sandboxSteps } from './sandboxes.js';
import type { SandboxRecord, State } from './types.js';

/**
 * The sandbox `ref` names, or - by name - what is known of it when its record
 * is damaged, or gone while the id index still names it (looked for only with
 * --force, after the usual lookups found nothing).
 */
async function findForRemoval(s: State, ref: string, force: boolean): Promise<{ sb: SandboxRecord } | { damaged: DamagedRecord }> {
  const name = ref.replace(/^\//, '');
  const peek = await s.sandboxes.peek(name);
  if (peek && 'damaged' in peek) return peek;
  try {
    return { sb: await findSandbox(s, ref) };
  } catch (e) {
    if (isDamaged(e)) {
      // Found by id, through the index, to a damaged record.
      const d = await s.sandboxes.peek(path.basename(e.path, '.json'));
      if (d && 'damaged' in d) return d;
    }
    if (!force || !(e instanceof NsnetError && e.kind === 'NotFound')) throw e;
    const orphan = (await s.sandboxes.scan()).damaged.find((d) => d.name === name || (d.id && d.id.startsWith(name)));
    if (orphan) return { damaged: orphan };
    throw e;
  }
}

/** `nsnet rm`: removes sandboxes; a running one only with force (its processes are killed). */
export async function sandboxRemove(ctx: Context, refs: string[], o: {
  force?: boolean;
  /** Removes a readable record only if it passes (in the same locked section that removes it): else leaves it, as if not found. */
  only?: (sb: SandboxRecord) => boolean;
} = {}): Promise<string[]> {
  const removed: string[] = [];
  // The DNS server lets go of each sandbox while its removal runs (the undo of its attach step).
  const released: string[] = [];
  const heard: Promise<boolean>[] = [];
  const dnsReleased = (ids: string[], p: Promise<boolean>) => {
    released.push(...ids);
    heard.push(p);
  };
  try {
    return await forEachRef(refs, async (ref) => {
      // Undos left to run after the state is committed (ctx.deferRemovals), and whose.
      let later: { sb: SandboxRecord; undos: Action[] } | undefined;
      await usingState(ctx, async (s) => {
        const found = await findForRemoval(s, ref, !!o.force);
        if ('damaged' in found) {
          if (!o.force) throw new DamagedStateError(found.damaged.path, found.damaged.problem, recordHint(found.damaged.name));
          const id = await removeDamaged(ctx, s, found.damaged);
          if (id) removed.push(id);
          return;
        }
        const sb = found.sb;
        if (o.only && !o.only(sb)) return;
        const running = isRunning(sb);
        if (running && !o.force) {
          throw conflict(`You cannot remove a running sandbox ${sb.id}. Stop the sandbox before attempting removal or force remove`);
        }
        const joiners = [];
        for (const id of sb.joinedBy ?? []) {
          const j = await s.sandboxes.byId(id);
          if (j) joiners.push(j);
        }
        if (joiners.length && !o.force) {
          throw conflict(`sandbox ${sb.name} is used by ${joiners.map((j) => j.name).join(', ')} (container: mode); remove those first or force remove`);
        }
        const ns = sandboxNs(sb);
        const undos: Action[] = [];
        // Overlay networks it is the last sandbox of here: their bridge and vxlan device go too.
        const overlay = overlayLeaving(ctx, sb);
        await removeSteps([
          ...sandboxSteps(ctx, sb, { networks: readableNetworks(ctx, s), ns, dnsReleased, overlayLast: overlay.last }),
          ...processFilesSteps(ctx, sb),
          ...(running ? [startStep(sb, sb.command ?? [], undefined, {})] : []),
        ], { observe: ctx.observe, dryRun: ctx.dryRun, ...(ctx.deferRemovals && { defer: (u: Action) => undos.push(u) }) });
        // In a dry run these are not written (usingState), unless to a scratch state.
        overlay.commit();
        await releaseClaims(s, sb, { pending: undos.length > 0 });
        // Its addresses and host ports are held by the pending removal until its deferred undos are done.
        if (undos.length) {
          s.removing.put({ record: sb, owner: thisProcess() });
          later = { sb, undos };
        }
        s.sandboxes.delete(sb);
        removed.push(sb.id, ...(sb.joinedBy ?? []));
      });
      // Committed: the rest runs after the caller has its answer.
      if (later) finishLater(ctx, later.sb, later.undos);
    });
  } finally {
    // The DNS server let go of removed sandboxes' sockets (which keep their namespaces alive).
    // Released but not removed (the removal failed): it takes them back from the state.
    const ok = (await Promise.all(heard)).every(Boolean);
    const again = ok ? released.filter((id) => !removed.includes(id)) : [...new Set([...removed, ...released])];
    const sync = heard.length ? again : removed;
    if (sync.length && !ctx.dryRun) await ctx.dns?.sync(false, sync);
  }
}
