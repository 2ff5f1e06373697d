// A host's side of the cluster store, run by its long-lived process (the
// embedded DNS server, `nsnet dns`): it keeps the host's etcd lease alive (its
// endpoints and address claims hang on it), and follows every overlay
// network's endpoints, so the vxlan devices on this host get an fdb and a
// neighbour entry for each endpoint on another host as it appears, and lose
// them as it goes (rm, or its host's lease expired). docs/overlay.md.
//
//   etcdctl watch --prefix /nsnet/v1/endpoints/       what it follows
//   bridge fdb show dev vxlan4096 self; ip neigh show dev vxlan4096    what it writes
//
// Each change costs two netlink requests on this host, whatever the number of
// endpoints. The first read of the store (and a re-read after etcd compacted
// the watch's revisions away) reconciles every vxlan device here with it:
// what a host missed while its process was down is repaired then.
import { isNotFound } from '../kernel/errors.js';
import { linkGet, type Link } from '../kernel/link.js';
import { vxlanName } from '../kernel/vxlan.js';
import { readState } from '../state/store.js';
import type { HostRecord, OverlayEndpoint } from '../state/cluster/keys.js';
import { clusterStore } from './cluster.js';
import type { Context } from './context.js';
import { remoteOf } from './overlay-endpoint.js';
import { overlayHost, ttlOf, type OverlayHost } from './overlay-host.js';
import { removeSteps, runSteps } from './plan.js';
import type { NetworkRecord, SandboxRecord } from './types.js';
import { overlayEntries, overlayReconcileSteps, remoteEndpointSteps } from './vxlan.js';

export interface OverlayWatch {
  /** Every endpoint of the cluster now, by `<network>/<sandbox>` (the DNS server's names come from it). */
  readonly endpoints: ReadonlyMap<string, OverlayEndpoint>;
  /** Sandbox `id`'s endpoints now (one per overlay network it is on): a change's names without a walk over all of them. */
  endpointsOf(id: string): OverlayEndpoint[];
  /** This host's id in the store, once found (its own endpoints are the ones with this `host`). */
  readonly hostId: string | undefined;
  close(): void;
}

export interface OverlayWatchOptions {
  log(line: string): void;
  /** Called after each change to `endpoints`: the sandbox ids whose endpoints changed (undefined: all of them, a new snapshot). */
  onChange?(sandboxes: Set<string> | undefined): void;
  /** Wait between attempts to reach the store (default 2 s). */
  retryMs?: number;
}

/**
 * Starts following the store in the background (never throws: a store that
 * cannot be reached is retried, and logged). Without a store, does nothing.
 */
export function watchOverlay(ctx: Context, o: OverlayWatchOptions): OverlayWatch {
  const endpoints = new Map<string, OverlayEndpoint>();
  // The keys of `endpoints` by sandbox, kept with it.
  const bySandbox = new Map<string, Set<string>>();
  const set = (ep: OverlayEndpoint) => {
    const key = `${ep.network}/${ep.sandbox}`;
    endpoints.set(key, ep);
    (bySandbox.get(ep.sandbox) ?? bySandbox.set(ep.sandbox, new Set()).get(ep.sandbox)!).add(key);
  };
  const drop = (key: string, sandbox: string) => {
    endpoints.delete(key);
    const keys = bySandbox.get(sandbox);
    keys?.delete(key);
    if (keys?.size === 0) bySandbox.delete(sandbox);
  };
  let closed = false;
  const stops: (() => void)[] = [];
  let host: OverlayHost | undefined;
  const vnis = new Map<string, number>();
  // One change at a time, in the order etcd gave them.
  let queue = Promise.resolve();
  const enqueue = (what: string, fn: () => Promise<void>) => {
    queue = queue.then(fn).catch((e: Error) => o.log(`overlay: ${what}: ${e.message}`));
  };

  /** The network's vxlan device here, or undefined when no sandbox of it is here. */
  const device = async (network: string): Promise<{ vni: number; dev: Link } | undefined> => {
    let vni = vnis.get(network);
    if (vni === undefined) {
      const store = await clusterStore(ctx);
      for (const n of await store.listNetworks()) vnis.set(n.id, n.vni);
      vni = vnis.get(network);
      if (vni === undefined) return undefined;
    }
    try {
      return { vni, dev: await linkGet(ctx.host, vxlanName(vni)) };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const remote = (ep: OverlayEndpoint) => ep.host !== host?.id;

  const reconcileAll = async () => {
    const byNet = new Map<string, OverlayEndpoint[]>();
    for (const ep of endpoints.values()) byNet.set(ep.network, [...(byNet.get(ep.network) ?? []), ep]);
    const store = await clusterStore(ctx);
    for (const n of await store.listNetworks()) {
      vnis.set(n.id, n.vni);
      const d = await device(n.id);
      if (!d) continue;
      const want = (byNet.get(n.id) ?? []).filter(remote).map(remoteOf);
      const steps = overlayReconcileSteps(ctx.host, d.vni, want, await overlayEntries(ctx.host, d.vni, d.dev), d.dev);
      await runSteps(steps);
      if (steps.length) o.log(`overlay: ${n.name}: ${steps.length} entr${steps.length === 1 ? 'y' : 'ies'} brought in line with the store`);
    }
  };

  const start = async () => {
    const store = await clusterStore(ctx);
    host = await overlayHost(ctx);
    const rec = await store.join({ id: host.id, address: host.address }, ttlOf());
    keepLease(rec);
    const watch = await store.watchAllEndpoints({
      onSnapshot: (eps) => {
        endpoints.clear();
        bySandbox.clear();
        for (const ep of eps) set(ep);
        enqueue('reconciling with the store', reconcileAll);
        o.onChange?.(undefined);
      },
      onPut: (ep) => {
        const key = `${ep.network}/${ep.sandbox}`;
        const old = endpoints.get(key);
        set(ep);
        o.onChange?.(new Set([ep.sandbox]));
        if (!remote(ep) && !(old && remote(old))) return;
        enqueue(`endpoint ${ep.name} (${ep.ip} on ${ep.hostAddress})`, async () => {
          const d = await device(ep.network);
          if (!d) return;
          if (old && remote(old) && (old.mac !== ep.mac || old.hostAddress !== ep.hostAddress || old.ip !== ep.ip)) {
            await removeSteps(remoteEndpointSteps(ctx.host, d.vni, remoteOf(old), d.dev));
          }
          if (remote(ep)) await runSteps(remoteEndpointSteps(ctx.host, d.vni, remoteOf(ep), d.dev));
        });
      },
      onDelete: (network, sandbox) => {
        const key = `${network}/${sandbox}`;
        const old = endpoints.get(key);
        drop(key, sandbox);
        o.onChange?.(new Set([sandbox]));
        if (!old || !remote(old)) return;
        enqueue(`endpoint ${old.name} gone`, async () => {
          const d = await device(network);
          if (d) await removeSteps(remoteEndpointSteps(ctx.host, d.vni, remoteOf(old), d.dev));
        });
      },
      onError: (e) => o.log(`overlay: watch: ${e.message}`),
    });
    stops.push(() => watch.close());
    o.log(`overlay: host ${host.id} (${host.address} on ${host.underlay}) in cluster store ${store.url}`);
  };

  /** Renews the lease; when it was lost (cut off longer than its TTL), joins again and writes this host's endpoints back. */
  const keepLease = (rec: HostRecord) => {
    void clusterStore(ctx).then((store) => {
      if (closed) return;
      const keeper = store.keep(rec, ttlOf(), {
        onExpired: () => {
          o.log(`overlay: lease ${rec.lease} of host ${rec.id} expired; joining again`);
          enqueue('joining again', async () => keepLease(await rejoin()));
        },
        onError: (e) => o.log(`overlay: renewing lease ${rec.lease}: ${e.message}`),
      });
      stops.push(() => keeper.stop());
    });
  };

  const rejoin = async (): Promise<HostRecord> => {
    const store = await clusterStore(ctx);
    const rec = await store.join({ id: host!.id, address: host!.address }, ttlOf());
    // This host's sandboxes, from its own records: their claims and endpoints under the new lease.
    const state = await readState<NetworkRecord, SandboxRecord>(ctx.dirs);
    for (const sb of await state.sandboxes.all()) {
      for (const e of sb.endpoints) {
        if (!e.overlay || e.overlay.host !== host!.id) continue;
        const net = { id: e.networkId, name: e.overlay.network, subnet: e.overlay.subnet, gateway: e.gateway, vni: e.overlay.vni, driver: 'overlay' as const, internal: true, labels: {}, created: '' };
        try {
          await store.claimAddress(net, { host: host!.id, sandbox: sb.id, ip: e.ip, lease: rec.lease });
          await store.putEndpoint({ network: e.networkId, sandbox: sb.id, name: sb.name, aliases: e.aliases, ip: e.ip, mac: e.mac, host: host!.id, hostAddress: e.overlay.hostAddress }, rec.lease);
        } catch (x) {
          o.log(`overlay: ${sb.name} (${e.ip}) could not be written back: ${(x as Error).message}`);
        }
      }
    }
    return rec;
  };

  const attempt = () => {
    if (closed) return;
    start().catch((e: Error) => {
      o.log(`overlay: ${e.message}; trying again`);
      for (const s of stops.splice(0)) s();
      const t = setTimeout(attempt, o.retryMs ?? 2000);
      stops.push(() => clearTimeout(t));
    });
  };
  if (ctx.clusterStore) attempt();

  return {
    endpoints,
    endpointsOf: (id) => [...(bySandbox.get(id) ?? [])].map((k) => endpoints.get(k)!),
    get hostId() {
      return host?.id;
    },
    close() {
      closed = true;
      for (const s of stops.splice(0)) s();
    },
  };
}
