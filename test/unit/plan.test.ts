// runSteps: steps in order, overlapping ones beside the next, and on failure
// every finished step undone in reverse - including overlapping ones that
// were still running when another step failed.
import { describe, expect, test } from 'vitest';
import { runSteps, type Step } from '../../src/docker/plan.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const log: string[] = [];
  const step = (name: string, o: { ms?: number; fail?: boolean; overlap?: boolean } = {}): Step => ({
    title: name,
    ...(o.overlap && { overlap: true }),
    do: async () => {
      log.push(`start ${name}`);
      await tick(o.ms ?? 0);
      if (o.fail) throw new Error(`${name} failed`);
      log.push(`end ${name}`);
    },
    undo: async () => {
      log.push(`undo ${name}`);
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
    await runSteps([step('a', { overlap: true }), step('b')], (s) => { seen.push(s.title); }, true);
    expect(seen).toEqual(['a', 'b']);
    expect(log).toEqual([]);
  });
});
