// A CNI node's pod CIDR, leased from the cluster store (flannel's subnet
// lease, docs/cni.md "Pod CIDRs from etcd"): a CNI configuration with
// `ipam: {type: "nsnet"}`, no subnet and a `clusterCIDR` on a node with a
// cluster store gets the lowest free /24 (podCIDRPrefixLen) of the cluster
// range, and that block becomes its nsnet network's subnet (gateway .1 on the
// bridge). The other nodes route it to this node's address (pod-routes.ts).
//
//   etcdctl get --prefix /nsnet/v1/podcidrs/
//   /nsnet/v1/podcidrs/10.244.0.0_16/10.244.1.0_24  {"host":"node1-1a2b3c4d","hostAddress":"198.51.100.1"}
//
// The lease hangs on the host's etcd lease (hosts/<id>), which the resident
// nsnet process renews; a node asks by its host id first, so it keeps its
// CIDR across restarts. Which store: the configuration's `clusterStore`,
// else NSNET_CLUSTER_STORE, else "cluster-store" in daemon.json; the network
// records it (label nsnet.cni.pod-cidr-store) so the resident process, which
// may not have been told of the store, follows it too.
import { routeAdd, routeAddCommand, routeDel, type RouteSpec } from '../kernel/route.js';
import type { Netns } from '../kernel/netns.js';
import type { PodCidrs } from '../state/cluster/cluster-store.js';
import { clusterStore, closeClusterStore } from './cluster.js';
import type { Context } from './context.js';
import { readDaemonConfig } from './daemon-config.js';
import { NsnetError } from './errors.js';
import { hostLease, overlayHost } from './overlay-host.js';
import type { Step } from './plan.js';

/** On a network whose subnet is a leased pod CIDR: the store it was leased from. */
export const POD_CIDR_STORE_LABEL = 'nsnet.cni.pod-cidr-store';

/**
 * rtm_protocol of nsnet's routes to other nodes' pod CIDRs (`ip route show
 * proto 78`, 78 = 'N'): how nsnet tells its routes from the administrator's
 * (iproute2's rt_protos names none there).
 */
export const POD_ROUTE_PROTO = 78;

export interface StoreSetting {
  url: string;
  from: string;
}

/** The store a CNI configuration's pod CIDR comes from, or undefined: no store, the CIDR is not leased. */
export function podCidrStore(ctx: Context, confUrl: unknown): StoreSetting | undefined {
  if (confUrl !== undefined) {
    if (typeof confUrl !== 'string' || !confUrl) throw new NsnetError('InvalidArgument', `"clusterStore" must be a store URL (etcd://HOST:2379[,HOST:2379...]), got ${JSON.stringify(confUrl)}`);
    return { url: confUrl, from: 'the CNI configuration\'s clusterStore' };
  }
  if (ctx.clusterStore) return ctx.clusterStore;
  const url = readDaemonConfig(ctx.configFile).clusterStore;
  return url ? { url, from: ctx.configFile! } : undefined;
}

/** A context on store `s` (its own: clusterStore() and overlayHost() are kept per context); closeClusterStore() it after. */
export function storeContext(ctx: Context, s: StoreSetting): Context {
  return { ...ctx, clusterStore: s };
}

/** The store's pod CIDR operations (loaded on first use: single-host nsnet never loads the store's code). */
export async function podCidrs(ctx: Context): Promise<PodCidrs> {
  const [store, { PodCidrs: P }] = await Promise.all([clusterStore(ctx), import('../state/cluster/cluster-store.js')]);
  return new P(store);
}

/** A store failure as nsnet's error: Unavailable when the store could not be used, naming it. */
export function storeFailure(what: string, e: unknown): NsnetError {
  if (e instanceof NsnetError) return e;
  const kind = (e as Error).name === 'ClusterStoreError' ? 'Unavailable' : 'InvalidArgument';
  return new NsnetError(kind, `${what}: ${(e as Error).message}`, { cause: e });
}

/** This node's pod CIDR of `clusterCidr` (the one it holds, else a new one), as the subnet of its network. */
export async function leasePodCidr(ctx: Context, o: { store: StoreSetting; clusterCidr: string; prefixLen: number }): Promise<{ subnet: string }> {
  const sctx = storeContext(ctx, o.store);
  try {
    const [leases, host, rec] = await Promise.all([podCidrs(sctx), overlayHost(sctx), hostLease(sctx)]);
    const l = await leases.lease(o.clusterCidr, { host: host.id, hostAddress: host.address, lease: rec.lease, prefixLen: o.prefixLen });
    return { subnet: l.cidr };
  } catch (e) {
    throw storeFailure(`leasing a pod CIDR of ${o.clusterCidr} (cluster store from ${o.store.from})`, e);
  } finally {
    closeClusterStore(sctx);
  }
}

/** The route to another node's pod CIDR, as nsnet writes it. */
export function podRoute(cidr: string, via: string): RouteSpec {
  return { dst: cidr, via, protocol: POD_ROUTE_PROTO };
}

/**
 * The route to another node's pods (flannel host-gw): `ip route add CIDR via
 * NODE proto 78`; its undo deletes exactly that route.
 */
export function podRouteSteps(host: Netns, l: { cidr: string; hostAddress: string; host: string }): Step[] {
  const r = { ...podRoute(l.cidr, l.hostAddress), for: `pod CIDR of node ${l.host}` };
  return [{
    title: `routing pod CIDR ${l.cidr} of node ${l.host} via ${l.hostAddress}`,
    equivalent: [routeAddCommand(host.name, r)],
    do: () => routeAdd(host, r),
    undo: {
      title: `deleting the route to pod CIDR ${l.cidr} via ${l.hostAddress}`,
      equivalent: [routeAddCommand(host.name, r).replace(' route add ', ' route del ')],
      do: () => routeDel(host, r),
    },
  }];
}
