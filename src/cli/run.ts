// `nsnet run` and `nsnet exec`: a program in a sandbox, and its exit code as
// the CLI's. When it never started: run 125/126/127 (Docker's CLI, container/run.go
// toStatusError), exec 126/127 (set by Docker's daemon) or 1 (any other error).
import { NsnetError } from '../docker/errors.js';
import { sandboxExec, sandboxRun } from '../docker/process.js';
import { withContext } from './context.js';
import { sandboxRequest } from './sandbox.js';

export const run = withContext<'run'>(async (ctx, { flags, rest }, io) => {
  try {
    const r = await sandboxRun(ctx, sandboxRequest(flags), rest, {
      detach: flags.detach, rm: flags.rm, env: flags.env,
      ...(flags.workdir && { workdir: flags.workdir }),
    });
    if (flags.detach && !ctx.dryRun) io.out(r.sandbox.id);
    return r.exitCode ?? 0;
  } catch (e) {
    throw Object.assign(e as Error, { runExit: runExitCode(e) });
  }
});

export const exec = withContext<'exec'>(async (ctx, { flags, args, rest }) => {
  try {
    const code = await sandboxExec(ctx, args[0]!, rest, {
      detach: flags.detach, env: flags.env,
      ...(flags.workdir && { workdir: flags.workdir }),
    });
    return code ?? 0;
  } catch (e) {
    throw Object.assign(e as Error, { runExit: execExitCode(e) });
  }
});

/**
 * The exit code of a `run` or `exec` whose command never started: 127 when it
 * was not found, 126 when execve refused it (EACCES: not executable, a
 * directory), 125 for any other failure (nsnet's own).
 */
export function runExitCode(e: unknown): number {
  const code = (e as { code?: string }).code;
  const execve = (e as { syscall?: string }).syscall === 'execve';
  if (e instanceof NsnetError && /executable file not found/.test(e.message)) return 127;
  if (execve && code === 'ENOENT') return 127;
  if (execve && (code === 'EACCES' || code === 'ENOEXEC' || code === 'EISDIR')) return 126;
  return 125;
}

/** The exit code of an `exec` whose command never started: 127, 126 as run's; 1 for the rest (`docker exec nosuch`). */
export function execExitCode(e: unknown): number {
  const code = runExitCode(e);
  return code === 125 ? 1 : code;
}
