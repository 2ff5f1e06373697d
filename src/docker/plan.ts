// Plans: every change nsnet makes to the system is a list of steps, each a
// do/undo pair written next to each other with the shell commands that do
// the same (`ip ...`, `nft ...`). This file is the only code that executes,
// undoes or prints a plan:
//
//   runSteps(plan, runner)      does the steps in order; if step k fails,
//                               undoes k-1..1 in reverse and rethrows
//   removeSteps(plan, runner)   the removal: each step's undo, in reverse,
//                               every one even if some fail ("already gone"
//                               is success) - derived, never written again;
//                               with `runner.defer`, the undos marked
//                               `deferrable` are handed to it instead of run
//                               (a long-lived process runs them after it
//                               answered: docker/removals.ts)
//
// With `runner.dryRun` nothing is done: each step (or undo) is only shown to
// `runner.observe`, which --dry-run and NSNET_TRACE=1 both print the same way,
// so the plan printed and the run traced are the same lines.
// (netavark's setup/teardown, moby's Modifier.Reverse.)
import { isNotFound } from '../kernel/errors.js';

/** One change, in words, in shell commands, and in code. */
export interface Action {
  /** What it does, in words ("creating veth veth1a2b3c4"). */
  title: string;
  /** The shell commands that do the same (`ip ...`, `nft ...`), from the code that builds the kernel call. */
  equivalent: string[];
  do: () => Promise<void>;
  /**
   * Started in its turn but not waited for: the steps after it run beside
   * it, and the runner waits for it before returning. For work that needs
   * nothing from the steps before it; a later step that needs its result
   * waits for that itself.
   */
  overlap?: boolean;
  /**
   * An undo that may run after the removal has answered, in a process that
   * lives on (the CNI server: runner.defer): nothing else of the removal needs
   * it done, and what it frees stays claimed in the state until it is
   * (docker/removals.ts). A veth's deletion: the kernel waits there for an
   * RCU grace period, the longest part of removing a CNI attachment.
   */
  deferrable?: boolean;
}

export interface Step extends Action {
  /**
   * What takes it away: run in reverse when a later step fails, and, for
   * every step of a plan, its removal (removeSteps). Absent when nothing
   * must be undone (a read, a sysctl) or undoing another step removes it
   * too (a veth goes with its namespace).
   */
  undo?: Action;
}

/** Sees each step or undo before it runs (--dry-run and NSNET_TRACE print it; tests inject faults). */
export type StepObserver = (step: Action) => void | Promise<void>;

/** How a plan is run: shown to `observe`, and carried out unless `dryRun`. */
export interface Runner {
  observe?: StepObserver | undefined;
  dryRun?: boolean | undefined;
  /** Takes the `deferrable` undos of a removal, shown to `observe` but not run (absent: they run in their turn). */
  defer?: ((undo: Action) => void) | undefined;
}

/**
 * Runs `steps` in order (overlapping ones beside the next); on failure, waits
 * for those still running, undoes the finished ones in reverse and rethrows.
 */
export async function runSteps(steps: Step[], runner: Runner = {}): Promise<void> {
  const done: Step[] = [];
  const running: Promise<void>[] = [];
  let failed: { error: unknown } | undefined;
  try {
    for (const step of steps) {
      if (failed) throw failed.error;
      await runner.observe?.(step);
      if (runner.dryRun) continue;
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
    const undoErrors = await attemptAll(removalOf(done), { observe: runner.observe });
    if (undoErrors.length && e instanceof Error) {
      e.message += `\n(cleaning up also failed: ${undoErrors.map((u) => u.message).join('; ')})`;
    }
    throw e;
  }
}

/** The plan that removes what `steps` made: their undos, in reverse. */
export function removalOf(steps: Step[]): Action[] {
  return steps.flatMap((s) => (s.undo ? [s.undo] : [])).reverse();
}

/**
 * Removes what `steps` made (their undos in reverse), every one even if some
 * fail; throws at the end if any did (an AggregateError for several).
 */
export async function removeSteps(steps: Step[], runner: Runner = {}): Promise<void> {
  return runRemoval(removalOf(steps), runner);
}

/**
 * Runs a removal: each action in order, every one even if some fail (a
 * not-found is success); throws at the end if any did. For removals that
 * are not the undo of a known plan (a damaged record's leftovers).
 */
export async function runRemoval(removal: Action[], runner: Runner = {}): Promise<void> {
  const errors = await attemptAll(removal, runner);
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}

/** Runs every action even if some fail; returns the failures (a not-found is success). */
export async function attemptAll(removal: Action[], runner: Runner): Promise<Error[]> {
  const errors: Error[] = [];
  const running: Promise<void>[] = [];
  const failed = (undo: Action) => (e: unknown) => {
    if (!isNotFound(e)) errors.push(e instanceof Error ? e : new Error(`${undo.title}: ${String(e)}`));
  };
  for (const undo of removal) {
    await runner.observe?.(undo);
    if (runner.dryRun) continue;
    if (undo.deferrable && runner.defer) {
      runner.defer(undo);
      continue;
    }
    if (undo.overlap) running.push(undo.do().catch(failed(undo)));
    else await undo.do().catch(failed(undo));
  }
  await Promise.all(running);
  return errors;
}
