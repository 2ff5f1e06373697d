// `nsnet run` and `nsnet exec`: a program in a sandbox, and its exit code as
// the CLI's (Docker's 125/126/127 when it never started).
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
    throw Object.assign(e as Error, { runExit: runExitCode(e) });
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
