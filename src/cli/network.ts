// `nsnet network ...`: what each network command does once its line is parsed.
import { sandboxConnect, sandboxDisconnect } from '../docker/connect.js';
import { networkCreate as create, networkInspect as inspect, networkList, networkPrune as prune, networkRemove } from '../docker/networks.js';
import { withContext } from './context.js';
import { inspectEach } from './inspect.js';
import { jsonLines, table, truncateId } from './output.js';

export const networkCreate = withContext<'network create'>(async (ctx, { flags, args }, io) => {
  const n = await create(ctx, {
    name: args[0]!,
    driver: flags.driver,
    ...(flags.subnet && { subnet: flags.subnet }),
    ...(flags['ip-range'] && { ipRange: flags['ip-range'] }),
    ...(flags.gateway && { gateway: flags.gateway }),
    internal: flags.internal,
    options: flags.opt,
    labels: flags.label,
  });
  if (!ctx.dryRun) io.out(n.id);
  return 0;
});

export const networkLs = withContext<'network ls'>(async (ctx, { flags }, io) => {
  const nets = await networkList(ctx);
  if (flags.quiet) nets.forEach((n) => io.out(truncateId(n.id, flags['no-trunc'])));
  else if (flags.format === 'json') {
    io.out(jsonLines(nets.map((n) => ({ ID: n.id.slice(0, 12), Name: n.name, Driver: n.driver, Scope: 'local', Internal: n.internal, CreatedAt: n.created, Labels: n.labels }))));
  } else {
    io.out(table(nets.map((n) => [truncateId(n.id, flags['no-trunc']), n.name, n.driver, 'local']), ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE']));
  }
  return 0;
});

export const networkInspect = withContext<'network inspect'>(async (ctx, { args }, io) =>
  inspectEach(io, args, (ref) => inspect(ctx, [ref]).then((o) => o[0]!)),
);

export const networkRm = withContext<'network rm'>(async (ctx, { args }, io) => {
  const removed = await networkRemove(ctx, args);
  if (!ctx.dryRun) removed.forEach((r) => io.out(r));
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
  await sandboxConnect(ctx, args[0]!, args[1]!, { ...(flags.ip && { ip: flags.ip }), aliases: flags.alias });
  return 0;
});

export const networkDisconnect = withContext<'network disconnect'>(async (ctx, { args }) => {
  await sandboxDisconnect(ctx, args[0]!, args[1]!);
  return 0;
});
