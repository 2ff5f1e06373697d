// CLI output: Docker's table alignment, JSON shapes, IDs and when to colour.
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import {
  colors,
  displayWidth,
  inspectJson,
  jsonLines,
  paint,
  shouldColor,
  stripAnsi,
  table,
  truncateId,
} from '../../src/cli/output.js';

describe('table', () => {
  test('docker network ls, byte for byte', () => {
    const rows = [
      ['7fca4eb8c647', 'bridge', 'bridge', 'local'],
      ['9f904ee27bf5', 'none', 'null', 'local'],
      ['cf03ee007fb4', 'host', 'host', 'local'],
    ];
    expect(table(rows, ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'])).toBe(
      [
        'NETWORK ID     NAME      DRIVER    SCOPE',
        '7fca4eb8c647   bridge    bridge    local',
        '9f904ee27bf5   none      null      local',
        'cf03ee007fb4   host      host      local',
      ].join('\n'),
    );
  });

  test('wide cells push their column; three spaces after the widest cell', () => {
    const rows = [
      ['0123456789ab', 'a-rather-long-network-name', 'bridge', 'local'],
      ['ba9876543210', 'x', 'bridge', 'local'],
    ];
    expect(table(rows, ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'])).toBe(
      [
        'NETWORK ID     NAME                         DRIVER    SCOPE',
        '0123456789ab   a-rather-long-network-name   bridge    local',
        'ba9876543210   x                            bridge    local',
      ].join('\n'),
    );
  });

  test('headers only, no trailing spaces from empty last cells, short rows', () => {
    expect(table([], ['CONTAINER ID', 'NAME'])).toBe('CONTAINER ID   NAME');
    // Docker's minimum column width is 10: 'ID' + 8 spaces.
    expect(table([['abc', '']], ['ID', 'NAME'])).toBe(`ID${' '.repeat(8)}NAME\nabc`);
    expect(table([['abc']], ['ID', 'NAME', 'X'])).toBe(`ID${' '.repeat(8)}NAME${' '.repeat(6)}X\nabc`);
    expect(table([], [])).toBe('');
  });

  test('colour escapes take no width', () => {
    const red = colors(true).red;
    expect(table([[red('up'), 'web']], ['STATUS', 'NAME'])).toBe(`STATUS    NAME\n${red('up')}        web`);
  });
});

describe('ids and json', () => {
  test('truncateId: 12 characters unless --no-trunc', () => {
    const id = '0123456789abcdef'.repeat(4);
    expect(truncateId(id, false)).toBe('0123456789ab');
    expect(truncateId(id)).toBe('0123456789ab');
    expect(truncateId(id, true)).toBe(id);
    expect(truncateId('abc', false)).toBe('abc');
  });
  test('jsonLines: one compact object per line', () => {
    expect(jsonLines([{ Name: 'a' }, { Name: 'b' }])).toBe('{"Name":"a"}\n{"Name":"b"}');
    expect(jsonLines([])).toBe('');
  });
  test('inspectJson: 4-space indented array, [] when empty', () => {
    expect(inspectJson([{ Name: 'a' }])).toBe('[\n    {\n        "Name": "a"\n    }\n]');
    expect(inspectJson([])).toBe('[]');
  });
});

describe('colour', () => {
  const tty = { isTTY: true };

  test('only on a TTY', () => {
    expect(shouldColor(tty, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor({}, {})).toBe(false);
  });
  test('NO_COLOR set to anything non-empty turns it off; empty does not', () => {
    expect(shouldColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '0' })).toBe(false);
    expect(shouldColor(tty, { NO_COLOR: '' })).toBe(true);
    expect(shouldColor(tty, { NO_COLOR: undefined })).toBe(true);
  });
  test('TERM=dumb turns it off', () => {
    expect(shouldColor(tty, { TERM: 'dumb' })).toBe(false);
    expect(shouldColor(tty, { TERM: 'xterm-256color' })).toBe(true);
  });
  test('helpers paint only when enabled', () => {
    expect(colors(true).red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(colors(true).bold('x')).toBe('\x1b[1mx\x1b[22m');
    expect(colors(false).red('x')).toBe('x');
    expect(paint('green', 'ok', true)).toBe('\x1b[32mok\x1b[39m');
    expect(paint('green', 'ok', false)).toBe('ok');
  });
  test('stripAnsi and displayWidth', () => {
    const s = colors(true).cyan(colors(true).bold('héllo'));
    expect(stripAnsi(s)).toBe('héllo');
    expect(displayWidth(s)).toBe(5);
  });
});

test('docs/cli.md is generated from the command table (npm run docs:cli)', async () => {
  const { readFileSync } = await import('node:fs');
  const { cliMarkdown } = await import('../../src/cli/help.js');
  expect(readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')).toBe(cliMarkdown());
});

describe('writing to fd 1 and 2 (no streams)', () => {
  const bin = new URL('../../bin/nsnet.js', import.meta.url).pathname;
  const run = (stdout: 'pipe' | 'closed') => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // A reader that went away before nsnet wrote: its write fails with EPIPE.
    if (stdout === 'closed') child.stdout.destroy();
    else child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
  });
  test('everything reaches a pipe', async () => {
    const r = await run('pipe');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage:');
    expect(r.out.endsWith('\n')).toBe(true);
  });
  test('a reader that stopped early is not an error (`nsnet ps | head`)', async () => {
    const r = await run('closed');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
  });
});

test('bin/nsnet.js: the core bundle for everyday commands, the full one for compose, graph, tour and dns', async () => {
  const bin = new URL('../../bin/nsnet.js', import.meta.url).pathname;
  // The bundle is a child module of bin/nsnet.js (new Module(file, module) there).
  const loaded = (args: string[]) => new Promise<string>((resolve) => {
    const child = spawn(process.execPath, ['-e', `process.argv.splice(1, 0, ${JSON.stringify(bin)}); process.on('exit', () => require('fs').writeSync(2, '\\nLOADED ' + require.cache[${JSON.stringify(bin)}].children.map((c) => c.id).join(' ') + '\\n')); require(${JSON.stringify(bin)})`, '--', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', () => resolve(err.slice(err.lastIndexOf('LOADED '))));
  });
  expect(await loaded(['--version'])).toMatch(/nsnet-core\.cjs/);
  expect(await loaded(['compose', '--help'])).toMatch(/dist\/cli\/nsnet\.cjs/);
  expect(await loaded(['graph', '--help'])).toMatch(/dist\/cli\/nsnet\.cjs/);
});
