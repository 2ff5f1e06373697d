// The nsnet CLI: parse (args.ts), run one command against the Docker layer
// (run.ts, loaded only when a command needs it), print like Docker.
//
// Exit codes: 0 success; 1 the request failed (not found, conflict, kernel
// error); 2 bad usage or invalid input; 69 a kernel feature is missing;
// `run`/`exec` return the command's own exit code, and for `run`, 125 when
// the sandbox could not be set up, 126/127 when the command can't be run
// (Docker's convention).
import { readFileSync, writeSync } from 'node:fs';
import { parseArgv, UsageError, type Parsed } from './args.js';
import { formatUsageError } from './help.js';
import type { Io } from './run.js';

function version(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Runs the CLI; returns the exit code (the bin script calls process.exit with it). */
export async function main(argv: string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgv(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(formatUsageError(e));
      return 2;
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return 0;
  }
  if (parsed.kind === 'version' || parsed.command === 'version') {
    io.out(`nsnet version ${version()}`);
    return 0;
  }
  const { dispatch } = await import('./run.js');
  const { KernelError } = await import('../kernel/errors.js');
  const { NsnetError } = await import('../docker/errors.js');
  try {
    return await dispatch(parsed, io);
  } catch (e) {
    const debug = parsed.global.debug;
    if (e instanceof UsageError) {
      io.err(formatUsageError(e));
      return 2;
    }
    const runExit = (e as { runExit?: number }).runExit;
    if (e instanceof KernelError) {
      io.err(`Error: ${debug ? e.message : e.shortMessage}`);
      if (debug && e.equivalent) io.err(`  equivalent: ${e.equivalent}`);
      return runExit ?? 1;
    }
    if ((e as { kind?: string }).kind === 'DamagedState') {
      // A damaged state file (src/state/damaged.ts): its path, what is wrong, the way out.
      io.err(`Error: ${(e as Error).message}`);
      return runExit ?? (e as { exitCode: number }).exitCode;
    }
    if (e instanceof NsnetError) {
      io.err(`Error: ${e.message}`);
      if (debug && e.cause) io.err(`  cause: ${String((e.cause as Error).message ?? e.cause)}`);
      return runExit ?? e.exitCode;
    }
    io.err(`Error: ${(e as Error).message ?? String(e)}`);
    if (debug) io.err(String((e as Error).stack));
    return runExit ?? 1;
  }
}

function readStdinLine(): Promise<string> {
  return new Promise((resolve) => {
    if (process.stdin.isTTY === undefined && process.stdin.readableEnded) return resolve('');
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        process.stdin.pause();
        resolve(buf.split('\n')[0]!);
      }
    });
    process.stdin.on('end', () => resolve(buf));
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
