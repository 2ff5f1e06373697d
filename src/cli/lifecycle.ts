// `nsnet start|stop|restart|kill|wait|logs`: the sandbox's main process, as
// Docker's commands of those names. The ones taking several sandboxes print
// each one as it is done (as given), then the errors, and exit 1 if any failed (as
// Docker's CLI does for these).
import { forEachRef, invalidArg } from '../docker/errors.js';
import {
  logSize, sandboxKill, sandboxLogs, sandboxRestart, sandboxStartCommand, sandboxStop, sandboxWait, waitEnded,
} from '../docker/lifecycle.js';
import { liveRecord } from '../docker/process.js';
import type { Context } from '../docker/context.js';
import { findSandbox } from '../docker/lookup.js';
import { usingState } from '../docker/networks.js';
import { withContext } from './context.js';
import type { Io } from './dispatch.js';

/** Docker's CLI exits 1 when one of the sandboxes of start/stop/restart/kill/wait failed. */
const EXIT_SOME_FAILED = 1;

/** Runs `fn` for each ref, printing each one as it is done (not in a dry run); then the errors, exit 1. */
async function eachRef(ctx: Context, io: Io, refs: string[], fn: (ref: string) => Promise<string | void>): Promise<number> {
  try {
    await forEachRef(refs, async (ref) => {
      const out = await fn(ref);
      if (!ctx.dryRun) io.out(out ?? ref);
    });
  } catch (e) {
    throw Object.assign(e as Error, { runExit: EXIT_SOME_FAILED });
  }
  return 0;
}

const seconds = (v: string) => Number(v);

/** Writes log text to stdout as it comes: whole lines, the rest when it is completed (or at the end). */
function lineWriter(io: Io): { write: (text: string) => void; end: () => void } {
  let partial = '';
  return {
    write: (text) => {
      const all = partial + text;
      const cut = all.lastIndexOf('\n') + 1;
      if (cut) io.out(all.slice(0, cut));
      partial = all.slice(cut);
    },
    end: () => {
      if (partial) io.out(partial);
      partial = '';
    },
  };
}

export const start = withContext<'start'>(async (ctx, { flags, args }, io) => {
  if (!flags.attach) return eachRef(ctx, io, args, async (ref) => void (await sandboxStartCommand(ctx, ref)));
  if (args.length > 1) throw invalidArg('you cannot start and attach multiple sandboxes at once');
  // Attached: what this run writes to the log, until it ends; its exit code is ours.
  const before = await usingState(ctx, (s) => findSandbox(s, args[0]!));
  const from = logSize(ctx, before);
  const { sandbox, started } = await sandboxStartCommand(ctx, args[0]!);
  if (ctx.dryRun) return 0;
  const out = lineWriter(io);
  await sandboxLogs(ctx, sandbox, out.write, { follow: true, from: started ? from : logSize(ctx, sandbox) });
  out.end();
  await waitEnded(ctx, sandbox);
  return liveRecord(ctx, sandbox).exitCode ?? 0;
});

export const stop = withContext<'stop'>(async (ctx, { flags, args }, io) =>
  eachRef(ctx, io, args, async (ref) => void (await sandboxStop(ctx, ref, { timeout: seconds(flags.time) }))));

export const restart = withContext<'restart'>(async (ctx, { flags, args }, io) =>
  eachRef(ctx, io, args, async (ref) => void (await sandboxRestart(ctx, ref, { timeout: seconds(flags.time) }))));

export const kill = withContext<'kill'>(async (ctx, { flags, args }, io) => {
  // Parsed per sandbox, not by the flag parser: Docker's daemon refuses a bad
  // signal for each container (exit 1), its CLI does not (125).
  return eachRef(ctx, io, args, async (ref) => void (await sandboxKill(ctx, ref, flags.signal)));
});

export const wait = withContext<'wait'>(async (ctx, { args }, io) =>
  eachRef(ctx, io, args, async (ref) => String(await sandboxWait(ctx, ref))));

export const logs = withContext<'logs'>(async (ctx, { flags, args }, io) => {
  const out = lineWriter(io);
  const stop = new AbortController();
  const onInt = () => stop.abort();
  process.once('SIGINT', onInt);
  try {
    await sandboxLogs(ctx, args[0]!, out.write, {
      follow: flags.follow, signal: stop.signal, ...(flags.tail !== 'all' && { tail: Number(flags.tail) }),
    });
  } finally {
    process.off('SIGINT', onInt);
    out.end();
  }
  return 0;
});
