// `nsnet system reconcile` and `nsnet graph`: nsnet's state on this host,
// repaired or drawn.
import { usingState } from '../docker/networks.js';
import { withContext } from './context.js';

export const systemReconcile = withContext<'system reconcile'>(async (ctx, _cmd, io) => {
  const { systemReconcile: reconcile } = await import('../docker/reconcile.js');
  const r = await reconcile(ctx);
  // What it could not bring back (a lost network's options, say) is for the user to look at;
  // the state itself is consistent again, so this is a warning, not a failure.
  for (const line of r.problems) io.err(`warning: not repaired: ${line}`);
  if (ctx.dryRun) return 0;
  for (const line of r.repaired) io.out(`repaired: ${line}`);
  if (!r.repaired.length && !r.problems.length) io.out('nothing to repair');
  return 0;
});

export const graph = withContext<'graph'>(async (ctx, { flags }, io) => {
  const { topology, toDot, toMermaid, toSvg } = await import('../graph/topology.js');
  const t = await usingState(ctx, async (s) => topology(s.networks, await s.sandboxes.all()));
  io.out(flags.format === 'dot' ? toDot(t) : flags.format === 'mermaid' ? toMermaid(t) : toSvg(t));
  return 0;
});
