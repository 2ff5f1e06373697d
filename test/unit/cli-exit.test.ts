// The CLI's exit codes for what needs no kernel: usage errors are nsnet's own
// errors (125, as Docker), help and version are not errors at all.
import { expect, test } from 'vitest';
import { EXIT_CANNOT_INVOKE, EXIT_ERROR, EXIT_NOT_FOUND, main } from '../../src/cli/main.js';
import { runExitCode } from '../../src/cli/run.js';
import { NsnetError } from '../../src/docker/errors.js';

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env: {}, stdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test.each([
  [['--bogus'], 'unknown flag: --bogus'],
  [['bogus'], 'unknown command "bogus"'],
  [['network', 'create'], '"nsnet network create" requires exactly 1 argument.'],
  [['run', '--publish'], 'flag needs an argument'],
  [['create', '--add-host', 'db'], 'invalid argument "db" for "--add-host" flag'],
])('usage error %j: 125', async (argv, message) => {
  const r = await cli(argv);
  expect(r.code).toBe(125);
  expect(r.err).toContain(message);
});

test.each([[['--help']], [['network', 'create', '--help']], [['--version']], [['version']]])('%j: 0', async (argv) => {
  expect((await cli(argv)).code).toBe(0);
});

test('the codes, as Docker has them', () => {
  expect([EXIT_ERROR, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND]).toEqual([125, 126, 127]);
  for (const kind of ['InvalidArgument', 'NotFound', 'Conflict', 'Unavailable', 'Internal'] as const) {
    expect(new NsnetError(kind, 'x').exitCode, kind).toBe(125);
  }
});

test('run/exec: 127 not found, 126 cannot invoke, 125 anything else', () => {
  const sys = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall });
  expect(runExitCode(new NsnetError('InvalidArgument', 'exec: "x": executable file not found in $PATH'))).toBe(127);
  expect(runExitCode(sys('ENOENT', 'execve'))).toBe(127);
  expect(runExitCode(sys('EACCES', 'execve'))).toBe(126);
  expect(runExitCode(sys('ENOEXEC', 'execve'))).toBe(126);
  // EACCES elsewhere (a state file, the lock) is nsnet's own failure, not the command's.
  expect(runExitCode(sys('EACCES', 'open'))).toBe(125);
  expect(runExitCode(new NsnetError('NotFound', 'No such sandbox: x'))).toBe(125);
});
