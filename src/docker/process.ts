// Processes in sandboxes: `nsnet run` and `nsnet exec`.
//
// The addon's spawn verb starts the command with the sandbox's namespaces:
// its network namespace (or the one it joins in container: mode; none in
// host mode), a UTS namespace with its hostname, a PID namespace of its own
// (or the one of --pid container:NAME), and a mount namespace where
// /etc/netns/NAME/{resolv.conf,hosts,hostname} cover the host's files.
// `nsnet exec` joins the PID namespace of the sandbox's main process.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { native, superviseExe, type NativeSpawn } from '../native.js';
import { attempt } from '../kernel/errors.js';
import { netnsOpen } from '../kernel/netns.js';
import { killAction, processAlive, processStart } from './proc.js';
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

/** "running", "exited" or "created", from the record and /proc (liveRecord also knows the exit code). */
export function liveStatus(sb: SandboxRecord): SandboxRecord['status'] {
  if (sb.status === 'running') return isRunning(sb) ? 'running' : 'exited';
  return sb.status;
}

/**
 * The exit code shown when a process ended and nobody saw how: its
 * supervisor was killed, or it was started before nsnet had supervisors.
 * Docker shows 255 for a container whose exit status was lost (an unclean
 * shutdown), so `ps` says "Exited (255)".
 */
export const UNKNOWN_EXIT = 255;

/** Where a sandbox's main process's output goes (run -d, start; exec -d too). */
export function logFile(ctx: Context, sb: SandboxRecord): string {
  return path.join(ctx.realRunDir ?? ctx.dirs.runDir, 'logs', `${sb.id}.log`);
}

/** Where the supervisor of a sandbox's main process writes its exit status (native/spawn.cc). */
export function exitFile(ctx: Context, sb: SandboxRecord): string {
  return path.join(ctx.realRunDir ?? ctx.dirs.runDir, 'exits', sb.id);
}

export interface ExitStatus {
  exitCode: number;
  /** The signal that killed it (exitCode is then 128 + signal). */
  signal?: number;
  finishedAt: string;
}

/** Parses an exit file's text: its status if it is about `pid` (a file left from an earlier run is not). Pure. */
export function parseExitFile(text: string, pid: number | undefined): Omit<ExitStatus, 'finishedAt'> | undefined {
  try {
    const j = JSON.parse(text) as { pid?: unknown; exitCode?: unknown; signal?: unknown };
    if (j.pid !== pid || typeof j.exitCode !== 'number' || !Number.isInteger(j.exitCode)) return undefined;
    return { exitCode: j.exitCode, ...(typeof j.signal === 'number' && { signal: j.signal }) };
  } catch {
    return undefined;
  }
}

/** The exit status the supervisor wrote for the sandbox's main process, if it did (finishedAt: the file's mtime). */
export function readExit(ctx: Context, sb: SandboxRecord): ExitStatus | undefined {
  const file = exitFile(ctx, sb);
  try {
    const st = parseExitFile(readFileSync(file, 'utf8'), sb.pid);
    return st && { ...st, finishedAt: statSync(file).mtime.toISOString() };
  } catch {
    return undefined;
  }
}

/** Is the supervisor of the sandbox's main process still there (about to write the exit file)? */
export function supervisorAlive(sb: SandboxRecord): boolean {
  return !!sb.supervisor && processAlive(sb.supervisor.pid, sb.supervisor.start);
}

/**
 * The record as it is now: a "running" one whose process ended is "exited",
 * with the exit code and time its supervisor wrote (UNKNOWN_EXIT when it
 * wrote none and is gone; none yet while it is still writing).
 */
export function liveRecord(ctx: Context, sb: SandboxRecord): SandboxRecord {
  if (sb.status !== 'running' || isRunning(sb)) return sb;
  const { exitCode: _c, finishedAt: _f, ...rest } = sb;
  const exit = readExit(ctx, sb);
  if (exit) return { ...rest, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt };
  if (supervisorAlive(sb)) return { ...rest, status: 'exited' };
  return { ...rest, status: 'exited', exitCode: UNKNOWN_EXIT };
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
  /** For a detached main process: where its supervisor writes the exit status. */
  exitFile?: string;
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
  /** A CNI attachment's: the runtime's namespace, by path, and the inode it had at ADD. */
  netnsPath?: { path: string; inode?: number | undefined } | undefined;
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
    ...(!owner.netns && owner.netnsPath && { netnsPath: { path: owner.netnsPath, inode: owner.netnsInode } }),
    req: {
      argv: [resolveCommand(command[0]!), ...command.slice(1)],
      env: baseEnv(sb, o.env),
      ...(o.workdir && { cwd: o.workdir }),
      ...(sb.mode !== 'host' && { hostname: sb.hostname }),
      ...(newPidns && { newPidns }),
      ...(joinPidns && { joinPidns }),
      ...(owner.netns && { binds: sandboxBinds(ctx.etcNetns, owner.netns) }),
      ...(o.detach && { detach: true, ...(!ctx.dryRun && { superviseExe: superviseExe() }) }),
      ...(o.detach && o.exitFile && { exitFile: o.exitFile }),
    },
  };
}

/** The shell command that does what the spawn request does: its namespaces, then the command. */
function spawnCommand(p: SpawnPlan, command: string[]): string {
  const where = p.netns ? `ip netns exec ${p.netns} ` : p.netnsPath ? `nsenter --net=${p.netnsPath.path} ` : '';
  const pid = p.req.joinPidns ? `nsenter --pid=${p.req.joinPidns} ` : '';
  const uts = p.req.hostname ? `unshare --uts${p.req.newPidns ? ' --pid --fork --mount-proc' : ''} sh -c 'hostname ${p.req.hostname} && exec "$@"' sh ` : '';
  return `${where}${pid}${uts}${command.join(' ')}`;
}

/** Starts a spawn plan; returns the pid (and a detached one's supervisor's). */
async function spawnIn(sb: SandboxRecord, p: SpawnPlan, command: string[], o: ProcessOptions): Promise<{ pid: number; supervisor?: number }> {
  const ns = p.netns ? await netnsOpen({ name: p.netns }) : p.netnsPath ? await netnsOpen({ path: p.netnsPath.path }) : undefined;
  // A /proc/PID path the runtime's process left, now another process's: never run anything there.
  if (ns && p.netnsPath?.inode !== undefined && ns.ino !== p.netnsPath.inode) {
    await ns.close();
    throw conflict(`sandbox ${sb.name}: its network namespace ${p.netnsPath.path} is gone (the path now names another namespace)`);
  }
  let stdio: [number, number, number] | undefined;
  let logFd: number | undefined;
  if (o.detach) {
    const devnull = openSync('/dev/null', 'r');
    mkdirSync(path.dirname(o.logFile!), { recursive: true });
    logFd = openSync(o.logFile!, 'a', 0o600);
    stdio = [devnull, logFd, logFd];
  }
  try {
    return await attempt(`starting ${command.join(' ')} in sandbox ${sb.name}`, spawnCommand(p, command),
      () => native().spawn({ ...p.req, ...(ns && { netnsFd: ns.fd }), ...(stdio && { stdio }) }));
  } finally {
    await ns?.close();
    if (stdio) {
      closeSync(stdio[0]);
      closeSync(logFd!);
    }
  }
}

/** What starting a main process reports: its pid, and its supervisor's when detached. */
export interface Started {
  pid: number;
  supervisor?: number;
}

/**
 * The step that starts the sandbox's main process (reporting its pid to
 * `started`), undone by killing it: PID 1 of the sandbox's PID namespace, so
 * the kernel kills the rest with it. For a removal, `sb.pid` is the one to kill.
 * A detached one's exit file from an earlier run goes first.
 */
export function startStep(sb: SandboxRecord, command: string[], p: SpawnPlan | undefined, o: ProcessOptions, started?: (s: Started) => void): Step {
  let pid = sb.pid;
  let supervisor = sb.supervisor;
  const stale = p?.req.exitFile;
  const kill = killAction(sb.name, () => pid);
  return {
    title: `starting ${command.join(' ')}`,
    equivalent: p ? [...(stale ? [`rm -f ${stale}`] : []), spawnCommand(p, command)] : [],
    do: async () => {
      if (stale) {
        try {
          unlinkSync(stale);
        } catch {
          // none
        }
      }
      const s = await spawnIn(sb, p!, command, o);
      pid = s.pid;
      if (s.supervisor) supervisor = { pid: s.supervisor, start: processStart(s.supervisor) ?? '' };
      started?.(s);
    },
    undo: {
      title: kill.title,
      get equivalent() {
        return kill.equivalent;
      },
      do: async () => {
        await kill.do();
        // Its supervisor writes the exit file as it goes: let it finish before the files are removed.
        for (let i = 0; i < 200 && supervisor && processAlive(supervisor.pid, supervisor.start); i++) await new Promise((r) => setTimeout(r, 10));
      },
    },
  };
}

/**
 * The step that makes the log file of a sandbox's processes (and the
 * directories of log and exit files); its undo removes both files. In a
 * start's plan only while there is no log yet (a later start that fails
 * must not take the earlier runs' output with it); in every removal's plan
 * when there is one (processFilesSteps).
 */
export function logFileStep(ctx: Context, sb: SandboxRecord): Step {
  const [log, exit] = [logFile(ctx, sb), exitFile(ctx, sb)];
  return {
    title: `creating the log file of sandbox ${sb.name}`,
    equivalent: [`mkdir -p ${path.dirname(log)} ${path.dirname(exit)}`, `install -m 600 /dev/null ${log}`],
    do: async () => {
      mkdirSync(path.dirname(log), { recursive: true, mode: 0o700 });
      mkdirSync(path.dirname(exit), { recursive: true, mode: 0o700 });
      writeFileSync(log, '', { mode: 0o600, flag: 'a' });
    },
    undo: {
      title: `removing the log and exit files of sandbox ${sb.name}`,
      equivalent: [`rm -f ${log} ${exit}`],
      do: async () => {
        for (const f of [log, exit]) {
          try {
            unlinkSync(f);
          } catch {
            // gone already
          }
        }
      },
    },
  };
}

/** The log-file step, for a sandbox that has a log or an exit file (what a removal runs the undo of). */
export function processFilesSteps(ctx: Context, sb: SandboxRecord): Step[] {
  return existsSync(logFile(ctx, sb)) || existsSync(exitFile(ctx, sb)) ? [logFileStep(ctx, sb)] : [];
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
 * Starts a created sandbox's main process (detached: `o.detach`, under a
 * supervisor that writes its exit status, output to the log file), as
 * `docker start` does after `docker create` and `docker network connect`.
 * `ref`: a name or id, or the record just created (a dry run wrote none).
 */
export async function sandboxStart(ctx: Context, ref: string | SandboxRecord, command: string[], o: ProcessOptions = {}): Promise<number> {
  return usingState(ctx, async (s) => {
    const rec = typeof ref === 'string' ? await findSandbox(s, ref) : (await s.sandboxes.byId(ref.id)) ?? ref;
    if (isRunning(rec)) throw conflict(`sandbox ${rec.name} is already running`);
    return startRecord(ctx, s, rec, command, o);
  });
}

/** Starts `command` as `rec`'s main process and records it (the caller holds the state). */
export async function startRecord(ctx: Context, s: State, rec: SandboxRecord, command: string[], o: ProcessOptions): Promise<number> {
  let started: Started = { pid: 0 };
  const opts = { ...o, main: true, logFile: logFile(ctx, rec), ...(o.detach && { exitFile: exitFile(ctx, rec) }) };
  const plan = await spawnPlan(ctx, s, rec, command, opts);
  await runSteps([
    ...(o.detach && !existsSync(opts.logFile) ? [logFileStep(ctx, rec)] : []),
    startStep(rec, command, plan, opts, (st) => { started = st; }),
  ], ctx);
  const { exitCode: _c, finishedAt: _f, supervisor: _s, env: _e, workdir: _w, ...rest } = rec;
  const { pid, supervisor } = started;
  // -e KEY takes KEY's value now: a later `nsnet start` runs it with the same environment.
  const env = (o.env ?? []).flatMap((kv) => (kv.includes('=') ? [kv] : process.env[kv] !== undefined ? [`${kv}=${process.env[kv]}`] : []));
  s.sandboxes.put({
    ...rest, command, pid, pidStart: processStart(pid) ?? '', status: 'running', startedAt: new Date().toISOString(),
    ...(supervisor && { supervisor: { pid: supervisor, start: processStart(supervisor) ?? '' } }),
    ...(env.length && { env }), ...(o.workdir && { workdir: o.workdir }),
  });
  return pid;
}

/** `nsnet exec`: runs another command in a sandbox; attached, returns its exit code. */
export async function sandboxExec(ctx: Context, ref: string, command: string[], o: ProcessOptions = {}): Promise<number | undefined> {
  if (!command.length) throw invalidArg('"nsnet exec" requires at least 2 arguments.');
  const pid = await usingState(ctx, async (s) => {
    const sb = await findSandbox(s, ref);
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    const opts = { ...o, main: false, logFile: logFile(ctx, sb) };
    return (await spawnIn(sb, await spawnPlan(ctx, s, sb, command, opts), command, opts)).pid;
  });
  if (o.detach) return undefined;
  return (await native().waitpid(pid)).code;
}
