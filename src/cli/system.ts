// `nsnet system reconcile` and `nsnet graph`: nsnet's state on this host,
// repaired or drawn.
import { usingState } from '../docker/networks.js';
import type { Context } from '../docker/context.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import type { DnsPorts, HostFacts } from '../graph/topology.js';
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

/**
 * What the picture needs beyond the records: the host's uplink, and in each
 * sandbox with the embedded DNS the two ports its port 53 is DNATed to (read
 * from the sandbox's own nft table, so the picture shows what is there, not
 * what should be). One nft listing per such sandbox: `nsnet graph` is rare.
 */
export async function graphFacts(ctx: Context, networks: NetworkRecord[], sandboxes: SandboxRecord[]): Promise<HostFacts> {
  const [{ hostUplink }, { usesEmbeddedDns }, { DNS_TABLE, parseDnsRedirect }, { netnsOpen }, { nftList }] = await Promise.all([
    import('../docker/host.js'), import('../docker/embedded-dns.js'), import('../dns/redirect.js'), import('../kernel/netns.js'), import('../kernel/nftables.js')]);
  const dns: Record<string, DnsPorts> = {};
  await Promise.all(sandboxes.filter((s) => s.netns && usesEmbeddedDns(networks, s)).map(async (s) => {
    const ns = await netnsOpen({ name: s.netns! }).catch(() => undefined);
    if (!ns) return;
    try {
      const ports = parseDnsRedirect(await nftList(ns, `table ip ${DNS_TABLE}`).catch(() => ''));
      if (ports) dns[s.id] = ports;
    } finally {
      await ns.close();
    }
  }));
  const uplink = await hostUplink(ctx.host).catch(() => undefined);
  return { ...(uplink && { uplink }), dns };
}

export const graph = withContext<'graph'>(async (ctx, { flags }, io) => {
  const { topology, toDot, toMermaid, toSvg } = await import('../graph/topology.js');
  const { networks, sandboxes } = await usingState(ctx, async (s) => ({ networks: s.networks, sandboxes: await s.sandboxes.all() }));
  const t = topology(networks, sandboxes, await graphFacts(ctx, networks, sandboxes));
  io.out(flags.format === 'dot' ? toDot(t) : flags.format === 'mermaid' ? toMermaid(t) : toSvg(t));
  return 0;
});
