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
import { native } from '../native.js';
import { attempt } from '../kernel/errors.js';
import { netnsOpen } from '../kernel/netns.js';
import { processStart } from './proc.js';
import type { Context } from './context.js';
import { conflict, forEachRef, invalidArg, NsnetError } from './errors.js';
import { MARKS_DIR, sandboxBinds } from './files.js';
import { usingState } from './networks.js';
import { findSandbox, netnsOwner, releaseClaims, sandboxCreate, sandboxTeardown, type SandboxCreateRequest } from './sandboxes.js';
import type { SandboxRecord, State } from './types.js';
import { DamagedStateError, isDamaged } from '../state/damaged.js';
import { recordHint, type DamagedRecord } from '../state/sandbox-records.js';
import { removeDamaged } from './remove-damaged.js';
import { readableNetworks } from './repair.js';

export { processStart };

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

/** Starts `command` inside the sandbox's namespaces; returns the pid. */
async function startIn(ctx: Context, s: State, sb: SandboxRecord, command: string[], o: ProcessOptions & { main: boolean }): Promise<number> {
  const owner = await netnsOwner(s, sb);
  const argv = [resolveCommand(command[0]!), ...command.slice(1)];
  let joinPidns: string | undefined;
  let newPidns = false;
  if (o.main) {
    if (sb.pidMode?.startsWith('container:')) {
      const target = await findSandbox(s, sb.pidMode.slice('container:'.length));
      if (!isRunning(target)) throw conflict(`cannot join the PID namespace of ${target.name}: it is not running`);
      joinPidns = `/proc/${target.pid}/ns/pid`;
    } else if (sb.pidMode !== 'host') {
      newPidns = true;
    }
  } else if (isRunning(sb) && sb.pidMode !== 'host') {
    joinPidns = `/proc/${sb.pid}/ns/pid`;
  }
  const ns = owner.netns ? await netnsOpen({ name: owner.netns }) : undefined;
  let stdio: [number, number, number] | undefined;
  let logFd: number | undefined;
  if (o.detach) {
    const devnull = openSync('/dev/null', 'r');
    mkdirSync(path.dirname(o.logFile!), { recursive: true });
    logFd = openSync(o.logFile!, 'a', 0o600);
    stdio = [devnull, logFd, logFd];
  }
  try {
    const { pid } = await attempt(`starting ${command.join(' ')} in sandbox ${sb.name}`, `ip netns exec ${owner.netns ?? '(host)'} ${command.join(' ')}`,
      () => native().spawn({
        argv,
        env: baseEnv(sb, o.env),
        ...(o.workdir && { cwd: o.workdir }),
        ...(ns && { netnsFd: ns.fd }),
        ...(sb.mode !== 'host' && { hostname: sb.hostname }),
        ...(newPidns && { newPidns }),
        ...(joinPidns && { joinPidns }),
        ...(owner.netns && { binds: sandboxBinds(ctx.etcNetns, owner.netns) }),
        ...(o.detach && { detach: true }),
        ...(stdio && { stdio }),
      }));
    return pid;
  } finally {
    await ns?.close();
    if (stdio) {
      closeSync(stdio[0]);
      closeSync(logFd!);
    }
  }
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
  if (ctx.dryRun) {
    await startPlan(ctx, sb, command);
    return { sandbox: sb };
  }
  let pid: number;
  try {
    pid = await sandboxStart(ctx, sb.id, command, o);
  } catch (e) {
    await sandboxRemove(ctx, [sb.id], { force: true }).catch(() => {});
    throw e;
  }
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

/** What starting the main process amounts to, for --dry-run: its namespaces, in shell terms. */
async function startPlan(ctx: Context, sb: SandboxRecord, command: string[]): Promise<void> {
  const where = sb.netns ? `ip netns exec ${sb.netns} ` : '';
  const pid = sb.pidMode?.startsWith('container:') ? `nsenter --pid=/proc/<pid of ${sb.pidMode.slice(10)}>/ns/pid ` : '';
  await ctx.observe?.({
    title: `starting ${command.join(' ')}`,
    equivalent: [`${where}${pid}unshare --uts${sb.pidMode ? '' : ' --pid --fork --mount-proc'} sh -c 'hostname ${sb.hostname} && exec "$@"' sh ${command.join(' ')}`],
    do: async () => {},
  });
}

/**
 * Starts a created sandbox's main process (detached: `o.detach`), as
 * `docker start` does after `docker create` and `docker network connect`.
 */
export async function sandboxStart(ctx: Context, ref: string, command: string[], o: ProcessOptions = {}): Promise<number> {
  return usingState(ctx, async (s) => {
    const rec = await findSandbox(s, ref);
    if (ctx.dryRun) {
      await startPlan(ctx, rec, command);
      return 0;
    }
    if (isRunning(rec)) throw conflict(`sandbox ${rec.name} is already running`);
    const p = await startIn(ctx, s, rec, command, { ...o, main: true, logFile: logFile(ctx, rec) });
    s.sandboxes.put({ ...rec, command, pid: p, pidStart: processStart(p) ?? '', status: 'running', startedAt: new Date().toISOString() });
    return p;
  });
}

/** `nsnet exec`: runs another command in a sandbox; attached, returns its exit code. */
export async function sandboxExec(ctx: Context, ref: string, command: string[], o: ProcessOptions = {}): Promise<number | undefined> {
  if (!command.length) throw invalidArg('"nsnet exec" requires at least 2 arguments.');
  const pid = await usingState(ctx, async (s) => {
    const sb = await findSandbox(s, ref);
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    return startIn(ctx, s, sb, command, { ...o, main: false, logFile: logFile(ctx, sb) });
  });
  if (o.detach) return undefined;
  return (await native().waitpid(pid)).code;
}

/**
 * The sandbox `ref` names, or - by name - what is known of it when its record
 * is damaged, or gone while the id index still names it (looked for only with
 * --force, after the usual lookups found nothing).
 */
async function findForRemoval(s: State, ref: string, force: boolean): Promise<{ sb: SandboxRecord } | { damaged: DamagedRecord }> {
  const name = ref.replace(/^\//, '');
  const peek = await s.sandboxes.peek(name);
  if (peek && 'damaged' in peek) return peek;
  try {
    return { sb: await findSandbox(s, ref) };
  } catch (e) {
    if (isDamaged(e)) {
      // Found by id, through the index, to a damaged record.
      const d = await s.sandboxes.peek(path.basename(e.path, '.json'));
      if (d && 'damaged' in d) return d;
    }
    if (!force || !(e instanceof NsnetError && e.kind === 'NotFound')) throw e;
    const orphan = (await s.sandboxes.scan()).damaged.find((d) => d.name === name || (d.id && d.id.startsWith(name)));
    if (orphan) return { damaged: orphan };
    throw e;
  }
}

/** `nsnet rm`: removes sandboxes; a running one only with force (its processes are killed). */
export async function sandboxRemove(ctx: Context, refs: string[], o: { force?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  // The DNS server lets go of each sandbox while its teardown runs (ctx.dns.release), or after.
  const released: string[] = [];
  const releases: Promise<boolean>[] = [];
  try {
    return await forEachRef(refs, (ref) => usingState(ctx, async (s) => {
      const found = await findForRemoval(s, ref, !!o.force);
      if ('damaged' in found) {
        const d = found.damaged;
        if (!o.force) throw new DamagedStateError(d.path, d.problem, recordHint(d.name));
        if (ctx.dryRun) {
          await ctx.observe?.({
            title: `removing sandbox ${d.name} (its record is damaged: ${d.problem})`,
            equivalent: [`ip netns del ${d.name}`, `rm -rf ${ctx.etcNetns}/${d.name}`, `rm ${d.path}`],
            do: async () => {},
          });
          return;
        }
        const id = await removeDamaged(ctx, s, d);
        if (id) removed.push(id);
        return;
      }
      const sb = found.sb;
      const running = isRunning(sb);
      if (running && !o.force) {
        throw conflict(`You cannot remove a running sandbox ${sb.id}. Stop the sandbox before attempting removal or force remove`);
      }
      const joiners = [];
      for (const id of sb.joinedBy ?? []) {
        const j = await s.sandboxes.byId(id);
        if (j) joiners.push(j);
      }
      if (joiners.length && !o.force) {
        throw conflict(`sandbox ${sb.name} is used by ${joiners.map((j) => j.name).join(', ')} (container: mode); remove those first or force remove`);
      }
      if (ctx.dryRun) {
        await ctx.observe?.({
          title: `removing sandbox ${sb.name}`,
          equivalent: [
            ...(running ? [`kill -KILL ${sb.pid}`] : []),
            ...sb.ports.map((p) => `nft delete element ip nsnet ${p.hostIp === '0.0.0.0' ? 'ports' : 'ports_addr'} { ${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp} . `}${p.proto} . ${p.hostPort} }`),
            ...(sb.netns ? [`ip netns del ${sb.netns}`, `rm -rf ${ctx.etcNetns}/${sb.netns} ${ctx.etcNetns}/${MARKS_DIR}/${sb.netns}`] : []),
          ],
          do: async () => {},
        });
        if (ctx.scratchState) {
          await releaseClaims(s, sb);
          s.sandboxes.delete(sb);
        }
        return;
      }
      if (ctx.dns?.release) {
        const ids = [sb.id, ...(sb.joinedBy ?? [])];
        released.push(...ids);
        releases.push(ctx.dns.release(ids).then(() => true, () => false));
      }
      if (running) {
        // PID 1 of the sandbox's PID namespace: the kernel kills the rest with it.
        try {
          process.kill(sb.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sandboxTeardown(ctx, sb, readableNetworks(ctx, s));
      await releaseClaims(s, sb);
      s.sandboxes.delete(sb);
      removed.push(sb.id, ...(sb.joinedBy ?? []));
    }));
  } finally {
    // The DNS server lets go of removed sandboxes' sockets (which keep their namespaces alive).
    // Released but not removed (the removal failed): it takes them back from the state.
    const ok = (await Promise.all(releases)).every(Boolean);
    const again = ok ? released.filter((id) => !removed.includes(id)) : [...new Set([...removed, ...released])];
    const sync = releases.length ? again : removed;
    if (sync.length && !ctx.dryRun) await ctx.dns?.sync(false, sync);
  }
}
