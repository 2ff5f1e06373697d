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
}

/** Observes each step before it runs (NSNET_TRACE, tests that inject a fault). */
export type StepObserver = (step: Step) => void | Promise<void>;

/** Runs `steps` in order; on failure, undoes the finished ones in reverse and rethrows. */
export async function runSteps(steps: Step[], observe?: StepObserver, dryRun = false): Promise<void> {
  const done: Step[] = [];
  try {
    for (const step of steps) {
      await observe?.(step);
      if (dryRun) continue;
      await step.do();
      done.push(step);
    }
  } catch (e) {
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
