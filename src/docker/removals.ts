// Removals that answer before their slowest kernel work is done, in a
// process that lives on (the CNI server, ctx.deferRemovals): a CNI DEL
// answers once the state says the attachment is gone; the veth is deleted
// and the published ports' DNAT elements removed after (the kernel waits
// there for an RCU grace period, and nftables behind it: over half of a
// DEL's time). What keeps that safe:
//
//   in the removal's locked section   the record goes (its name is free), the
//                                     DNS server lets go, and a pending removal
//                                     is written (state/removals.ts) holding
//                                     its addresses and host ports: no one gets
//                                     them while the old veth and DNAT
//                                     elements still use them
//   after the answer (finish)         the deferred undos run; then, locked, the
//                                     addresses and ports are given back and
//                                     the entry dropped
//   a later ADD in this process       waits for the removals in flight
//                                     (removalsSettled), so an ADD right after a
//                                     DEL of the same container, static address
//                                     or host port finds them done
//   the process killed meanwhile      the entry stays; the next locked section
//                                     of any nsnet process (usingState) finds
//                                     its owner gone and does the work itself
//                                     (finishPendingRemovals), as for creates
//                                     (stale-creates.ts); the CNI server does
//                                     so as it starts
//
// The deferred work is the plan's own undos (plan.ts `deferrable`), so
// `rm --dry-run` and NSNET_TRACE show it as before.
//
//   ls /run/nsnet/removing/         pending removals (empty when none)
import type { Context } from './context.js';
import { processAlive, processStart } from './proc.js';
import { attemptAll, removalOf, type Action } from './plan.js';
import type { SandboxRecord, State } from './types.js';

/** This process's removals whose deferred work runs now, by sandbox id. */
const inFlight = new Map<string, Promise<void>>();
/** The same, by the context they work in (which must stay open until they are done). */
const byContext = new WeakMap<Context, Promise<void>[]>();

/** The owner a pending removal names: this process. */
export function thisProcess(): { pid: number; start: string } {
  return { pid: process.pid, start: processStart(process.pid) ?? '0' };
}

/**
 * Resolves when the removals this process has in flight now are done (at
 * once when there are none; later ones are not waited for, so a stream of
 * DELs cannot hold an ADD back); `all`: until none is left (a process
 * about to exit). Returns how many there were.
 */
export async function removalsSettled(o: { all?: boolean } = {}): Promise<number> {
  const n = inFlight.size;
  await Promise.all(inFlight.values());
  if (o.all) while (inFlight.size) await Promise.all(inFlight.values());
  return n;
}

/** Whether this process has removals in flight. */
export function removalsInFlight(): boolean {
  return inFlight.size > 0;
}

/** The deferred work running in `ctx` (its host namespace), to close it after; undefined when none. */
export function workIn(ctx: Context): Promise<unknown> | undefined {
  const w = byContext.get(ctx);
  return w?.length ? Promise.all(w) : undefined;
}

/** Gives back what a pending removal held (its addresses and host ports) and drops it: the end of every removal, deferred or finished by another process. */
async function settle(s: State, id: string): Promise<void> {
  const r = await s.removing.get(id);
  if (!r) return; // finished by another process already
  const { releaseHeld } = await import('./sandboxes.js');
  await releaseHeld(s, r.record);
  s.removing.drop(id);
}

/**
 * Runs a removal's deferred undos now, after its locked section committed,
 * then settles it under the lock. Never rejects: a failure is said
 * (ctx.warn) and the entry stays for the next locked section to try again.
 */
export function finishLater(ctx: Context, sb: SandboxRecord, undos: Action[]): void {
  const work = (async () => {
    const errors = await attemptAll(undos, {});
    if (errors.length) {
      ctx.warn(`nsnet: removing sandbox ${sb.name}: ${errors.map((e) => e.message).join('; ')} (left for the next operation to finish)`);
      return;
    }
    const { usingState } = await import('./networks.js');
    await usingState(ctx, (s) => settle(s, sb.id), { checkTables: false });
  })().catch((e: unknown) => ctx.warn(`nsnet: removing sandbox ${sb.name}: ${(e as Error).message} (left for the next operation to finish)`))
    .finally(() => inFlight.delete(sb.id));
  inFlight.set(sb.id, work);
  byContext.set(ctx, [...(byContext.get(ctx) ?? []), work]);
}

/**
 * Finishes the pending removals no live process is working on (its owner
 * died, or it is this process's and its work failed): runs their deferred
 * undos, rebuilt from the record's plan, and gives back their addresses.
 * Called in every locked section (usingState); one readdir when there is
 * none. Returns what it did, for the caller's warning.
 */
export async function finishPendingRemovals(ctx: Context, s: State): Promise<string[]> {
  const ids = s.removing.ids().filter((id) => !inFlight.has(id));
  if (!ids.length) return [];
  const done: string[] = [];
  for (const id of ids) {
    const r = await s.removing.get(id);
    if (!r) {
      // Unreadable: what it held cannot be known (nsnet system reconcile rebuilds the bitmaps from the records).
      ctx.warn(`nsnet: ${ctx.dirs.runDir}/removing/${id}.json cannot be read; dropped it`);
      s.removing.drop(id);
      continue;
    }
    const mine = r.owner.pid === process.pid;
    if (!mine && processAlive(r.owner.pid, r.owner.start)) continue;
    const { sandboxSteps } = await import('./sandboxes.js');
    const { sandboxNs } = await import('./namespace.js');
    const { readableNetworks } = await import('./repair.js');
    const ns = sandboxNs(r.record);
    try {
      const undos = removalOf(sandboxSteps(ctx, r.record, { networks: readableNetworks(ctx, s), ns })).filter((u) => u.deferrable);
      const errors = await attemptAll(undos, { observe: ctx.observe });
      if (errors.length) {
        ctx.warn(`nsnet: finishing the removal of sandbox ${r.record.name}: ${errors.map((e) => e.message).join('; ')}`);
        continue;
      }
    } finally {
      await ns?.close();
    }
    await settle(s, id);
    done.push(`finished the removal of sandbox ${r.record.name}, ${mine ? 'whose work had failed' : `left by process ${r.owner.pid}, which is gone`}`);
  }
  return done;
}
