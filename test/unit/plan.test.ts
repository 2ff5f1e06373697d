// runSteps: steps in order, overlapping ones beside the next, and on failure
// every finished step undone in reverse - including overlapping ones that
// were still running when another step failed.
import { describe, expect, test } from 'vitest';
import { removalOf, removeSteps, runSteps, type Step } from '../../src/docker/plan.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const log: string[] = [];
  const step = (name: string, o: { ms?: number; fail?: boolean; overlap?: boolean; undoFails?: 'gone' | 'error' } = {}): Step => ({
    title: name,
    equivalent: [`do ${name}`],
    ...(o.overlap && { overlap: true }),
    do: async () => {
      log.push(`start ${name}`);
      await tick(o.ms ?? 0);
      if (o.fail) throw new Error(`${name} failed`);
      log.push(`end ${name}`);
    },
    undo: {
      title: `undo ${name}`,
      equivalent: [`undo ${name}`],
      do: async () => {
        log.push(`undo ${name}`);
        if (o.undoFails) throw Object.assign(new Error(`undo ${name} failed`), o.undoFails === 'gone' ? { errno: -2, code: 'ENOENT' } : {});
      },
    },
  });
  return { log, step };
}

describe('runSteps', () => {
  test('an overlapping step runs beside the next one, and is waited for', async () => {
    const { log, step } = recorder();
    await runSteps([step('a', { ms: 30, overlap: true }), step('b', { ms: 5 })]);
    expect(log).toEqual(['start a', 'start b', 'end b', 'end a']);
  });

  test('a failing step undoes the finished ones in reverse, after the overlapping ones settle', async () => {
    const { log, step } = recorder();
    await expect(runSteps([step('a'), step('slow', { ms: 30, overlap: true }), step('b', { fail: true })])).rejects.toThrow('b failed');
    // "slow" was still running when b failed: it is waited for, then undone too.
    expect(log).toEqual(['start a', 'end a', 'start slow', 'start b', 'end slow', 'undo slow', 'undo a']);
  });

  test('a failing overlapping step stops the sequence and undoes the rest', async () => {
    const { log, step } = recorder();
    await expect(runSteps([
      step('a'), step('bad', { overlap: true, fail: true }), step('b', { ms: 10 }), step('c'),
    ])).rejects.toThrow('bad failed');
    expect(log).toEqual(['start a', 'end a', 'start bad', 'start b', 'end b', 'undo b', 'undo a']);
  });

  test('a dry run observes every step in order and runs none', async () => {
    const { log, step } = recorder();
    const seen: string[] = [];
    await runSteps([step('a', { overlap: true }), step('b')], { observe: (s) => { seen.push(s.title); }, dryRun: true });
    expect(seen).toEqual(['a', 'b']);
    expect(log).toEqual([]);
  });

  test('the removal of a plan is its undos in reverse, each run even when one fails; not-found is success', async () => {
    const { log, step } = recorder();
    const plan = [step('a'), step('b', { undoFails: 'error' }), step('c', { undoFails: 'gone' }), { title: 'read', equivalent: [], do: async () => {} }];
    expect(removalOf(plan).map((u) => u.title)).toEqual(['undo c', 'undo b', 'undo a']);
    await expect(removeSteps(plan)).rejects.toThrow('undo b failed');
    expect(log).toEqual(['undo c', 'undo b', 'undo a']);
  });

  test('a dry-run removal observes the undos and runs none', async () => {
    const { log, step } = recorder();
    const seen: string[] = [];
    await removeSteps([step('a'), step('b')], { observe: (s) => { seen.push(...s.equivalent); }, dryRun: true });
    expect(seen).toEqual(['undo b', 'undo a']);
    expect(log).toEqual([]);
  });
});
