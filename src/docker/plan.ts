// Running a list of setup steps so that a failure halfway undoes what was
// done: each step is a do/undo pair, written next to each other; if step k
// fails, steps k-1..1 are undone in reverse; teardown never stops early and
// treats "already gone" as success (netavark's setup/teardown, moby's
// Modifier.Reverse).
import { isNotFound } from '../kernel/errors.js';

export interface Step {
  /** What the step does, in words ("creating veth veth1a2b3c4"). */
  title: string;
  /** The equivalent shell commands (`ip ...`, `nft ...`), for traces and --dry-run. */
  equivalent?: string[];
  do: () => Promise<void>;
  /** Undoes `do`; absent when undoing something else already removes it. */
  undo?: () => Promise<void>;
  /**
   * Started in its turn but not waited for: the steps after it run beside
   * it, and runSteps waits for it before returning. For work that needs
   * nothing from the steps before it (looking up the bridge while the
   * namespace is made); a later step that needs its result waits for that.
   */
  overlap?: boolean;
}

/** Observes each step before it runs (NSNET_TRACE, tests that inject a fault). */
export type StepObserver = (step: Step) => void | Promise<void>;

/**
 * Runs `steps` in order (overlapping ones beside the next); on failure, waits
 * for those still running, undoes the finished ones in reverse and rethrows.
 */
export async function runSteps(steps: Step[], observe?: StepObserver, dryRun = false): Promise<void> {
  const done: Step[] = [];
  const running: Promise<void>[] = [];
  let failed: { error: unknown } | undefined;
  try {
    for (const step of steps) {
      if (failed) throw failed.error;
      await observe?.(step);
      if (dryRun) continue;
      if (step.overlap) {
        running.push(step.do().then(() => { done.push(step); }, (error: unknown) => {
          failed ??= { error };
        }));
        continue;
      }
      await step.do();
      done.push(step);
    }
    await Promise.all(running);
    if (failed) throw failed.error;
  } catch (e) {
    await Promise.all(running); // never rejects: failures are caught into `failed`
    const undoErrors = await undoSteps(done);
    if (undoErrors.length && e instanceof Error) {
      e.message += `\n(cleaning up also failed: ${undoErrors.map((u) => u.message).join('; ')})`;
    }
    throw e;
  }
}

/** Undoes steps in reverse order, every one of them; returns the failures (not-found is success). */
export async function undoSteps(steps: Step[]): Promise<Error[]> {
  const errors: Error[] = [];
  for (const step of [...steps].reverse()) {
    if (!step.undo) continue;
    try {
      await step.undo();
    } catch (e) {
      if (!isNotFound(e)) errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  return errors;
}

/** Runs every teardown action even when some fail; throws an AggregateError at the end if any did. */
export async function teardown(actions: { title: string; run: () => Promise<void> }[]): Promise<void> {
  const errors: Error[] = [];
  for (const a of actions) {
    try {
      await a.run();
    } catch (e) {
      if (!isNotFound(e)) errors.push(e instanceof Error ? e : new Error(`${a.title}: ${String(e)}`));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}
