// `nsnet network ...`: what each network command does once its line is parsed.
import { sandboxConnect, sandboxDisconnect } from '../docker/connect.js';
import { findNetwork, networkCreate as createLocal, networkInspect as inspect, networkPrune as prune, networkRemove, usingState } from '../docker/networks.js';
import { overlayCreate, overlayFind, overlayInspect, overlayList, overlayRemove } from '../docker/overlay.js';
import type { NetworkCreateRequest } from '../docker/network.js';
import type { Context } from '../docker/context.js';
import type { NetworkRecord } from '../docker/types.js';
import { completedRefs, forEachRef, NsnetError } from '../docker/errors.js';
import { withContext } from './context.js';
import { UsageError } from './usage-error.js';
import { inspectEach } from './inspect.js';
import { filterNetworks, NETWORK_FILTERS, parseFilters } from './filter.js';
import { inspectFormat, listFormat, renderList } from './format.js';
import { byNaturalName, networkContext, NETWORK_FIELD_HEADERS, NETWORK_LS_HEADERS, networkLsRow } from './list-context.js';
import { table, truncateId } from './output.js';

/** --subnet and --gateway, at most one of each per family (as Docker), split into the IPv4 and IPv6 ones. */
function byFamily(flag: string, values: string[]): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  for (const v of values) {
    const key = v.includes(':') ? 'v6' : 'v4';
    if (out[key]) throw new UsageError(`more than one ${key === 'v6' ? 'IPv6' : 'IPv4'} --${flag} (${out[key]}, ${v}): one per family`, 'network create');
    out[key] = v;
  }
  return out;
}

export const networkCreate = withContext<'network create'>(async (ctx, { flags, args }, io) => {
  const create = flags.driver === 'overlay' ? createOverlay : createLocal;
  const subnet = byFamily('subnet', flags.subnet);
  const gateway = byFamily('gateway', flags.gateway);
  if (subnet.v6 && !flags.ipv6) throw new UsageError(`IPv6 subnet ${subnet.v6} needs --ipv6`, 'network create');
  // The store's records and the VXLAN datapath are IPv4 only so far (docs/overlay.md).
  if (flags.driver === 'overlay' && flags.ipv6) throw new NsnetError('InvalidArgument', 'overlay networks do not support --ipv6 yet');
  const n = await create(ctx, {
    name: args[0]!,
    driver: flags.driver,
    ...(subnet.v4 && { subnet: subnet.v4 }),
    ...(flags['ip-range'] && { ipRange: flags['ip-range'] }),
    ...(gateway.v4 && { gateway: gateway.v4 }),
    ...(flags.ipv6 && { ipv6: true }),
    ...(subnet.v6 && { subnet6: subnet.v6 }),
    ...(gateway.v6 && { gateway6: gateway.v6 }),
    ...(Object.keys(flags['aux-address']).length > 0 && { auxAddresses: flags['aux-address'] }),
    internal: flags.internal,
    options: flags.opt,
    labels: flags.label,
  });
  if (!ctx.dryRun) io.out(n.id);
  return 0;
});

export const networkLs = withContext<'network ls'>(async (ctx, { flags }, io) => {
  const noTrunc = flags['no-trunc'];
  const format = listFormat(flags.format);
  const filters = parseFilters(flags.filter, NETWORK_FILTERS);
  // The cluster's overlay networks too, when there is a store; if it cannot be reached, the local ones with a warning.
  const global = await overlayList(ctx).catch((e: Error) => {
    ctx.warn(`nsnet: ${e.message} (overlay networks not listed)`);
    return [];
  });
  const nets = await usingState(ctx, async (s) => {
    // Which networks a sandbox is on: read only for `dangling`, the one filter that needs the sandboxes.
    const used = new Set<string>();
    if (filters.has('dangling')) for (const sb of await s.sandboxes.all()) sb.endpoints.forEach((e) => used.add(e.networkId));
    return filterNetworks([...s.networks, ...global], filters, (n) => used.has(n.id)).sort(byNaturalName);
  });
  // As Docker: a custom template wins over -q; -q wins over the default table.
  if (flags.quiet && format.kind !== 'template') nets.forEach((n) => io.out(truncateId(n.id, noTrunc)));
  else if (format.kind === 'default') {
    io.out(table(nets.map((n) => networkLsRow(n, noTrunc)), NETWORK_LS_HEADERS));
  } else {
    const text = renderList(format, nets.map((n) => networkContext(n, noTrunc)), NETWORK_FIELD_HEADERS);
    if (nets.length || (format.kind === 'template' && format.table)) io.out(text);
  }
  return 0;
});

export const networkInspect = withContext<'network inspect'>(async (ctx, { flags, args }, io) =>
  inspectEach(io, args, async (ref) => {
    try {
      return (await inspect(ctx, [ref]))[0]!;
    } catch (e) {
      // Not a local network: an overlay network of the cluster, if there is a store.
      const overlay = isNotFound(e) ? await overlayFind(ctx, ref) : undefined;
      if (!overlay) throw e;
      return overlayInspect(ctx, overlay);
    }
  }, inspectFormat(flags.format)),
);

const isNotFound = (e: unknown) => e instanceof NsnetError && e.kind === 'NotFound';

/** `network create -d overlay`: in the cluster store (the host's networks are read for a name clash). */
function createOverlay(ctx: Context, req: NetworkCreateRequest): Promise<NetworkRecord> {
  return usingState(ctx, (s) => s.networks).then((local) => overlayCreate(ctx, req, local));
}

/** Local networks first (the host's own state), then overlay networks of the store. */
async function removeNetworks(ctx: Context, refs: string[]): Promise<string[]> {
  if (!ctx.clusterStore) return networkRemove(ctx, refs);
  const local = await usingState(ctx, (s) => s.networks);
  const isLocal = (ref: string) => {
    try {
      findNetwork({ networks: local }, ref);
      return true;
    } catch {
      return false;
    }
  };
  return forEachRef(refs, async (ref) => {
    if (isLocal(ref)) await networkRemove(ctx, [ref]);
    else await overlayRemove(ctx, ref);
  });
}

export const networkRm = withContext<'network rm'>(async (ctx, { args }, io) => {
  // Each one removed is printed, also when another one failed (then the error follows, as Docker does).
  const print = (refs: string[]) => {
    if (!ctx.dryRun) refs.forEach((r) => io.out(r));
  };
  try {
    print(await removeNetworks(ctx, args));
  } catch (e) {
    print(completedRefs(e));
    throw e;
  }
  return 0;
});

export const networkPrune = withContext<'network prune'>(async (ctx, { flags }, io) => {
  if (!flags.force && !ctx.dryRun) {
    io.err('WARNING! This will remove all custom networks not used by at least one sandbox.\nAre you sure you want to continue? [y/N] ');
    const answer = ((await io.stdin()) ?? '').trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') return 0; // as Docker: nothing removed, not an error
  }
  const removed = await prune(ctx);
  if (removed.length && !ctx.dryRun) io.out(`Deleted Networks:\n${removed.join('\n')}`);
  return 0;
});

export const networkConnect = withContext<'network connect'>(async (ctx, { flags, args }) => {
  await sandboxConnect(ctx, args[0]!, args[1]!, { ...(flags.ip && { ip: flags.ip }), ...(flags.ip6 && { ip6: flags.ip6 }), aliases: flags.alias });
  return 0;
});

export const networkDisconnect = withContext<'network disconnect'>(async (ctx, { args }) => {
  await sandboxDisconnect(ctx, args[0]!, args[1]!);
  return 0;
});
