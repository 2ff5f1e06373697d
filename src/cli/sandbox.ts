// The sandbox commands that make, remove and show sandboxes: create, rm, ps,
// inspect (run and exec, which run a program, are in run.ts).
import { usingState } from '../docker/networks.js';
import { liveRecord, sandboxRemove } from '../docker/process.js';
import { damagedId, psDamagedJson, psDamagedRow, psRow, PS_HEADERS } from '../docker/sandbox-view.js';
import { checkRequest, sandboxCreate, type SandboxCreateRequest } from '../docker/sandboxes.js';
import { parseExpose, parsePublish } from '../docker/ports.js';
import type { FlagsOf } from './commands.js';
import { readableNetworks } from '../docker/repair.js';
import { completedRefs } from '../docker/errors.js';
import { withContext } from './context.js';
import { filterSandboxes, filtersImplyAll, parseFilters, PS_FILTERS } from './filter.js';
import { inspectFormat, listFormat, renderList } from './format.js';
import { inspectEach, inspectOne } from './inspect.js';
import { psContext, PS_FIELD_HEADERS } from './list-context.js';
import { table, truncateId } from './output.js';
import { struct } from './template/exec.js';

/** The sandbox `create` and `run` describe (run takes create's options, and more). */
export function sandboxRequest(f: FlagsOf<'create'>): SandboxCreateRequest {
  return {
    ...(f.name !== undefined && { name: f.name }),
    ...(f.network !== undefined && { network: f.network }),
    ...(f.ip !== undefined && { ip: f.ip }),
    ...(f.ip6 !== undefined && { ip6: f.ip6 }),
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
  const req = { ...sandboxRequest(flags), ...(rest.length && { command: rest }) };
  let sb;
  try {
    sb = await sandboxCreate(ctx, req);
  } catch (e) {
    throw Object.assign(e as Error, { runExit: createExitCode(req) });
  }
  if (!ctx.dryRun) io.out(sb.id);
  return 0;
});

/**
 * A failed `docker create` exits 125 when its client-side parse refused a
 * value (a port spec, --expose, a MAC, a DNS option, a host: container/create.go
 * and opts.go) and 1 for what the daemon refused (no such network, an address
 * outside the subnet, a name or address in use). nsnet checks both in one
 * place; on failure, the request's own values are checked again to tell which.
 */
export function createExitCode(req: SandboxCreateRequest): number {
  try {
    checkRequest(req);
    for (const p of req.publish ?? []) parsePublish(p);
    for (const e of req.expose ?? []) parseExpose(e);
  } catch {
    return 125;
  }
  return 1;
}

export const rm = withContext<'rm'>(async (ctx, { flags, args }, io) => {
  // Each one removed is printed, also when another one failed (then the error follows, as Docker does).
  const print = (refs: string[]) => {
    if (!ctx.dryRun) refs.forEach((r) => io.out(r));
  };
  try {
    print(await sandboxRemove(ctx, args, { force: flags.force }));
  } catch (e) {
    print(completedRefs(e));
    throw e;
  }
  return 0;
});

export const ps = withContext<'ps'>(async (ctx, { flags }, io) => {
  const noTrunc = flags['no-trunc'];
  // Checked before any work, as Docker checks them before asking the daemon.
  const format = listFormat(flags.format);
  const filters = parseFilters(flags.filter, PS_FILTERS);
  const all = flags.all || filtersImplyAll(filters);
  const needNetworks = format.kind !== 'default' || filters.has('network');
  const { rows, damaged, networks } = await usingState(ctx, async (s) => {
    const scan = await s.sandboxes.scan();
    return {
      rows: scan.records.sort((a, b) => (a.created < b.created ? 1 : -1)) // newest first, as docker ps
        .map((rec) => liveRecord(ctx, rec)).map((sb) => ({ sb, status: sb.status })),
      damaged: scan.damaged,
      networks: needNetworks ? readableNetworks(ctx, s) : [],
    };
  });
  const shown = filterSandboxes(rows.filter((r) => all || r.status === 'running'), filters, networks);
  // Damaged records: listed by ps -a (their state is unknown), counted by ps; a filter can't judge them.
  const bad = all && filters.size === 0 ? damaged : [];
  if (!all && damaged.length) io.err(`nsnet: ${damaged.length} sandbox record(s) damaged: ${damaged.map((d) => d.name).join(', ')} (nsnet ps -a lists them)`);
  if (flags.quiet) {
    if (format.kind === 'template') io.err('WARNING: Ignoring custom format, because both --format and --quiet are set.');
    shown.forEach((r) => io.out(truncateId(r.sb.id, noTrunc)));
    bad.forEach((d) => io.out(damagedId(d) ? truncateId(damagedId(d)!, noTrunc) : d.name));
  } else if (format.kind === 'default') {
    io.out(table([...shown.map((r) => psRow(r.sb, r.status, noTrunc)), ...bad.map((d) => psDamagedRow(d, noTrunc))], PS_HEADERS));
  } else {
    const now = Date.now();
    const items = [
      ...shown.map((r) => psContext(r.sb, r.status, networks, { noTrunc, now })),
      ...bad.map((d) => (format.kind === 'json' ? psDamagedJson(d) : struct('sandbox row', { ...emptyPsRow, ...psDamagedJson(d) }, { Label: () => '' }))),
    ];
    const text = renderList(format, items, PS_FIELD_HEADERS);
    // Nothing at all for no rows, but a table's header; an empty line for a row whose template printed nothing.
    if (items.length || (format.kind === 'template' && format.table)) io.out(text);
  }
  return 0;
});

/** A damaged record's row for templates: every placeholder there, empty but for what psDamagedJson knows. */
const emptyPsRow = Object.fromEntries(Object.keys(PS_FIELD_HEADERS).map((k) => [k, '']));

export const inspect = withContext<'inspect'>(async (ctx, { flags, args }, io) =>
  inspectEach(io, args, (ref) => usingState(ctx, (s) => inspectOne(ctx, s, ref, flags.type)), inspectFormat(flags.format)),
);
