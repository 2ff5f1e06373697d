// The nsnet CLI: parse (args.ts), run the command's handler (dispatch.ts,
// which loads only the handler the command needs), print like Docker.
//
// Exit codes, Docker's CLI's (cmd/docker/docker.go: an error exits 1 unless it
// carries a status; docs/cli.md has the table):
//   0    success
//   1    any error of a command: not found, conflict, invalid argument, kernel
//        failure, damaged state, missing privileges; also a wrong number of
//        arguments or an unknown command (plain errors in Docker's CLI), and
//        every error of `compose` (Docker Compose v2 exits 1, usage included)
//   125  a flag that cannot be parsed (unknown, missing or bad value: Docker's
//        FlagErrorFunc); `run` failing before its command started; `create`
//        refusing a flag's value (Docker's client-side parse)
//   run/exec/start -a: the command's own exit status, or
//   126  the command was found but cannot be invoked (EACCES: not executable)
//   127  the command was not found
import { writeSync } from 'node:fs';
import { parseArgv, UsageError, type Parsed } from './args.js';
import { dispatch, type Io } from './dispatch.js';
import { formatUsageError } from './help.js';
import { missingPrivileges } from './privileges.js';
import { printVersion } from './version.js';

/** A command's error (Docker's CLI: any error without a status of its own). */
export const EXIT_FAILURE = 1;
/** A flag that cannot be parsed; run/create failing before the command (Docker's 125). */
export const EXIT_USAGE = 125;
/** run/exec: the command exists but cannot be executed. */
export const EXIT_CANNOT_INVOKE = 126;
/** run/exec: the command was not found. */
export const EXIT_NOT_FOUND = 127;

/** Runs the CLI; returns the exit code (the bin script calls process.exit with it). */
export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgv(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(formatUsageError(e));
      return usageExit(e);
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return 0;
  }
  // The version needs no privileges.
  if (parsed.kind === 'version' || parsed.command === 'version') return printVersion(io);
  const debug = parsed.global.debug;
  // Before any state or kernel work: one read of /proc/self/status, not a raw EACCES on /run/nsnet/lock.
  const missing = missingPrivileges();
  if (missing.length) {
    io.err(`Error: nsnet needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): this process lacks ${missing.join(' and ')}`);
    if (debug) io.err('  kind: Privileges');
    // Docker's CLI: the daemon unreachable is a plain error (1), but `run` makes every failure before its command 125.
    return parsed.command === 'run' ? EXIT_USAGE : EXIT_FAILURE;
  }
  // `nsnet dns` loads nothing of the Docker layer (a restarted server starts sooner), its supervisor not even the server;
  // its errors are its own (the supervisor or systemd sees it exit).
  if (parsed.command === 'dns') return dispatch(parsed, io);
  const { KernelError } = await import('../kernel/errors.js');
  const { NsnetError } = await import('../docker/errors.js');
  try {
    return await dispatch(parsed, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(formatUsageError(e));
      if (debug) io.err('  kind: Usage');
      return usageExit(e);
    }
    const runExit = (e as { runExit?: number }).runExit;
    if (e instanceof KernelError) {
      io.err(`Error: ${debug ? e.message : e.shortMessage}`);
      if (debug) io.err(`  kind: Kernel (${e.code})`);
      if (debug && e.equivalent) io.err(`  equivalent: ${e.equivalent}`);
      return runExit ?? EXIT_FAILURE;
    }
    if ((e as { kind?: string }).kind === 'DamagedState') {
      // A damaged state file (src/state/damaged.ts): its path, what is wrong, the way out.
      io.err(`Error: ${(e as Error).message}`);
      if (debug) io.err('  kind: DamagedState');
      return runExit ?? EXIT_FAILURE;
    }
    if (e instanceof NsnetError) {
      io.err(`Error: ${e.message}`);
      if (debug) io.err(`  kind: ${e.kind}`);
      if (debug && e.cause) io.err(`  cause: ${String((e.cause as Error).message ?? e.cause)}`);
      return runExit ?? EXIT_FAILURE;
    }
    io.err(`Error: ${(e as Error).message ?? String(e)}`);
    if (debug) io.err(`  kind: Internal\n${String((e as Error).stack)}`);
    return runExit ?? EXIT_FAILURE;
  }
}

/**
 * A usage error's code: 125 for a flag (Docker's FlagErrorFunc), 1 for the
 * rest (Docker's argument-count and unknown-command errors carry no status);
 * `compose` exits 1 for every error, its flags' included (docker/compose
 * cmd/main.go sets a FlagErrorFunc of its own with status 1).
 */
export function usageExit(e: UsageError): number {
  const compose = e.command === 'compose' || e.command?.startsWith('compose ') === true;
  return e.badFlag && !compose ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * One line of stdin per call (without its newline), or null at end of input.
 * The stream is read on demand: resumed while a caller waits, paused between
 * calls (so an idle prompt does not keep the process alive), and what arrived
 * past the first newline is kept for the next call - `nsnet tour --step` asks
 * once per step, and a pasted block of Enters must count once per line.
 */
const stdinLines = { buf: '', ended: false, started: false, waiting: [] as ((line: string | null) => void)[] };
function readStdinLine(): Promise<string | null> {
  const s = stdinLines;
  const deliver = () => {
    while (s.waiting.length) {
      const nl = s.buf.indexOf('\n');
      if (nl >= 0) {
        const line = s.buf.slice(0, nl).replace(/\r$/, '');
        s.buf = s.buf.slice(nl + 1);
        s.waiting.shift()!(line);
      } else if (s.ended) {
        const rest = s.buf;
        s.buf = '';
        s.waiting.shift()!(rest === '' ? null : rest);
      } else return;
    }
    process.stdin.pause();
  };
  return new Promise((resolve) => {
    s.waiting.push(resolve);
    if (!s.started) {
      s.started = true;
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', (d: string) => {
        s.buf += d;
        deliver();
      });
      process.stdin.on('end', () => {
        s.ended = true;
        deliver();
      });
      process.stdin.on('error', () => {
        s.ended = true;
        deliver();
      });
    }
    deliver();
    if (s.waiting.length) process.stdin.resume();
  });
}

/**
 * Writes all of `text` to fd 1 or 2 with write(2), as a Go or C CLI does:
 * process.stdout and process.stderr are streams whose first use loads
 * node:stream (and node:net for a pipe), ~2-3 ms of every call. If someone
 * made the fd non-blocking (a stream on a shared pipe), a full pipe is
 * waited out; a reader that stopped (`nsnet ps | head`) is not an error.
 */
function writeAll(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      else if (code === 'EPIPE') {
        if (fd === 1) process.exit(0);
        return;
      } else throw e;
    }
  }
}

export async function cli(): Promise<never> {
  const code = await main(process.argv.slice(2), {
    out: (s) => writeAll(1, s.endsWith('\n') || s === '' ? s : `${s}\n`),
    err: (s) => writeAll(2, s.endsWith('\n') || s.endsWith('] ') ? s : `${s}\n`),
    env: process.env,
    stdin: readStdinLine,
  });
  process.exit(code);
}
