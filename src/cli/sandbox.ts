// The sandbox commands that make, remove and show sandboxes: create, rm, ps,
// inspect (run and exec, which run a program, are in run.ts).
import { usingState } from '../docker/networks.js';
import { liveStatus, sandboxRemove } from '../docker/process.js';
import { damagedId, psDamagedJson, psDamagedRow, psJson, psRow, PS_HEADERS } from '../docker/sandbox-view.js';
import { sandboxCreate, type SandboxCreateRequest } from '../docker/sandboxes.js';
import type { FlagsOf } from './commands.js';
import { withContext } from './context.js';
import { inspectEach, inspectOne } from './inspect.js';
import { jsonLines, table, truncateId } from './output.js';

/** The sandbox `create` and `run` describe (run takes create's options, and more). */
export function sandboxRequest(f: FlagsOf<'create'>): SandboxCreateRequest {
  return {
    ...(f.name !== undefined && { name: f.name }),
    ...(f.network !== undefined && { network: f.network }),
    ...(f.ip !== undefined && { ip: f.ip }),
    ...(f['mac-address'] !== undefined && { mac: f['mac-address'] }),
    ...(f.hostname !== undefined && { hostname: f.hostname }),
    ...(f.pid !== undefined && { pid: f.pid }),
    aliases: f['network-alias'],
    links: f.link,
    publish: f.publish,
    publishAll: f['publish-all'],
    expose: f.expose,
    dns: f.dns,
    dnsSearch: f['dns-search'],
    dnsOptions: f['dns-option'],
    addHosts: f['add-host'],
    labels: f.label,
  };
}

export const create = withContext<'create'>(async (ctx, { flags, rest }, io) => {
  const sb = await sandboxCreate(ctx, { ...sandboxRequest(flags), ...(rest.length && { command: rest }) });
  if (!ctx.dryRun) io.out(sb.id);
  return 0;
});

export const rm = withContext<'rm'>(async (ctx, { flags, args }, io) => {
  const removed = await sandboxRemove(ctx, args, { force: flags.force });
  if (!ctx.dryRun) removed.forEach((r) => io.out(r));
  return 0;
});

export const ps = withContext<'ps'>(async (ctx, { flags }, io) => {
  const all = flags.all;
  const noTrunc = flags['no-trunc'];
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
  if (flags.quiet) {
    shown.forEach((r) => io.out(truncateId(r.sb.id, noTrunc)));
    bad.forEach((d) => io.out(damagedId(d) ? truncateId(damagedId(d)!, noTrunc) : d.name));
  } else if (flags.format === 'json') {
    io.out(jsonLines([...shown.map((r) => psJson(r.sb, r.status)), ...bad.map(psDamagedJson)]));
  } else {
    io.out(table([...shown.map((r) => psRow(r.sb, r.status, noTrunc)), ...bad.map((d) => psDamagedRow(d, noTrunc))], PS_HEADERS));
  }
  return 0;
});

export const inspect = withContext<'inspect'>(async (ctx, { flags, args }, io) =>
  inspectEach(io, args, (ref) => usingState(ctx, (s) => inspectOne(ctx, s, ref, flags.type))),
);
