// The life of a sandbox's main process after `run -d` or `create -- CMD`:
// `nsnet start`, `stop`, `restart`, `kill`, `wait` and `logs`, as Docker's.
//
// The process is not nsnet's child: nsnet exits right after starting it. Its
// supervisor (native/spawn.cc) waits for it and writes its exit status to
// runDir/exits/ID, which liveRecord folds into the record; its output goes to
// runDir/logs/ID.log. So waiting for it is polling: the process gone, and its
// status written (or its supervisor gone too, when the status is lost).
// Stopping and killing are plan steps like every other change (--dry-run,
// NSNET_TRACE=1); the sandbox's network side stays as it is.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Context } from './context.js';
import { conflict, invalidArg } from './errors.js';
import { findSandbox } from './lookup.js';
import { usingState } from './networks.js';
import { runSteps, type Step } from './plan.js';
import { isRunning, liveRecord, logFile, readExit, startRecord, supervisorAlive } from './process.js';
import { parseSignal, type Signal } from './signals.js';
import type { SandboxRecord } from './types.js';

export { parseSignal, type Signal } from './signals.js';

/** Docker's default grace period of `stop` and `restart`, in seconds. */
export const STOP_TIMEOUT = 10;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Has the main process ended, with its status written (or lost: its supervisor is gone too)? */
export function ended(ctx: Context, sb: SandboxRecord): boolean {
  return !isRunning(sb) && (readExit(ctx, sb) !== undefined || !supervisorAlive(sb));
}

/** Waits until the main process has ended (true), or `ms` passed (false). Polls, 10 ms at first, then up to 100 ms. */
export async function waitEnded(ctx: Context, sb: SandboxRecord, ms = Infinity): Promise<boolean> {
  const until = Date.now() + ms;
  for (let step = 10; !ended(ctx, sb); step = Math.min(100, step * 2)) {
    if (Date.now() >= until) return false;
    await sleep(Math.min(step, Math.max(1, until - Date.now())));
  }
  return true;
}

/** The record with the ended process's status written in (when it is still the same run); returns it. */
async function settle(ctx: Context, sb: SandboxRecord): Promise<SandboxRecord> {
  return usingState(ctx, async (s) => {
    const cur = (await s.sandboxes.byId(sb.id)) ?? sb;
    const live = liveRecord(ctx, cur);
    if (cur.pid === sb.pid && live.status !== cur.status && live.exitCode !== undefined) s.sandboxes.put(live);
    return live;
  });
}

/** The step that sends `sig` to the main process (`kill -s`). */
export function signalStep(sb: SandboxRecord, sig: Signal): Step {
  return {
    title: `sending SIG${sig.name} to the main process of sandbox ${sb.name}`,
    equivalent: [`kill -${sig.name} ${sb.pid}`],
    do: async () => {
      try {
        process.kill(sb.pid!, sig.number);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    },
  };
}

/** The step that stops the main process: SIGTERM, then SIGKILL after `timeout` seconds; done when it has ended. */
export function stopStep(ctx: Context, sb: SandboxRecord, timeout: number): Step {
  return {
    title: `stopping the main process of sandbox ${sb.name} (SIGKILL after ${timeout}s)`,
    equivalent: [`kill -TERM ${sb.pid}`, `timeout ${timeout} tail --pid=${sb.pid} -f /dev/null || kill -KILL ${sb.pid}`],
    do: async () => {
      const send = (sig: NodeJS.Signals) => {
        try {
          process.kill(sb.pid!, sig);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      };
      // PID 1 of a PID namespace gets SIGTERM only if it handles it (pid_namespaces(7)): then SIGKILL does it, as with Docker.
      send('SIGTERM');
      if (await waitEnded(ctx, sb, timeout * 1000)) return;
      if (isRunning(sb)) send('SIGKILL');
      await waitEnded(ctx, sb);
    },
  };
}

/** The sandbox `ref` names, as recorded. */
const find = (ctx: Context, ref: string) => usingState(ctx, (s) => findSandbox(s, ref));

/**
 * `nsnet start`: starts the sandbox's recorded command (create -- CMD, or
 * run's), detached, under a supervisor, output appended to its log file.
 * One already running is left as it is (`started: false`), as Docker does.
 */
export async function sandboxStartCommand(ctx: Context, ref: string, o: { afterStop?: boolean } = {}): Promise<{ sandbox: SandboxRecord; started: boolean }> {
  return usingState(ctx, async (s) => {
    const rec = await findSandbox(s, ref);
    if (rec.status === 'creating') throw conflict(`sandbox ${rec.name} is still being created`);
    // A restart's dry run stopped nothing, but its plan goes on as if it had.
    if (isRunning(rec) && !(ctx.dryRun && o.afterStop)) return { sandbox: rec, started: false };
    if (!rec.command?.length) throw invalidArg(`sandbox ${rec.name} has no command to start; create it with -- COMMAND`);
    const pid = await startRecord(ctx, s, rec, rec.command, {
      detach: true, ...(rec.env && { env: rec.env }), ...(rec.workdir && { workdir: rec.workdir }),
    });
    return { sandbox: ctx.dryRun ? rec : (await s.sandboxes.byId(rec.id)) ?? { ...rec, pid }, started: true };
  });
}

/**
 * `nsnet stop`: SIGTERM to the main process, SIGKILL after `timeout`
 * seconds, back when it has ended. One not running is left as it is. The
 * network side (namespace, addresses, names) stays.
 */
export async function sandboxStop(ctx: Context, ref: string, o: { timeout?: number } = {}): Promise<SandboxRecord> {
  const sb = await find(ctx, ref);
  if (!isRunning(sb)) return liveRecord(ctx, sb);
  await runSteps([stopStep(ctx, sb, o.timeout ?? STOP_TIMEOUT)], ctx);
  return ctx.dryRun ? sb : settle(ctx, sb);
}

/** `nsnet restart`: stop (when running), then start. */
export async function sandboxRestart(ctx: Context, ref: string, o: { timeout?: number } = {}): Promise<SandboxRecord> {
  await sandboxStop(ctx, ref, o);
  return (await sandboxStartCommand(ctx, ref, { afterStop: true })).sandbox;
}

/** `nsnet kill`: sends a signal (default KILL) to the main process; one not running is an error, as Docker's. */
export async function sandboxKill(ctx: Context, ref: string, signal: string | Signal = 'KILL'): Promise<SandboxRecord> {
  const sig = typeof signal === 'string' ? parseSignalArg(signal) : signal;
  const sb = await find(ctx, ref);
  if (!isRunning(sb)) throw conflict(`Cannot kill sandbox: ${ref}: Sandbox ${sb.id} is not running`);
  await runSteps([signalStep(sb, sig)], ctx);
  return sb;
}

function parseSignalArg(raw: string): Signal {
  try {
    return parseSignal(raw);
  } catch (e) {
    throw invalidArg((e as Error).message);
  }
}

/** `nsnet wait`: blocks until the main process has ended; its exit code (0 for one never started). */
export async function sandboxWait(ctx: Context, ref: string): Promise<number> {
  const sb = await find(ctx, ref);
  if (sb.status !== 'running') return sb.exitCode ?? 0;
  await waitEnded(ctx, sb);
  return (await settle(ctx, sb)).exitCode ?? 0;
}

/** The last `n` lines of `text` (a last line without its newline counts). Pure. */
export function tailLines(text: string, n: number): string {
  if (n <= 0) return '';
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  let i = end;
  for (let k = 0; k < n; k++) {
    i = text.lastIndexOf('\n', i - 1);
    if (i < 0) return text;
  }
  end = i + 1;
  return text.slice(end);
}

export interface LogsOptions {
  /** Only the last N lines of what is there (Docker's --tail; default all). */
  tail?: number;
  /** Then go on with what is written until the process ends (Docker's --follow). */
  follow?: boolean;
  /** Start at this byte offset of the log (start --attach: what this run writes). */
  from?: number;
  /** Stops following. */
  signal?: AbortSignal;
}

/** Reads the log from `offset` on; returns the text and the new offset. */
function readFrom(file: string, offset: number): { text: string; offset: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { text: '', offset };
  }
  try {
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated under us
    const buf = Buffer.alloc(size - offset);
    const n = buf.length ? readSync(fd, buf, 0, buf.length, offset) : 0;
    return { text: buf.subarray(0, n).toString('utf8'), offset: offset + n };
  } finally {
    closeSync(fd);
  }
}

/** The size of the sandbox's log now (what start --attach follows from). */
export function logSize(ctx: Context, sb: SandboxRecord): number {
  try {
    return statSync(logFile(ctx, sb)).size;
  } catch {
    return 0;
  }
}

/**
 * `nsnet logs`: the sandbox's log (stdout and stderr as written), to `write`;
 * following, what is written next until the main process ends.
 */
export async function sandboxLogs(ctx: Context, ref: string | SandboxRecord, write: (text: string) => void, o: LogsOptions = {}): Promise<void> {
  const sb = typeof ref === 'string' ? await find(ctx, ref) : ref;
  const file = logFile(ctx, sb);
  let { text, offset } = readFrom(file, o.from ?? 0);
  if (o.tail !== undefined) text = tailLines(text, o.tail);
  if (text) write(text);
  if (!o.follow) return;
  for (let last = false; !last && !o.signal?.aborted;) {
    last = ended(ctx, sb); // one more read after it ended: what it wrote last
    if (!last) await sleep(100);
    ({ text, offset } = readFrom(file, offset));
    if (text) write(text);
  }
}
