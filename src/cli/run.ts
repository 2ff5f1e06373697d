// The commands' bodies: everything `nsnet COMMAND` does once its arguments
// are parsed. main.ts loads this module only for commands that need it, so
// `nsnet --help` and `nsnet --version` load nothing of the Docker layer, and
// `nsnet dns` (dns.ts) loads the DNS server without it.
import path from 'node:path';
import { netnsSelf } from '../kernel/netns.js';
import { sandboxConnect, sandboxDisconnect } from '../docker/connect.js';
import type { Context } from '../docker/context.js';
import { forEachRef, NsnetError } from '../docker/errors.js';
import { inspectNetwork } from '../docker/network.js';
import { findNetwork, networkCreate, networkInspect, networkList, networkPrune, networkRemove, usingState } from '../docker/networks.js';
import { liveStatus, sandboxExec, sandboxRemove, sandboxRun } from '../docker/process.js';
import { damagedId, inspectSandbox, psDamagedJson, psDamagedRow, psJson, psRow, PS_HEADERS } from '../docker/sandbox-view.js';
import { findSandbox, sandboxCreate, type SandboxCreateRequest } from '../docker/sandboxes.js';
import { startOfDay } from '../docker/boot.js';
import type { State } from '../docker/types.js';
import { releaseDns, requestCommand, syncDns } from '../dns/control.js';
import { reviveDns } from '../dns/health.js';
import type { Action } from '../docker/plan.js';
import { defaultDirs } from '../state/store.js';
import { DamagedStateError } from '../state/damaged.js';
import { recordHint } from '../state/sandbox-store.js';
import { readableNetworks } from '../docker/repair.js';
import { flagBool, flagList, flagMap, flagString, UsageError, type Parsed } from './args.js';
import { inspectJson, jsonLines, table, truncateId } from './output.js';

type Flags = Extract<Parsed, { kind: 'command' }>['flags'];

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  stdin: () => Promise<string>;
}

function sandboxRequest(f: Flags): SandboxCreateRequest {
  const s = (k: string) => flagString(f, k);
  const l = (k: string) => flagList(f, k);
  return {
    ...(s('name') !== undefined && { name: s('name')! }),
    ...(s('network') !== undefined && { network: s('network')! }),
    ...(s('ip') !== undefined && { ip: s('ip')! }),
    ...(s('mac-address') !== undefined && { mac: s('mac-address')! }),
    ...(s('hostname') !== undefined && { hostname: s('hostname')! }),
    ...(s('pid') !== undefined && { pid: s('pid')! }),
    aliases: l('network-alias'),
    links: l('link'),
    publish: l('publish'),
    publishAll: flagBool(f, 'publish-all'),
    expose: l('expose'),
    dns: l('dns'),
    dnsSearch: l('dns-search'),
    dnsOptions: l('dns-option'),
    addHosts: l('add-host'),
    labels: flagMap(f, 'label'),
  };
}

/** The DNS server is this same program, `nsnet dns`, started detached on first need under its supervisor. */
const dnsArgv = (root: string | undefined) => [process.argv[1]!, ...(root ? ['--root', root] : []), 'dns', '--supervise'];

/** A plan's step as --dry-run prints it (stdout) and NSNET_TRACE=1 traces it (stderr): the same lines. */
const printStep = (write: (line: string) => void) => (step: Action) => {
  write(`# ${step.title}`);
  for (const e of step.equivalent) write(e);
};

async function context(io: Io, root: string | undefined): Promise<Context> {
  const trace = io.env.NSNET_TRACE === '1';
  const dirs = defaultDirs(io.env, root);
  const argv = dnsArgv(root);
  return {
    host: await netnsSelf(),
    dirs,
    // One connection per request: a CLI call makes one or two, and node:net would cost more to load than they take.
    dns: {
      sync: (start, ids) => syncDns(dirs, { start, argv, env: io.env, kept: false, ...(ids && { ids }) }),
      release: (ids) => releaseDns(dirs, ids, { kept: false }),
      command: (ids, gone) => requestCommand(dirs, { op: 'sync', ids, ...(gone && { gone }) }),
    },
    etcNetns: io.env.NSNET_ETC_NETNS || '/etc/netns',
    warn: (m) => io.err(m),
    ...(trace && {
      observe: printStep(io.err),
    }),
  };
}

export async function dispatch(p: Extract<Parsed, { kind: 'command' }>, io: Io): Promise<number> {
  const f = p.flags;
  if (p.command === 'tour') return tour(p, io);
  const ctx = await context(io, p.global.root);
  for (const n of await startOfDay(ctx)) if (p.global.debug) io.err(`nsnet: start of day: removed ${ctx.etcNetns}/${n} (sandbox gone)`);
  // A DNS server that should run but was killed comes back before the command's own work (control.ts).
  if (!flagBool(f, 'dry-run')) await reviveDns(ctx.dirs, { argv: dnsArgv(p.global.root), env: io.env, warn: ctx.warn });
  if (flagBool(f, 'dry-run')) {
    // The plan, as the commands that would do the same by hand; nothing changes.
    ctx.dryRun = true;
    ctx.observe = printStep(io.out);
  }
  try {
    if (p.command.startsWith('compose ')) {
      const { composeCommand } = await import('./compose.js');
      return await composeCommand(ctx, p, io);
    }
    switch (p.command) {
      case 'network create': {
        const n = await networkCreate(ctx, {
          name: p.args[0]!,
          driver: flagString(f, 'driver') ?? 'bridge',
          ...(flagString(f, 'subnet') && { subnet: flagString(f, 'subnet')! }),
          ...(flagString(f, 'ip-range') && { ipRange: flagString(f, 'ip-range')! }),
          ...(flagString(f, 'gateway') && { gateway: flagString(f, 'gateway')! }),
          internal: flagBool(f, 'internal'),
          options: flagMap(f, 'opt'),
          labels: flagMap(f, 'label'),
        });
        if (!ctx.dryRun) io.out(n.id);
        return 0;
      }
      case 'network ls': {
        const nets = await networkList(ctx);
        if (flagBool(f, 'quiet')) nets.forEach((n) => io.out(truncateId(n.id, flagBool(f, 'no-trunc'))));
        else if (flagString(f, 'format') === 'json') {
          io.out(jsonLines(nets.map((n) => ({ ID: n.id.slice(0, 12), Name: n.name, Driver: n.driver, Scope: 'local', Internal: n.internal, CreatedAt: n.created, Labels: n.labels }))));
        } else {
          io.out(table(nets.map((n) => [truncateId(n.id, flagBool(f, 'no-trunc')), n.name, n.driver, 'local']), ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE']));
        }
        return 0;
      }
      case 'network inspect':
        return await inspectEach(io, p.args, (ref) => networkInspect(ctx, [ref]).then((o) => o[0]!));
      case 'network rm': {
        const removed = await networkRemove(ctx, p.args);
        if (!ctx.dryRun) removed.forEach((r) => io.out(r));
        return 0;
      }
      case 'network prune': {
        if (!flagBool(f, 'force') && !ctx.dryRun) {
          io.err('WARNING! This will remove all custom networks not used by at least one sandbox.\nAre you sure you want to continue? [y/N] ');
          const answer = (await io.stdin()).trim().toLowerCase();
          if (answer !== 'y' && answer !== 'yes') return 0; // as Docker: nothing removed, not an error
        }
        const removed = await networkPrune(ctx);
        if (removed.length && !ctx.dryRun) io.out(`Deleted Networks:\n${removed.join('\n')}`);
        return 0;
      }
      case 'network connect':
        await sandboxConnect(ctx, p.args[0]!, p.args[1]!, {
          ...(flagString(f, 'ip') && { ip: flagString(f, 'ip')! }), aliases: flagList(f, 'alias'),
        });
        return 0;
      case 'network disconnect':
        await sandboxDisconnect(ctx, p.args[0]!, p.args[1]!);
        return 0;
      case 'create': {
        const sb = await sandboxCreate(ctx, { ...sandboxRequest(f), ...(p.rest.length && { command: p.rest }) });
        if (!ctx.dryRun) io.out(sb.id);
        return 0;
      }
      case 'run': {
        try {
          const r = await sandboxRun(ctx, sandboxRequest(f), p.rest, {
            detach: flagBool(f, 'detach'), rm: flagBool(f, 'rm'), env: flagList(f, 'env'),
            ...(flagString(f, 'workdir') && { workdir: flagString(f, 'workdir')! }),
          });
          if (flagBool(f, 'detach') && !ctx.dryRun) io.out(r.sandbox.id);
          return r.exitCode ?? 0;
        } catch (e) {
          throw Object.assign(e as Error, { runExit: runExitCode(e) });
        }
      }
      case 'exec': {
        try {
          const code = await sandboxExec(ctx, p.args[0]!, p.rest, {
            detach: flagBool(f, 'detach'), env: flagList(f, 'env'),
            ...(flagString(f, 'workdir') && { workdir: flagString(f, 'workdir')! }),
          });
          return code ?? 0;
        } catch (e) {
          throw Object.assign(e as Error, { runExit: runExitCode(e) });
        }
      }
      case 'rm': {
        const removed = await sandboxRemove(ctx, p.args, { force: flagBool(f, 'force') });
        if (!ctx.dryRun) removed.forEach((r) => io.out(r));
        return 0;
      }
      case 'ps': {
        const all = flagBool(f, 'all');
        const noTrunc = flagBool(f, 'no-trunc');
        const { rows, damaged } = await usingState(ctx, async (s) => {
          const scan = await s.sandboxes.scan();
          return {
            rows: scan.records.sort((a, b) => (a.created < b.created ? 1 : -1)) // newest first, as docker ps
              .map((sb) => ({ sb, status: liveStatus(sb) })),
            damaged: scan.damaged,
          };
        });
        const shown = rows.filter((r) => all || r.status === 'running');
        // Damaged records: listed by ps -a (their state is unknown), counted by ps.
        const bad = all ? damaged : [];
        if (!all && damaged.length) io.err(`nsnet: ${damaged.length} sandbox record(s) damaged: ${damaged.map((d) => d.name).join(', ')} (nsnet ps -a lists them)`);
        if (flagBool(f, 'quiet')) {
          shown.forEach((r) => io.out(truncateId(r.sb.id, noTrunc)));
          bad.forEach((d) => io.out(damagedId(d) ? truncateId(damagedId(d)!, noTrunc) : d.name));
        } else if (flagString(f, 'format') === 'json') {
          io.out(jsonLines([...shown.map((r) => psJson(r.sb, r.status)), ...bad.map(psDamagedJson)]));
        } else {
          io.out(table([...shown.map((r) => psRow(r.sb, r.status, noTrunc)), ...bad.map((d) => psDamagedRow(d, noTrunc))], PS_HEADERS));
        }
        return 0;
      }
      case 'system reconcile': {
        const { systemReconcile } = await import('../docker/reconcile.js');
        const r = await systemReconcile(ctx);
        // What it could not bring back (a lost network's options, say) is for the user to look at;
        // the state itself is consistent again, so this is a warning, not a failure.
        for (const line of r.problems) io.err(`warning: not repaired: ${line}`);
        if (ctx.dryRun) return 0;
        for (const line of r.repaired) io.out(`repaired: ${line}`);
        if (!r.repaired.length && !r.problems.length) io.out('nothing to repair');
        return 0;
      }
      case 'graph': {
        const { topology, toDot, toMermaid, toSvg } = await import('../graph/topology.js');
        const t = await usingState(ctx, async (s) => topology(s.networks, await s.sandboxes.all()));
        const format = flagString(f, 'format') ?? 'svg';
        io.out(format === 'dot' ? toDot(t) : format === 'mermaid' ? toMermaid(t) : toSvg(t));
        return 0;
      }
      case 'inspect': {
        const type = flagString(f, 'type');
        return await inspectEach(io, p.args, (ref) => usingState(ctx, (s) => inspectOne(ctx, s, ref, type)));
      }
      default:
        throw new UsageError(`unknown command "${p.command}"`, p.command);
    }
  } finally {
    await ctx.host.close();
  }
}

/**
 * `nsnet tour`: re-runs itself inside scripts/sandbox.sh (a private network
 * and mount namespace), so the walkthrough never touches this machine's network.
 */
async function tour(p: Extract<Parsed, { kind: 'command' }>, io: Io): Promise<number> {
  const bin = process.argv[1]!;
  if (io.env.NSNET_IN_SANDBOX !== '1') {
    const { spawnSync } = await import('node:child_process');
    const sandbox = new URL('../../scripts/sandbox.sh', import.meta.url).pathname;
    const graph = flagString(p.flags, 'graph');
    const r = spawnSync('bash', [sandbox, process.execPath, bin, 'tour', ...(flagBool(p.flags, 'step') ? ['--step'] : []),
      ...(flagBool(p.flags, 'json') ? ['--json'] : []), ...(graph ? ['--graph', path.resolve(graph)] : [])],
      { stdio: 'inherit', env: io.env });
    return r.status ?? 1;
  }
  const { runTour } = await import('../tour/tour.js');
  const json = flagBool(p.flags, 'json');
  const steps = await runTour({
    json,
    step: flagBool(p.flags, 'step'),
    out: io.out,
    color: !!process.stdout.isTTY && !io.env.NO_COLOR,
    waitForEnter: async () => {
      io.err('  (Enter for the next step)');
      await io.stdin();
    },
    dnsArgv: (root) => [bin, '--root', root, 'dns'],
    ...(flagString(p.flags, 'graph') && { graphFile: flagString(p.flags, 'graph')! }),
  });
  const ok = steps.every((s) => s.checks.length > 0 && s.checks.every((c) => c.ok));
  if (json) io.out(JSON.stringify({ ok, steps }, null, 2));
  else io.out(ok ? '\nEvery expectation met.' : '\nSome expectations were NOT met (see above).');
  return ok ? 0 : 1;
}

/** `nsnet inspect REF`: a sandbox, or else a network (`--type` picks one). */
async function inspectOne(ctx: Context, s: State, ref: string, type: string | undefined): Promise<object> {
  if (type !== 'network') {
    try {
      const sb = await findSandbox(s, ref);
      const owner = sb.containerOf ? await s.sandboxes.byId(sb.containerOf) : sb;
      return inspectSandbox(sb, owner, readableNetworks(ctx, s), liveStatus(sb), ctx.etcNetns);
    } catch (e) {
      if (!(e instanceof NsnetError && e.kind === 'NotFound')) throw e;
      // A record gone while the id index still names it: as damaged as a broken file.
      const orphan = (await s.sandboxes.scan()).damaged.find((d) => d.name === ref);
      if (orphan) throw new DamagedStateError(orphan.path, orphan.problem, recordHint(orphan.name));
      if (type === 'sandbox') throw e;
    }
  }
  try {
    return inspectNetwork(findNetwork(s, ref), await s.sandboxes.all());
  } catch (e) {
    if (e instanceof NsnetError && e.kind === 'NotFound') throw new NsnetError('NotFound', `No such object: ${ref}`);
    throw e;
  }
}

/**
 * `inspect` and `network inspect`, as Docker does them: every object found is
 * printed (`[]` when none is), then each one that isn't is an error.
 */
async function inspectEach(io: Io, refs: string[], one: (ref: string) => Promise<object>): Promise<number> {
  const objects: object[] = [];
  try {
    await forEachRef(refs, async (ref) => {
      objects.push(await one(ref));
    });
  } catch (e) {
    if (e instanceof NsnetError && e.kind === 'NotFound') io.out(inspectJson(objects));
    throw e;
  }
  io.out(inspectJson(objects));
  return 0;
}

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

