// Processes in sandboxes: `nsnet run` and `nsnet exec`.
//
// The addon's spawn verb starts the command with the sandbox's namespaces:
// its network namespace (or the one it joins in container: mode; none in
// host mode), a UTS namespace with its hostname, a PID namespace of its own
// (or the one of --pid container:NAME), and a mount namespace where
// /etc/netns/NAME/{resolv.conf,hosts,hostname} cover the host's files.
// `nsnet exec` joins the PID namespace of the sandbox's main process.
import { closeSync, existsSync, openSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { native, type NativeSpawn } from '../native.js';
import { attempt } from '../kernel/errors.js';
import { netnsOpen } from '../kernel/netns.js';
import { killAction, processStart } from './proc.js';
import type { Context } from './context.js';
import { conflict, invalidArg, NsnetError } from './errors.js';
import { sandboxBinds } from './files.js';
import { findSandbox, netnsOwner } from './lookup.js';
import { usingState } from './networks.js';
import { runSteps, type Step } from './plan.js';
import { sandboxCreate, type SandboxCreateRequest } from './sandboxes.js';
import { sandboxRemove } from './remove.js';
import type { SandboxRecord, State } from './types.js';

export { processStart };
export { sandboxRemove } from './remove.js';

/** Is the sandbox's main process still running? */
export function isRunning(sb: SandboxRecord): boolean {
  if (!sb.pid || !sb.pidStart) return false;
  const start = processStart(sb.pid);
  if (start !== sb.pidStart) return false;
  try {
    // A zombie is not running.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${sb.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** "running", "exited" or "created", from the record and /proc. */
export function liveStatus(sb: SandboxRecord): SandboxRecord['status'] {
  if (sb.status === 'running') return isRunning(sb) ? 'running' : 'exited';
  return sb.status;
}

/** Resolves a command name through PATH, as execvp would, so the addon can execve it. */
export function resolveCommand(cmd: string, envPath = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string {
  if (cmd.includes('/')) return path.resolve(cmd);
  for (const dir of envPath.split(':')) {
    const p = path.join(dir || '.', cmd);
    if (existsSync(p)) return p;
  }
  throw new NsnetError('InvalidArgument', `exec: "${cmd}": executable file not found in $PATH`);
}

export interface ProcessOptions {
  detach?: boolean;
  env?: string[];
  workdir?: string;
  /** For detached processes: where stdout and stderr go. */
  logFile?: string;
}

function baseEnv(sb: SandboxRecord, extra: string[] = []): string[] {
  const env = new Map<string, string>([
    ['PATH', process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ['HOSTNAME', sb.hostname],
    ['HOME', '/root'],
  ]);
  if (process.env.TERM) env.set('TERM', process.env.TERM);
  for (const kv of extra) {
    const i = kv.indexOf('=');
    if (i < 0) {
      const v = process.env[kv];
      if (v !== undefined) env.set(kv, v);
    } else {
      env.set(kv.slice(0, i), kv.slice(i + 1));
    }
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** What starting `command` in the sandbox asks of the addon (without the fds it opens as it starts). */
interface SpawnPlan {
  req: Omit<NativeSpawn, 'netnsFd' | 'stdio'>;
  /** The namespace to start it in: the sandbox's, or its container: owner's (none: host mode). */
  netns?: string | undefined;
}

async function spawnPlan(ctx: Context, s: State, sb: SandboxRecord, command: string[], o: ProcessOptions & { main: boolean }): Promise<SpawnPlan> {
  const owner = await netnsOwner(s, sb);
  let joinPidns: string | undefined;
  let newPidns = false;
  if (o.main) {
    if (sb.pidMode?.startsWith('container:')) {
      const target = await findSandbox(s, sb.pidMode.slice('container:'.length));
      if (!isRunning(target) && !ctx.dryRun) throw conflict(`cannot join the PID namespace of ${target.name}: it is not running`);
      joinPidns = `/proc/${target.pid ?? '<pid>'}/ns/pid`;
    } else if (sb.pidMode !== 'host') {
      newPidns = true;
    }
  } else if (isRunning(sb) && sb.pidMode !== 'host') {
    joinPidns = `/proc/${sb.pid}/ns/pid`;
  }
  return {
    netns: owner.netns,
    req: {
      argv: [resolveCommand(command[0]!), ...command.slice(1)],
      env: baseEnv(sb, o.env),
      ...(o.workdir && { cwd: o.workdir }),
      ...(sb.mode !== 'host' && { hostname: sb.hostname }),
      ...(newPidns && { newPidns }),
      ...(joinPidns && { joinPidns }),
      ...(owner.netns && { binds: sandboxBinds(ctx.etcNetns, owner.netns) }),
      ...(o.detach && { detach: true }),
    },
  };
}

/** The shell command that does what the spawn request does: its namespaces, then the command. */
function spawnCommand(p: SpawnPlan, command: string[]): string {
  const where = p.netns ? `ip netns exec ${p.netns} ` : '';
  const pid = p.req.joinPidns ? `nsenter --pid=${p.req.joinPidns} ` : '';
  const uts = p.req.hostname ? `unshare --uts${p.req.newPidns ? ' --pid --fork --mount-proc' : ''} sh -c 'hostname ${p.req.hostname} && exec "$@"' sh ` : '';
  return `${where}${pid}${uts}${command.join(' ')}`;
}

/** Starts a spawn plan; returns the pid. */
async function spawnIn(sb: SandboxRecord, p: SpawnPlan, command: string[], o: ProcessOptions): Promise<number> {
  const ns = p.netns ? await netnsOpen({ name: p.netns }) : undefined;
  let stdio: [number, number, number] | undefined;
  let logFd: number | undefined;
  if (o.detach) {
    const devnull = openSync('/dev/null', 'r');
    mkdirSync(path.dirname(o.logFile!), { recursive: true });
    logFd = openSync(o.logFile!, 'a', 0o600);
    stdio = [devnull, logFd, logFd];
  }
  try {
    const { pid } = await attempt(`starting ${command.join(' ')} in sandbox ${sb.name}`, spawnCommand(p, command),
      () => native().spawn({ ...p.req, ...(ns && { netnsFd: ns.fd }), ...(stdio && { stdio }) }));
    return pid;
  } finally {
    await ns?.close();
    if (stdio) {
      closeSync(stdio[0]);
      closeSync(logFd!);
    }
  }
}

/**
 * The step that starts the sandbox's main process (reporting its pid to
 * `started`), undone by killing it: PID 1 of the sandbox's PID namespace, so
 * the kernel kills the rest with it. For a removal, `sb.pid` is the one to kill.
 */
export function startStep(sb: SandboxRecord, command: string[], p: SpawnPlan | undefined, o: ProcessOptions, started?: (pid: number) => void): Step {
  let pid = sb.pid;
  return {
    title: `starting ${command.join(' ')}`,
    equivalent: p ? [spawnCommand(p, command)] : [],
    do: async () => {
      pid = await spawnIn(sb, p!, command, o);
      started?.(pid);
    },
    undo: killAction(sb.name, () => pid),
  };
}

export function logFile(ctx: Context, sb: SandboxRecord): string {
  return path.join(ctx.dirs.runDir, 'logs', `${sb.id}.log`);
}

export interface RunResult {
  sandbox: SandboxRecord;
  /** Set when the process ran attached and ended. */
  exitCode?: number;
}

/**
 * `nsnet run`: creates a sandbox and starts `command` in it. Attached, it
 * waits and returns the exit code (and removes the sandbox with `rm`);
 * detached, it returns at once.
 */
export async function sandboxRun(ctx: Context, req: SandboxCreateRequest, command: string[],
  o: ProcessOptions & { rm?: boolean } = {}): Promise<RunResult> {
  if (!command.length) throw invalidArg('"nsnet run" requires at least 1 argument.');
  resolveCommand(command[0]!); // fail before creating anything
  const sb = await sandboxCreate(ctx, { ...req, command });
  let pid: number;
  try {
    pid = await sandboxStart(ctx, sb, command, o);
  } catch (e) {
    await sandboxRemove(ctx, [sb.id], { force: true }).catch(() => {});
    throw e;
  }
  if (ctx.dryRun) return { sandbox: sb };
  if (o.detach) return { sandbox: { ...sb, pid, status: 'running' } };
  const { code } = await native().waitpid(pid);
  const final = await usingState(ctx, async (s) => {
    const rec = await s.sandboxes.byId(sb.id);
    if (!rec) return sb;
    const done = { ...rec, status: 'exited' as const, exitCode: code, finishedAt: new Date().toISOString() };
    s.sandboxes.put(done);
    return done;
  });
  if (o.rm) await sandboxRemove(ctx, [sb.id], { force: true });
  return { sandbox: final, exitCode: code };
}

/**
 * Starts a created sandbox's main process (detached: `o.detach`), as
 * `docker start` does after `docker create` and `docker network connect`.
 * `ref`: a name or id, or the record just created (a dry run wrote none).
 */
export async function sandboxStart(ctx: Context, ref: string | SandboxRecord, command: string[], o: ProcessOptions = {}): Promise<number> {
  return usingState(ctx, async (s) => {
    const rec = typeof ref === 'string' ? await findSandbox(s, ref) : (await s.sandboxes.byId(ref.id)) ?? ref;
    if (isRunning(rec)) throw conflict(`sandbox ${rec.name} is already running`);
    let pid = 0;
    const opts = { ...o, main: true, logFile: logFile(ctx, rec) };
    await runSteps([startStep(rec, command, await spawnPlan(ctx, s, rec, command, opts), opts, (p) => { pid = p; })], ctx);
    s.sandboxes.put({ ...rec, command, pid, pidStart: processStart(pid) ?? '', status: 'running', startedAt: new Date().toISOString() });
    return pid;
  });
}

/** `nsnet exec`: runs another command in a sandbox; attached, returns its exit code. */
export async function sandboxExec(ctx: Context, ref: string, command: string[], o: ProcessOptions = {}): Promise<number | undefined> {
  if (!command.length) throw invalidArg('"nsnet exec" requires at least 2 arguments.');
  const pid = await usingState(ctx, async (s) => {
    const sb = await findSandbox(s, ref);
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    const opts = { ...o, main: false, logFile: logFile(ctx, sb) };
    return spawnIn(sb, await spawnPlan(ctx, s, sb, command, opts), command, opts);
  });
  if (o.detach) return undefined;
  return (await native().waitpid(pid)).code;
}
