// `nsnet compose`'s command line (group options before or after the
// subcommand, as `docker compose -f FILE up`) and the progress list.
import { describe, expect, test } from 'vitest';
import { flagBool, flagList, flagString, parseArgv, UsageError } from '../../src/cli/args.js';
import { helpText } from '../../src/cli/help.js';
import { renderProgress } from '../../src/cli/progress.js';

const cmd = (argv: string[]) => {
  const p = parseArgv(argv);
  if (p.kind !== 'command') throw new Error(`not a command: ${p.kind}`);
  return p;
};

describe('compose command line', () => {
  test('-f and -p before the subcommand, as docker compose takes them', () => {
    const p = cmd(['compose', '-f', 'simpleweb/docker-compose.yml', '-p', 'sw', 'up', '-d', 'apache']);
    expect(p.command).toBe('compose up');
    expect(flagList(p.flags, 'file')).toEqual(['simpleweb/docker-compose.yml']);
    expect(flagString(p.flags, 'project-name')).toBe('sw');
    expect(flagBool(p.flags, 'detach')).toBe(true);
    expect(p.args).toEqual(['apache']);
  });
  test('... and after it; the subcommand wins when both are given', () => {
    const p = cmd(['compose', '-p', 'a', 'down', '-p', 'b', '--remove-orphans']);
    expect(flagString(p.flags, 'project-name')).toBe('b');
    expect(flagBool(p.flags, 'remove-orphans')).toBe(true);
    expect(cmd(['compose', 'ps', '--format', 'json', '-q']).flags).toMatchObject({ format: 'json', quiet: true });
  });
  test('unknown subcommands and flags are usage errors', () => {
    expect(() => parseArgv(['compose', 'upp'])).toThrow(UsageError);
    expect(() => parseArgv(['compose', 'upp'])).toThrow(/unknown command "upp" for "nsnet compose"\n\nDid you mean this\?\n\tup/);
    expect(() => parseArgv(['compose', 'down', 'web'])).toThrow(/accepts no arguments/);
    expect(() => parseArgv(['compose', '--bogus', 'up'])).toThrow(/unknown flag: --bogus/);
  });
  test('help lists the subcommands and the group options', () => {
    const h = helpText('compose');
    expect(h).toMatch(/^Usage:  nsnet compose \[OPTIONS\] COMMAND/);
    for (const w of ['up', 'down', 'ps', '-f, --file', '-p, --project-name']) expect(h).toContain(w);
    expect(parseArgv(['compose', 'up', '--help'])).toMatchObject({ kind: 'help', command: 'compose up' });
  });
});

describe('progress list', () => {
  const items = [
    { kind: 'Network', name: 'sw_default', status: 'Created', done: true },
    { kind: 'Sandbox', name: 'sw_apache_1', status: 'Creating', done: false },
    { kind: 'Sandbox', name: 'sw_db_1', status: 'Error', done: true, failed: true },
  ];
  test('plain: counts, aligned names, a mark per state', () => {
    expect(renderProgress(items, 0, false)).toEqual([
      '[+] Running 2/3',
      ' ✔ Network sw_default   Created',
      ' ⠋ Sandbox sw_apache_1  Creating',
      ' ✘ Sandbox sw_db_1      Error',
    ]);
    expect(renderProgress(items, 1, false)[2]).toContain('⠙');
  });
  test('colour only when asked', () => {
    expect(renderProgress(items, 0, true).join('\n')).toContain('\x1b[32m✔\x1b[39m');
    expect(renderProgress(items, 0, false).join('\n')).not.toContain('\x1b[');
  });
});
