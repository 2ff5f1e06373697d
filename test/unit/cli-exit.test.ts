// The CLI's exit codes for what needs no kernel, as Docker's CLI has them
// (cmd/docker/docker.go: an error exits 1 unless it carries a status):
// a flag nsnet cannot parse is 125 (cli/cobra.go FlagErrorFunc), a wrong
// number of arguments or an unknown command 1 (plain errors in cli/required.go),
// compose 1 for everything (docker/compose cmd/main.go); help and version 0.
import { expect, test } from 'vitest';
import { EXIT_CANNOT_INVOKE, EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_USAGE, main } from '../../src/cli/main.js';
import { execExitCode, runExitCode } from '../../src/cli/run.js';
import { createExitCode } from '../../src/cli/sandbox.js';
import { NsnetError } from '../../src/docker/errors.js';

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env: {}, stdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test.each([
  // [argv, Docker's code, message]
  [['--bogus'], 125, 'unknown flag: --bogus'],
  [['ps', '--bogus'], 125, 'unknown flag: --bogus'],
  [['run', '--publish'], 125, 'flag needs an argument'],
  [['create', '--add-host', 'db'], 125, 'invalid argument "db" for "--add-host" flag'],
  [['stop', '-t', 'x', 'a'], 125, 'invalid argument "x"'],
  [['bogus'], 1, 'unknown command "bogus"'],
  [['network', 'bogus'], 1, 'unknown command "bogus" for "nsnet network"'],
  [['network', 'create'], 1, '"nsnet network create" requires exactly 1 argument.'],
  [['rm'], 1, '"nsnet rm" requires at least 1 argument.'],
  [['run'], 1, '"nsnet run" requires at least 1 argument.'],
  [['help', 'bogus'], 1, 'unknown help topic "bogus"'],
  [['compose', '--bogus', 'up'], 1, 'unknown flag: --bogus'],
  [['compose', 'up', '--bogus'], 1, 'unknown flag: --bogus'],
  [['compose', 'bogus'], 1, 'unknown command "bogus"'],
])('usage error %j: %d', async (argv, code, message) => {
  const r = await cli(argv);
  expect(r.err).toContain(message);
  expect(r.code).toBe(code);
});

test.each([[['--help']], [['network', 'create', '--help']], [['--version']], [['version']]])('%j: 0', async (argv) => {
  expect((await cli(argv)).code).toBe(0);
});

test('the codes, as Docker has them', () => {
  expect([EXIT_FAILURE, EXIT_USAGE, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND]).toEqual([1, 125, 126, 127]);
});

test('run: 127 not found, 126 cannot invoke, 125 anything else; exec: the same but 1 for anything else', () => {
  const sys = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall });
  const cases: Array<[Error, number, number]> = [
    // [error, run's code, exec's code]
    [new NsnetError('InvalidArgument', 'exec: "x": executable file not found in $PATH'), 127, 127],
    [sys('ENOENT', 'execve'), 127, 127],
    [sys('EACCES', 'execve'), 126, 126],
    [sys('ENOEXEC', 'execve'), 126, 126],
    // EACCES elsewhere (a state file, the lock) is nsnet's own failure, not the command's.
    [sys('EACCES', 'open'), 125, 1],
    [new NsnetError('NotFound', 'No such sandbox: x'), 125, 1],
    [new NsnetError('NotFound', 'network nope not found'), 125, 1],
  ];
  for (const [e, run, exec] of cases) expect([runExitCode(e), execExitCode(e)], e.message).toEqual([run, exec]);
});

test.each([
  // [request, Docker's code]: 125 for what docker create's client-side parse refuses, 1 for the daemon's refusals
  [{ publish: ['99999:80'] }, 125],
  [{ expose: ['80-x'] }, 125],
  [{ mac: '02:42:zz:00:00:01' }, 125],
  [{ dns: ['not-an-ip'] }, 125],
  [{ network: 'nope' }, 1],
  [{ network: 'n1', ip: '10.99.0.5' }, 1],
  [{ name: 'taken' }, 1],
])('create failing with %j: %d', (req, code) => {
  expect(createExitCode({ aliases: [], links: [], publish: [], publishAll: false, expose: [], labels: {}, ...req })).toBe(code);
});
