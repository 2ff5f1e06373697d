// A sandbox on an overlay network (`nsnet run --network OV`, docs/overlay.md):
// an address claimed in the cluster store, the network's bridge and vxlan
// device on this host (made by its first sandbox here, removed by its last),
// entries for the network's endpoints on the other hosts, a veth as on a
// bridge network (MTU = underlay - 50), and the endpoint published in the
// store under this host's lease, for the other hosts to program theirs.
//
//   etcdctl txn: create /nsnet/v1/addresses/<net>/10.50.0.2 if absent (lease: this host's)
//   ip link add ov-<id> mtu 1450 ... type bridge; ip link add vxlan4096 ... master ov-<id> type vxlan id 4096 ...
//   bridge fdb replace MAC dev vxlan4096 dst OTHER_HOST self permanent; ip neigh replace IP lladdr MAC dev vxlan4096 nud permanent
//   ip link add vethXXX master ov-<id> mtu 1450 up type veth peer name eth0 netns web mtu 1450 address 02:42:0a:32:00:02
//   etcdctl put /nsnet/v1/endpoints/<net>/<sandbox> '{...}' --lease=<this host's>
//
// No default route here: an overlay endpoint has no way out. Unless the
// network is internal, the sandbox's next endpoint is eth1 on nsnet_gwbridge
// (gwbridge.ts, Docker's docker_gwbridge), planned and made in the same plan
// right after this one, which carries the default route (masqueraded by the
// host) and the published ports.
import { fdbPin, fdbPinCommand } from '../kernel/fdb.js';
import { linkGet } from '../kernel/link.js';
import { vxlanName } from '../kernel/vxlan.js';
import { checkStatic } from '../net/ipam.js';
import { parsePrefix } from '../net/ip.js';
import { macFromIPv4 } from '../net/mac.js';
import { readOverlayMembers, writeOverlayMembers } from '../state/overlay-members.js';
import type { OverlayEndpoint, OverlayNetwork } from '../state/cluster/keys.js';
import { clusterStore } from './cluster.js';
import type { Context } from './context.js';
import { endpointSteps } from './endpoint.js';
import { asInvalid } from './errors.js';
import { newId, vethName } from './names.js';
import type { SandboxNs } from './namespace.js';
import { inStore } from './overlay.js';
import { hostLease, overlayHost } from './overlay-host.js';
import { removeSteps, runSteps, type Step } from './plan.js';
import type { EndpointRecord, NetworkRecord, OverlayJoin, SandboxRecord } from './types.js';
import { overlayBridgeName, overlayEntries, overlayEntriesDiff, overlayNetworkSteps, remoteEndpointSteps, type OverlayNetworkSpec, type RemoteEndpoint } from './vxlan.js';

/** The network as the endpoint steps need it, from what the endpoint keeps (pure). */
export function overlayNetworkRecord(id: string, gateway: string, j: OverlayJoin): NetworkRecord {
  return {
    id, name: j.network, driver: 'overlay', scope: 'global', created: '', builtin: false, internal: true,
    options: {}, labels: {}, bridge: overlayBridgeName(id), subnet: j.subnet, gateway, vni: j.vni, mtu: j.mtu,
  };
}

/** An endpoint of the store as another host's entries need it (pure). */
export const remoteOf = (x: OverlayEndpoint): RemoteEndpoint => ({ ip: x.ip, mac: x.mac, host: x.hostAddress, name: x.name });

/**
 * Plans `sb`'s endpoint on overlay network `net` (under the state lock): its
 * address claimed in the store under this host's lease (in a dry run, the
 * one that would be: nothing is claimed), and the sandbox counted among the
 * network's sandboxes on this host.
 */
export async function planOverlayEndpoint(ctx: Context, sb: SandboxRecord, net: NetworkRecord,
  o: { ip?: string; mac?: string; aliases?: string[] }): Promise<EndpointRecord> {
  const ov: OverlayNetwork = {
    id: net.id, name: net.name, driver: 'overlay', subnet: net.subnet!, gateway: net.gateway!, vni: net.vni!,
    internal: net.internal, labels: net.labels, created: net.created,
  };
  if (o.ip) asInvalid(() => checkStatic({ subnet: ov.subnet, gateway: ov.gateway }, o.ip!, () => false));
  const [store, host] = await Promise.all([clusterStore(ctx), overlayHost(ctx)]);
  let ip: string;
  if (ctx.dryRun) {
    const { nextAddress } = await import('../state/cluster/keys.js');
    ip = o.ip ?? nextAddress(ov, (await inStore(() => store.listAddresses(ov))).map((a) => a.ip));
  } else {
    const lease = await inStore(() => hostLease(ctx));
    ip = await inStore(() => store.claimAddress(ov, { host: host.id, sandbox: sb.id, lease: lease.lease, ...(o.ip && { ip: o.ip }) }));
    writeOverlayMembers(ctx.dirs.runDir, net.id, [...readOverlayMembers(ctx.dirs.runDir, net.id), sb.id]);
  }
  const taken = new Set(sb.endpoints.map((e) => e.ifname));
  let i = 0;
  while (taken.has(`eth${i}`)) i++;
  return {
    networkId: net.id, endpointId: newId(), ifname: `eth${i}`, hostVeth: vethName(), ip,
    prefixlen: parsePrefix(ov.subnet).prefixlen, mac: o.mac ?? macFromIPv4(ip), gateway: ov.gateway,
    aliases: o.aliases ?? [], staticIp: !!o.ip,
    overlay: {
      network: ov.name, subnet: ov.subnet, vni: ov.vni, host: host.id, hostAddress: host.address,
      underlay: host.underlay, mtu: host.underlayMtu - 50,
    },
  };
}

/**
 * Under the state lock, for a removal of `sb`: the overlay networks it is the
 * last sandbox of on this host (their bridge and vxlan device go with it),
 * and `commit`, which takes it off the networks' lists once it is removed.
 */
export function overlayLeaving(ctx: Context, sb: SandboxRecord): { last: Set<string>; commit(): void } {
  const left = new Map<string, string[]>();
  for (const e of sb.endpoints) {
    if (e.overlay) left.set(e.networkId, readOverlayMembers(ctx.dirs.runDir, e.networkId).filter((id) => id !== sb.id));
  }
  return {
    last: new Set([...left].filter(([, ids]) => ids.length === 0).map(([id]) => id)),
    commit: () => {
      if (!ctx.dryRun) for (const [id, ids] of left) writeOverlayMembers(ctx.dirs.runDir, id, ids);
    },
  };
}

/**
 * Gives back what a create that failed claimed (under the state lock, its
 * steps undone): its addresses in the store (idempotent: the undo may have),
 * its place on the networks' lists, and the bridge and vxlan device of each
 * overlay network no other sandbox of this host is on. A create's own steps
 * never undo those: another sandbox may have joined since it planned (its
 * steps found them and left them to their maker), and only the lists, read
 * under this lock, say who is left.
 */
export async function releaseOverlayClaims(ctx: Context, sb: SandboxRecord): Promise<void> {
  const eps = sb.endpoints.filter((e) => e.overlay);
  if (!eps.length || ctx.dryRun) return;
  const leaving = overlayLeaving(ctx, sb);
  leaving.commit();
  const store = await clusterStore(ctx);
  await Promise.all(eps.map((e) => store.releaseAddress({ id: e.networkId }, e.ip)));
  const unused = eps.filter((e) => leaving.last.has(e.networkId)).map((e) => overlayNetworkSteps(ctx.host, overlaySpec(e)));
  await removeSteps(unused.flat(), { observe: ctx.observe });
}

/** The network's bridge and vxlan device as an endpoint of it names them. */
function overlaySpec(e: EndpointRecord): OverlayNetworkSpec {
  const j = e.overlay!;
  return { name: j.network, id: e.networkId, vni: j.vni, local: j.hostAddress, underlay: j.underlay, mtu: j.mtu };
}

/**
 * The steps of one overlay endpoint. `last` (a removal, decided under the
 * state lock): this sandbox is the network's last on this host, so the
 * network's bridge and vxlan device are undone too. A create passes false
 * (see releaseOverlayClaims).
 */
export function overlayEndpointSteps(ctx: Context, sb: SandboxRecord, e: EndpointRecord, ns: SandboxNs,
  o: { last: boolean; ownVeth: boolean }): Step[] {
  const j = e.overlay!;
  const net = overlayNetworkRecord(e.networkId, e.gateway, j);
  const vxlan = vxlanName(j.vni);
  // Made by this plan: its entries are written here, from one read of the store. Found there: the
  // host's watcher (overlay-watch.ts) keeps them, and a join costs the same with 10 endpoints as with 1000.
  let made = true;
  const netSteps = overlayNetworkSteps(ctx.host, { ...overlaySpec(e), onVxlan: (c) => (made = c) })
    .map((s) => (o.last ? s : { ...s, undo: undefined }));
  const key = `/nsnet/v1/endpoints/${e.networkId}/${sb.id}`;
  const remote: Step = {
    title: `programming ${vxlan} for the endpoints of ${j.network} on other hosts (from the store, if ${vxlan} is new; then the host's watcher does)`,
    equivalent: [
      `etcdctl get --prefix /nsnet/v1/endpoints/${e.networkId}/   # then, for each endpoint on another host:`,
      `bridge fdb replace MAC dev ${vxlan} dst HOST self permanent; ip neigh replace IP lladdr MAC dev ${vxlan} nud permanent`,
    ],
    do: async () => {
      if (!made) return;
      // The device's entries first, then the store: an entry the host's watcher adds meanwhile is seen, not undone.
      const dev = await linkGet(ctx.host, vxlan);
      const have = await overlayEntries(ctx.host, j.vni, dev);
      const store = await clusterStore(ctx);
      const eps = await inStore(() => store.listEndpoints(e.networkId));
      const { add } = overlayEntriesDiff(eps.filter((x) => x.host !== j.host).map(remoteOf), have);
      await runSteps(add.flatMap((x) => remoteEndpointSteps(ctx.host, j.vni, x, dev)));
    },
  };
  const ep: OverlayEndpoint = {
    network: e.networkId, sandbox: sb.id, name: sb.name, aliases: e.aliases, ip: e.ip, mac: e.mac, host: j.host, hostAddress: j.hostAddress,
  };
  const publish: Step = {
    title: `publishing ${sb.name} (${e.ip}, ${e.mac} on ${j.hostAddress}) in the cluster store`,
    equivalent: [`etcdctl put ${key} '${JSON.stringify(ep)}' --lease=<host lease>`],
    do: async () => {
      const [store, lease] = await Promise.all([clusterStore(ctx), hostLease(ctx)]);
      await inStore(() => store.putEndpoint(ep, lease.lease));
    },
    undo: {
      title: `removing ${sb.name} from the cluster store, and its address ${e.ip}`,
      equivalent: [`etcdctl del ${key}`, `etcdctl del /nsnet/v1/addresses/${e.networkId}/${e.ip}`],
      do: async () => {
        const store = await clusterStore(ctx);
        await inStore(() => Promise.all([store.removeEndpoint(e.networkId, sb.id), store.releaseAddress({ id: e.networkId }, e.ip)]));
      },
    },
  };
  // The bridge may have learnt this MAC behind the vxlan device (its address was on another host
  // minutes ago): until the sandbox says something, frames for it would stay there. Goes with the veth.
  const pin: Step = {
    title: `pinning ${e.mac} to ${e.hostVeth} in ${net.bridge}`,
    equivalent: [fdbPinCommand(ctx.host.name, e.hostVeth, e.mac)],
    do: async () => fdbPin(ctx.host, await linkGet(ctx.host, e.hostVeth), e.mac, { for: `sandbox ${sb.name}` }),
  };
  return [
    ...netSteps,
    remote,
    ...endpointSteps(ctx, sb, net, e, { ns }, { defaultRoute: false, ownVeth: o.ownVeth }),
    pin,
    publish,
  ];
}
