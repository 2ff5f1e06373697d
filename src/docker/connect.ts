// `nsnet network connect|disconnect`: adding an endpoint (eth1, eth2, ...) to
// a live sandbox, or taking one away.
import { isNotFound } from '../kernel/errors.js';
import { linkDel, linkGet } from '../kernel/link.js';
import { netnsOpen } from '../kernel/netns.js';
import { routeAdd } from '../kernel/route.js';
import { iccElements } from '../nft/table.js';
import type { Context } from './context.js';
import { conflict, invalidArg, notFound } from './errors.js';
import { endpointSteps, planEndpoint, releaseAddress } from './endpoint.js';
import { writeSandboxFiles } from './files.js';
import { deleteElements } from './firewall.js';
import { findNetwork, usingState } from './networks.js';
import { runSteps } from './plan.js';
import { findSandbox, renderFiles, sameList } from './sandboxes.js';

/** Connects a live sandbox to one more network: `nsnet network connect`. */
export async function sandboxConnect(ctx: Context, netRef: string, sbRef: string, o: { ip?: string; aliases?: string[] } = {}): Promise<void> {
  const { sb, net, e, files, hasRoute } = await usingState(ctx, async (s) => {
    const net = findNetwork(s, netRef);
    const sb = await findSandbox(s, sbRef);
    if (sb.mode === 'container') throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    if (sb.mode === 'host' || net.driver === 'host') throw conflict('container cannot be disconnected from host network or connected to host network');
    if (sb.mode === 'none' || net.driver === 'null') throw conflict('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    if (sb.endpoints.some((x) => x.networkId === net.id)) throw conflict(`endpoint with name ${sb.name} already exists in network ${net.name}`);
    if (net.defaultBridge && sameList(o.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    const hasRoute = sb.endpoints.some((x) => !s.networks.find((n) => n.id === x.networkId)?.internal);
    const e = await planEndpoint(s, sb, net, { ...(o.ip && { ip: o.ip }), aliases: o.aliases ?? [] });
    const updated = { ...sb, endpoints: [...sb.endpoints, e] };
    s.sandboxes.put(updated);
    return { sb: updated, net, e, hasRoute, files: await renderFiles(s, updated) };
  });
  if (ctx.dryRun) {
    await runSteps([
      ...endpointSteps(ctx, sb, net, e, () => undefined as never, { defaultRoute: !hasRoute && !net.internal, ownVeth: true }),
      { title: 'rewriting hosts', equivalent: [`cat > ${ctx.etcNetns}/${sb.netns}/hosts <<'EOF'\n${files.hosts}EOF`], do: async () => {} },
    ], ctx.observe, true);
    return;
  }
  const ns = await netnsOpen({ name: sb.netns! });
  try {
    await runSteps([
      ...endpointSteps(ctx, sb, net, e, () => ns, { defaultRoute: !hasRoute && !net.internal, ownVeth: true }),
      { title: 'rewriting hosts', do: () => writeSandboxFiles(ctx.etcNetns, sb.netns!, files) },
    ], ctx.observe);
  } catch (err) {
    await usingState(ctx, async (s) => {
      const rec = await s.sandboxes.byId(sb.id);
      if (!rec) return;
      await releaseAddress(s, net, e.ip);
      s.sandboxes.put({ ...rec, endpoints: rec.endpoints.filter((x) => x.endpointId !== e.endpointId) });
    });
    throw err;
  } finally {
    await ns.close();
  }
  if (!net.defaultBridge) await ctx.dns?.sync(true, [sb.id]);
}

/** Disconnects a sandbox from a network: `nsnet network disconnect`. */
export async function sandboxDisconnect(ctx: Context, netRef: string, sbRef: string): Promise<void> {
  const sbId = await usingState(ctx, async (s) => {
    const net = findNetwork(s, netRef);
    const sb = await findSandbox(s, sbRef);
    const e = sb.endpoints.find((x) => x.networkId === net.id);
    if (!e) throw notFound(`sandbox ${sb.name} is not connected to network ${net.name}`);
    if (ctx.dryRun) {
      const next = sb.endpoints.find((x) => x !== e && !s.networks.find((n) => n.id === x.networkId)?.internal);
      await ctx.observe?.({
        title: `disconnecting ${sb.name} from ${net.name}`,
        equivalent: [
          `ip -n ${sb.netns} link del ${e.ifname}`,
          ...(net.icc === false ? [`nft delete element bridge nsnet icc_off_ports { "${e.hostVeth}" }`] : []),
          ...(next ? [`ip -n ${sb.netns} route add default via ${next.gateway}  # if ${e.ifname} carried it`] : []),
        ],
        do: async () => {},
      });
      return sb.id;
    }
    const ns = await netnsOpen({ name: sb.netns! });
    try {
      const peer = await linkGet(ns, e.ifname).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (peer) await linkDel(ns, peer, { for: `sandbox ${sb.name}` });
      if (net.icc === false) await deleteElements(ctx, iccElements('delete', e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`);
      sb.endpoints = sb.endpoints.filter((x) => x !== e);
      await releaseAddress(s, net, e.ip);
      s.sandboxes.put(sb);
      // If that link carried the default route, give it to the next network that has a gateway.
      const next = sb.endpoints.find((x) => !s.networks.find((n) => n.id === x.networkId)?.internal);
      if (next) await routeAdd(ns, { dst: 'default', via: next.gateway }).catch(() => {});
      await writeSandboxFiles(ctx.etcNetns, sb.netns!, await renderFiles(s, sb));
    } finally {
      await ns.close();
    }
    return sb.id;
  });
  if (!ctx.dryRun) await ctx.dns?.sync(false, [sbId]);
}

