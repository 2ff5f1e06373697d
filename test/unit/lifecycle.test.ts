// The pure parts of start/stop/kill/wait/logs: signal names as Docker takes
// them, the exit file's reading, and --tail.
import { describe, expect, test } from 'vitest';
import { parseSignal } from '../../src/docker/signals.js';
import { tailLines } from '../../src/docker/lifecycle.js';
import { parseExitFile } from '../../src/docker/process.js';

describe('parseSignal', () => {
  test.each([
    ['KILL', 'KILL', 9], ['SIGKILL', 'KILL', 9], ['kill', 'KILL', 9], ['sigterm', 'TERM', 15], ['USR1', 'USR1', 10],
    ['HUP', 'HUP', 1], ['9', 'KILL', 9], ['15', 'TERM', 15], ['1', 'HUP', 1], ['40', '40', 40],
  ])('%s is SIG%s (%i)', (raw, name, number) => {
    expect(parseSignal(raw)).toEqual({ name, number });
  });
  test.each(['0', '65', 'NOPE', 'SIG', '', '-9', 'SIGSIGKILL'])('%j is refused as Docker refuses it', (raw) => {
    expect(() => parseSignal(raw)).toThrow(`Invalid signal: ${raw}`);
  });
});

describe('parseExitFile', () => {
  test('the status of the run it names', () => {
    expect(parseExitFile('{"pid":42,"exitCode":143,"signal":15}\n', 42)).toEqual({ exitCode: 143, signal: 15 });
    expect(parseExitFile('{"pid":42,"exitCode":3}\n', 42)).toEqual({ exitCode: 3 });
  });
  test("an earlier run's file, or a broken one, says nothing", () => {
    expect(parseExitFile('{"pid":41,"exitCode":0}', 42)).toBeUndefined();
    expect(parseExitFile('{"pid":42,"exitCode":"0"}', 42)).toBeUndefined();
    expect(parseExitFile('{"pid":42,', 42)).toBeUndefined();
    expect(parseExitFile('', 42)).toBeUndefined();
    expect(parseExitFile('{"pid":42,"exitCode":1}', undefined)).toBeUndefined();
  });
});

describe('tailLines (logs --tail)', () => {
  test.each([
    ['a\nb\nc\n', 1, 'c\n'],
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc\n', 3, 'a\nb\nc\n'],
    ['a\nb\nc\n', 10, 'a\nb\nc\n'],
    ['a\nb\nc', 1, 'c'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\n', 0, ''],
    ['', 3, ''],
    ['\n\n', 1, '\n'],
  ])('%j, last %i: %j', (text, n, want) => {
    expect(tailLines(text, n)).toBe(want);
  });
});
