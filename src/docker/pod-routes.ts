// Routes to the other CNI nodes' pods (flannel's host-gw backend), kept by the
// resident nsnet process (`nsnet dns`): for every network here whose subnet is
// a pod CIDR leased from a cluster store (pod-cidr.ts), it renews the host's
// etcd lease, holds this node's CIDR in the store, and follows the cluster
// range's leases: each other node's CIDR gets a route via that node's address,
// which goes when the lease does (the node's lease expired, or it gave it up).
//
//   etcdctl watch --prefix /nsnet/v1/podcidrs/10.244.0.0_16/   what it follows
//   ip route show proto 78                                      what it writes
//
// The first read of the store (and a re-read after a compaction) reconciles
// the node's routes with it: routes nsnet made (proto 78) inside the cluster
// range that no lease names are deleted, missing ones added. Routes stay when
// the process stops (pods keep talking); the next one reconciles them. A
// network removed here takes the routes of its range with it (at the
// process's next read of the state: the next sandbox change).
//
// host-gw needs the nodes on one L2 segment (the route's `via` must be on a
// link of this node); a node elsewhere is logged and not routed: nsnet does
// not tunnel pod traffic between nodes (flannel's vxlan backend would).
import { KernelError } from '../kernel/errors.js';
import { routeList } from '../kernel/route.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import type { HostRecord, PodCidrLease } from '../state/cluster/keys.js';
import { clusterStore, closeClusterStore } from './cluster.js';
import type { Context } from './context.js';
import { overlayHost, ttlOf } from './overlay-host.js';
import { podCidrs, podRouteSteps, POD_CIDR_STORE_LABEL, POD_ROUTE_PROTO, storeContext } from './pod-cidr.js';
import { removeSteps, runSteps } from './plan.js';
import type { NetworkRecord } from './types.js';

export interface PodRoutes {
  /** The networks here now (after each state read): starts following the stores and ranges they lease from, stops the others. */
  follow(networks: readonly NetworkRecord[]): void;
  close(): void;
}

/** One cluster range of one store, and this node's CIDRs in it (normally one). */
interface Range {
  url: string;
  cluster: string;
  own: string[];
}

/** The ranges the networks lease from (pure). */
export function leasedRanges(networks: readonly NetworkRecord[]): Map<string, Range> {
  const out = new Map<string, Range>();
  for (const n of networks) {
    const url = n.labels?.[POD_CIDR_STORE_LABEL];
    if (!url || !n.clusterCidr || !n.subnet) continue;
    const key = `${url} ${n.clusterCidr}`;
    const r = out.get(key) ?? { url, cluster: n.clusterCidr, own: [] };
    r.own.push(n.subnet);
    out.set(key, r);
  }
  return out;
}

/** Is `cidr` inside `cluster`? */
const inside = (cidr: string, cluster: string): boolean => {
  const a = parseIpv4Block(cidr);
  const c = parseIpv4Block(cluster);
  return a.network >= c.network && a.network + a.size <= c.network + c.size;
};

export function watchPodRoutes(ctx: Context, o: { log(line: string): void; retryMs?: number }): PodRoutes {
  const following = new Map<string, { own: string; stop(unroute: boolean): void }>();
  return {
    follow(networks) {
      const want = leasedRanges(networks);
      for (const [key, f] of following) {
        if (want.get(key)?.own.join() === f.own) continue;
        f.stop(true); // the network is gone (or changed): so are its routes
        following.delete(key);
      }
      for (const [key, r] of want) if (!following.has(key)) following.set(key, { own: r.own.join(), stop: followRange(ctx, r, o) });
    },
    close() {
      for (const f of following.values()) f.stop(false);
      following.clear();
    },
  };
}

/**
 * Follows one range until the returned stop() (never throws: a store that
 * cannot be reached is retried, and logged). stop(true) also deletes the
 * routes it made (the network is gone); stop(false) leaves them (the process stops).
 */
function followRange(ctx: Context, r: Range, o: { log(line: string): void; retryMs?: number }): (unroute: boolean) => void {
  const sctx = storeContext(ctx, { url: r.url, from: `label ${POD_CIDR_STORE_LABEL}` });
  const log = (l: string) => o.log(`pod routes: ${r.cluster}: ${l}`);
  let closed = false;
  const stops: (() => void)[] = [];
  /** The other nodes' CIDRs routed here now, and via where. */
  const routed = new Map<string, PodCidrLease>();
  let hostId = '';
  let hostAddress = '';
  let queue = Promise.resolve();
  const enqueue = (what: string, fn: () => Promise<void>) => {
    queue = queue.then(() => (closed ? undefined : fn())).catch((e: Error) => log(`${what}: ${e.message}`));
  };

  const route = async (l: PodCidrLease) => {
    const had = routed.get(l.cidr);
    if (had?.hostAddress === l.hostAddress) return;
    if (had) await unroute(l.cidr);
    try {
      await runSteps(podRouteSteps(ctx.host, l));
      routed.set(l.cidr, l);
    } catch (e) {
      if (e instanceof KernelError && (e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH')) {
        log(`not routing ${l.cidr} of node ${l.host}: ${l.hostAddress} is not on a link of this node (host-gw routing needs the nodes on one L2 segment)`);
      } else throw e;
    }
  };
  const unroute = async (cidr: string) => {
    const had = routed.get(cidr);
    if (!had) return;
    routed.delete(cidr);
    await removeSteps(podRouteSteps(ctx.host, had));
  };
  const isOther = (l: PodCidrLease) => l.host !== hostId && !r.own.includes(l.cidr) && inside(l.cidr, r.cluster);

  /** The node's routes in line with the leases: what nsnet routed in the range and no lease names goes. */
  const reconcile = async (leases: PodCidrLease[]) => {
    const want = new Map(leases.filter(isOther).map((l) => [l.cidr, l]));
    routed.clear();
    for (const k of await routeList(ctx.host, { family: 4 })) {
      if (k.protocol !== String(POD_ROUTE_PROTO) || k.dst === 'default' || !k.gateway) continue;
      const cidr = `${k.dst}/${k.dstLen}`;
      if (!inside(cidr, r.cluster)) continue;
      const l = want.get(cidr);
      if (l?.hostAddress === k.gateway) routed.set(cidr, l);
      else await removeSteps(podRouteSteps(ctx.host, { cidr, hostAddress: k.gateway, host: 'no longer in the store' }));
    }
    const had = routed.size;
    for (const l of want.values()) if (!routed.has(l.cidr)) await route(l);
    log(`${routed.size} node(s) routed (${routed.size - had} route(s) added), this node ${hostAddress} has ${r.own.join(', ')}`);
  };

  /** Holds this node's CIDRs under the host's current lease; a CIDR another node took meanwhile is a conflict, said loudly. */
  const reassert = async (rec: HostRecord) => {
    const leases = await podCidrs(sctx);
    for (const cidr of r.own) {
      const other = await leases.reassert(r.cluster, cidr, { host: hostId, hostAddress, lease: rec.lease });
      if (other) log(`CONFLICT: this node's pod CIDR ${cidr} is leased to node ${other.host} (${other.hostAddress}) since this node's lease expired; pods here and there overlap: remove this node's pods and its network, then ADD again to lease another CIDR`);
    }
  };

  const keep = (rec: HostRecord) => {
    void clusterStore(sctx).then((store) => {
      if (closed) return;
      const keeper = store.keep(rec, ttlOf(), {
        onExpired: () => {
          log(`lease ${rec.lease} of host ${rec.id} expired; joining again and holding ${r.own.join(', ')} again`);
          enqueue('joining again', async () => {
            const again = await store.join({ id: hostId, address: hostAddress }, ttlOf());
            await reassert(again);
            keep(again);
          });
        },
        onError: (e) => log(`renewing lease ${rec.lease}: ${e.message}`),
      });
      stops.push(() => keeper.stop());
    });
  };

  const start = async () => {
    const store = await clusterStore(sctx);
    const host = await overlayHost(sctx);
    hostId = host.id;
    hostAddress = host.address;
    const rec = await store.join({ id: host.id, address: host.address }, ttlOf());
    keep(rec);
    await reassert(rec);
    const watch = await (await podCidrs(sctx)).watch(r.cluster, {
      onSnapshot: (leases) => enqueue('reconciling with the store', () => reconcile(leases)),
      onPut: (l) => enqueue(`lease ${l.cidr} of node ${l.host}`, async () => {
        if (isOther(l)) await route(l);
        else await unroute(l.cidr);
      }),
      onDelete: (cidr) => enqueue(`lease ${cidr} gone`, () => unroute(cidr)),
      onError: (e) => log(`watch: ${e.message}`),
    });
    stops.push(() => watch.close());
  };

  const attempt = () => {
    if (closed) return;
    start().catch((e: Error) => {
      log(`${e.message}; trying again`);
      for (const s of stops.splice(0)) s();
      const t = setTimeout(attempt, o.retryMs ?? 2000);
      stops.push(() => clearTimeout(t));
    });
  };
  attempt();

  return (unrouteAll) => {
    closed = true;
    for (const s of stops.splice(0)) s();
    closeClusterStore(sctx);
    if (!unrouteAll) return;
    // After whatever change is under way (closed: nothing queued after it starts).
    void queue.then(async () => {
      const gone = [...routed.values()];
      routed.clear();
      await removeSteps(gone.flatMap((l) => podRouteSteps(ctx.host, l)));
    }).catch((e: Error) => log(`deleting the routes of a network gone: ${e.message}`));
  };
}
