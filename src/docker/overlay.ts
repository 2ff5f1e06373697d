// Overlay networks as the Docker layer shows them: records of the cluster
// store (src/state/cluster), seen by every host, with Scope "global". This is
// the control side only - `network create -d overlay`, ls, inspect, rm; the
// datapath (a VXLAN device and bridge per network on each host with a sandbox
// on it, its FDB and neighbour entries) is built from the same records.
//
// The store is opened only when a command reaches an overlay network: a
// configured store that is down costs local networks nothing (ls warns).
import type { OverlayEndpoint, OverlayNetwork } from '../state/cluster/keys.js';
import { clusterStore } from './cluster.js';
import type { Context } from './context.js';
import { invalidArg, notFound, NsnetError } from './errors.js';
import type { NetworkCreateRequest } from './network.js';
import type { NetworkRecord } from './types.js';

/** Docker's overlay option that carries the VNI (`docker network inspect` shows it). */
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

/** An overlay network as a NetworkRecord (what ls, inspect and filters take). Pure. */
export function overlayRecord(n: OverlayNetwork): NetworkRecord {
  return {
    id: n.id, name: n.name, driver: 'overlay', scope: 'global', created: n.created, builtin: false, internal: n.internal,
    options: { [VXLAN_ID_OPTION]: String(n.vni) }, labels: n.labels, subnet: n.subnet, gateway: n.gateway, vni: n.vni,
  };
}

/** The store's errors as the Docker layer's ("Unavailable": the store cannot be reached). */
export async function inStore<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof NsnetError) throw e;
    const kind = (e as { conflict?: boolean }).conflict ? 'Conflict' : (e as Error).name === 'ClusterStoreError' ? 'Unavailable' : 'InvalidArgument';
    throw new NsnetError(kind, (e as Error).message, { cause: e });
  }
}

/** `network create -d overlay`: the record every host of the cluster sees (nothing is made on this host). */
export async function overlayCreate(ctx: Context, req: NetworkCreateRequest, local: NetworkRecord[]): Promise<NetworkRecord> {
  if (req.ipRange) throw invalidArg('--ip-range is not supported on overlay networks yet');
  if (req.auxAddresses && Object.keys(req.auxAddresses).length) throw invalidArg('--aux-address is not supported on overlay networks yet');
  const unknown = Object.keys(req.options ?? {});
  if (unknown.length) throw invalidArg(`overlay networks take no driver options yet (got ${unknown.join(', ')})`);
  // One name per host for every scope, as Docker: a local network of that name would shadow it here.
  if (local.some((n) => n.name === req.name)) throw new NsnetError('Conflict', `network with name ${req.name} already exists`);
  const store = await clusterStore(ctx);
  if (ctx.dryRun) return overlayRecord({ id: '', name: req.name, driver: 'overlay', subnet: req.subnet ?? '', gateway: req.gateway ?? '', vni: 0, internal: !!req.internal, labels: req.labels ?? {}, created: '' });
  const n = await inStore(() => store.createNetwork({
    name: req.name,
    ...(req.subnet !== undefined && { subnet: req.subnet }),
    ...(req.gateway !== undefined && { gateway: req.gateway }),
    internal: !!req.internal,
    labels: req.labels ?? {},
  }));
  return overlayRecord(n);
}

/** Every overlay network of the cluster; [] without a store. */
export async function overlayList(ctx: Context): Promise<NetworkRecord[]> {
  if (!ctx.clusterStore) return [];
  const store = await clusterStore(ctx);
  return (await inStore(() => store.listNetworks())).map(overlayRecord);
}

/** An overlay network by name, id or unique id prefix; undefined without a store or when there is none. */
export async function overlayFind(ctx: Context, ref: string): Promise<OverlayNetwork | undefined> {
  if (!ctx.clusterStore) return undefined;
  const store = await clusterStore(ctx);
  return inStore(() => store.findNetwork(ref));
}

/** `network inspect` of an overlay network: Docker's shape, its endpoints on every host, and the hosts as Peers. */
export async function overlayInspect(ctx: Context, n: OverlayNetwork): Promise<object> {
  const store = await clusterStore(ctx);
  const eps = await inStore(() => store.listEndpoints(n.id));
  return inspectOverlay(n, eps);
}

/** Pure: the inspect object from the network and its endpoints. */
export function inspectOverlay(n: OverlayNetwork, eps: OverlayEndpoint[]): object {
  const prefixlen = n.subnet.split('/')[1];
  const containers: Record<string, object> = {};
  for (const e of eps) containers[e.sandbox] = { Name: e.name, EndpointID: '', MacAddress: e.mac, IPv4Address: `${e.ip}/${prefixlen}`, IPv6Address: '' };
  const peers = new Map<string, string>();
  for (const e of eps) peers.set(e.host, e.hostAddress);
  const rec = overlayRecord(n);
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'global',
    Driver: 'overlay',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: true,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: rec.options,
    Labels: n.labels,
    Peers: [...peers].map(([name, ip]) => ({ Name: name, IP: ip })),
  };
}

/** `network rm` of an overlay network: refused while any host has an endpoint on it. */
export async function overlayRemove(ctx: Context, ref: string): Promise<void> {
  const n = await overlayFind(ctx, ref);
  if (!n) throw notFound(`network ${ref} not found`);
  if (ctx.dryRun) return;
  const store = await clusterStore(ctx);
  await inStore(() => store.removeNetwork(n));
}
