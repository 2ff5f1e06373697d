// An overlay network's datapath on one host, as plan steps (plan.ts): what
// the overlay driver runs when the first sandbox of the network lands on this
// host, and for every endpoint of the network on another host.
//
//   ip link add ov-0123456789ab mtu 1450 address 02:01:23:45:67:89 up type bridge
//   ip link add vxlan42 mtu 1450 master ov-0123456789ab up type vxlan id 42 dstport 4789 \
//      local 198.51.100.1 dev eth0 nolearning proxy
//   per sandbox here:   a veth on ov-0123456789ab (mtu 1450), as on a bridge network
//   per sandbox there:  bridge fdb replace MAC dev vxlan42 dst THERE self permanent
//                       ip neigh replace IP lladdr MAC dev vxlan42 nud permanent
//
//   sandbox --veth-- ov-<id> --port-- vxlan<VNI> ==UDP 4789 over eth0==> the other hosts
//
// Nothing floods: the vxlan device learns nothing and has no default
// destination, so a frame goes to the one host its MAC's entry names or
// nowhere; ARP is answered on this host by the vxlan device from its
// neighbour entries (proxy). docs/overlay.md shows each object on a live system.
import { bridgeAddCommand, bridgeEnsure, type BridgeOptions } from '../kernel/bridge.js';
import { invalid, isExists } from '../kernel/errors.js';
import { fdbAdd, fdbAddCommand, fdbDel, fdbDelCommand, fdbList, type FdbEntry, type FdbRecord } from '../kernel/fdb.js';
import { linkDel, linkDelCommand, linkGet, type Link, type LinkRef } from '../kernel/link.js';
import { neighDel, neighDelCommand, neighList, neighReplace, neighReplaceCommand, type NeighRecord } from '../kernel/neigh.js';
import type { Netns } from '../kernel/netns.js';
import { checkVni, vxlanAdd, vxlanAddCommand, vxlanDiff, vxlanName, type VxlanText } from '../kernel/vxlan.js';
import { bridgeMac } from '../net/mac.js';
import type { Step } from './plan.js';

/** An overlay network's bridge on each host: ov-<12 hex of the network id> (15 characters). */
export const overlayBridgeName = (networkId: string): string => `ov-${networkId.slice(0, 12)}`;

export interface OverlayNetworkSpec {
  /** The network's name, for messages. */
  name: string;
  id: string;
  vni: number;
  /** This host's underlay address: the outer source address. */
  local: string;
  /** The underlay device (the one `local` is on). */
  underlay: string;
  /** The overlay MTU: the underlay's minus 50 (overlayMtu). Sandboxes' veths need the same. */
  mtu: number;
  /** Told, once the vxlan step ran, whether it made the device (false: it was there). */
  onVxlan?: (created: boolean) => void;
}

/**
 * The steps that make an overlay network's objects on this host: its bridge
 * and its vxlan device, enslaved and up; each with its undo (the last
 * sandbox of the network on this host gone). Objects already there are kept,
 * and not deleted by a rollback: a bridge or vxlan device of that name that
 * does not match is an error naming what differs.
 */
export function overlayNetworkSteps(host: Netns, n: OverlayNetworkSpec): Step[] {
  checkVni(n.vni);
  const bridge = overlayBridgeName(n.id);
  const vxlan = vxlanName(n.vni);
  const forWhom = `overlay network ${n.name}`;
  const br: BridgeOptions = { name: bridge, mtu: n.mtu, address: bridgeMac(n.id), up: true, for: forWhom };
  const text: VxlanText = { name: vxlan, vni: n.vni, local: n.local, dev: n.underlay, mtu: n.mtu, master: bridge, up: true };
  let bridgeLink: Link | undefined;
  const created = { bridge: undefined as boolean | undefined, vxlan: undefined as boolean | undefined };
  return [
    {
      title: `creating bridge ${bridge} (overlay network ${n.name})`,
      equivalent: [bridgeAddCommand(host.name, br)],
      do: async () => {
        const r = await bridgeEnsure(host, br);
        [bridgeLink, created.bridge] = [r.link, r.created];
      },
      undo: {
        title: `deleting bridge ${bridge}`,
        equivalent: [linkDelCommand(host.name, bridge)],
        do: async () => {
          if (created.bridge !== false) await linkDel(host, await linkGet(host, bridge), { for: forWhom });
        },
      },
    },
    {
      title: `creating ${vxlan} (VNI ${n.vni}, UDP 4789 from ${n.local} on ${n.underlay}) in ${bridge}`,
      equivalent: [vxlanAddCommand(host.name, text)],
      do: async () => {
        const master = bridgeLink ?? await linkGet(host, bridge);
        const dev = await linkGet(host, n.underlay);
        try {
          await vxlanAdd(host, { ...text, dev, master, for: forWhom });
          created.vxlan = true;
          n.onVxlan?.(true);
        } catch (e) {
          if (!isExists(e)) throw e;
          const have = await linkGet(host, vxlan);
          const diff = vxlanDiff(have, { vni: n.vni, local: n.local, dev: dev.index, mtu: n.mtu, master: master.index });
          if (diff.length) throw invalid(`${vxlan} already exists in ${host} and does not match ${forWhom}: ${diff.join(', ')}`);
          created.vxlan = false;
          n.onVxlan?.(false);
        }
      },
      undo: {
        title: `deleting ${vxlan}`,
        equivalent: [linkDelCommand(host.name, vxlan)],
        do: async () => {
          if (created.vxlan !== false) await linkDel(host, await linkGet(host, vxlan), { for: forWhom });
        },
      },
    },
  ];
}

/** A sandbox of the network on another host, as this host must know it. */
export interface RemoteEndpoint {
  ip: string;
  mac: string;
  /** The other host's underlay address. */
  host: string;
  /** The sandbox's name, for messages. */
  name?: string;
}

/**
 * The two entries that make a remote sandbox reachable from this host's
 * sandboxes: its MAC -> its host (fdb), its IP -> its MAC (neighbour, for
 * the proxy ARP); undo deletes both (the sandbox went away, or its host).
 * `dev`: the vxlan device if already looked up (saves one request per step).
 */
export function remoteEndpointSteps(host: Netns, vni: number, e: RemoteEndpoint, dev?: LinkRef): Step[] {
  checkVni(vni);
  const vxlan = vxlanName(vni);
  const forWhom = e.name ? `sandbox ${e.name} on ${e.host}` : `endpoint ${e.ip} on ${e.host}`;
  const fdb: FdbEntry = { mac: e.mac, dst: e.host };
  let link: LinkRef | undefined = dev;
  const device = async () => (link ??= await linkGet(host, vxlan));
  return [
    {
      title: `forwarding ${e.mac} to ${e.host} on ${vxlan} (${forWhom})`,
      equivalent: [fdbAddCommand(host.name, vxlan, fdb)],
      do: async () => fdbAdd(host, await device(), fdb, { for: forWhom }),
      undo: {
        title: `deleting forwarding entry ${e.mac} -> ${e.host} on ${vxlan}`,
        equivalent: [fdbDelCommand(host.name, vxlan, fdb)],
        do: async () => fdbDel(host, await device(), fdb, { for: forWhom }),
      },
    },
    {
      title: `answering ARP for ${e.ip} with ${e.mac} on ${vxlan} (${forWhom})`,
      equivalent: [neighReplaceCommand(host.name, vxlan, e)],
      do: async () => neighReplace(host, await device(), e, { for: forWhom }),
      undo: {
        title: `deleting neighbour ${e.ip} on ${vxlan}`,
        equivalent: [neighDelCommand(host.name, vxlan, e.ip)],
        do: async () => neighDel(host, await device(), e.ip, { for: forWhom }),
      },
    },
  ];
}

/** What a vxlan device holds now: its own fdb entries (not its bridge's) and its neighbour entries. */
export interface OverlayEntries {
  fdb: FdbRecord[];
  neigh: NeighRecord[];
}

/**
 * The entries on this host's vxlan device of `vni`, for CHECK and reconcile.
 * Equivalent to: `bridge fdb show dev vxlanN self; ip neigh show dev vxlanN`
 */
export async function overlayEntries(host: Netns, vni: number, dev?: LinkRef): Promise<OverlayEntries> {
  const link = dev ?? await linkGet(host, vxlanName(vni));
  const [fdb, neigh] = await Promise.all([fdbList(host, link), neighList(host, link)]);
  return { fdb: fdb.filter((f) => f.self && f.dst), neigh };
}

/**
 * How the entries on the device differ from the remote endpoints the store
 * lists (pure): the endpoints whose fdb or neighbour entry is missing or
 * wrong, and the entries no endpoint accounts for (a sandbox or host gone
 * while this host was not watching).
 */
export function overlayEntriesDiff(want: RemoteEndpoint[], have: OverlayEntries):
  { add: RemoteEndpoint[]; staleFdb: FdbEntry[]; staleNeigh: string[] } {
  const fdbKey = (mac: string, dst: string) => `${mac.toLowerCase()} ${dst}`;
  const haveFdb = new Set(have.fdb.map((f) => fdbKey(f.mac, f.dst)));
  const haveNeigh = new Map(have.neigh.filter((n) => n.state.includes('PERMANENT')).map((n) => [n.ip, n.mac.toLowerCase()]));
  const add = want.filter((e) => !haveFdb.has(fdbKey(e.mac, e.host)) || haveNeigh.get(e.ip) !== e.mac.toLowerCase());
  const wantFdb = new Set(want.map((e) => fdbKey(e.mac, e.host)));
  const wantIps = new Set(want.map((e) => e.ip));
  return {
    add,
    staleFdb: have.fdb.filter((f) => !wantFdb.has(fdbKey(f.mac, f.dst))).map((f) => ({ mac: f.mac, dst: f.dst })),
    staleNeigh: have.neigh.filter((n) => !wantIps.has(n.ip)).map((n) => n.ip),
  };
}

/**
 * The steps that bring the device's entries to what the store lists (a
 * restarted host, a missed watch event): the missing ones added, the stale
 * ones deleted. Nothing to undo: the next reconcile is the repair.
 */
export function overlayReconcileSteps(host: Netns, vni: number, want: RemoteEndpoint[], have: OverlayEntries, dev?: LinkRef): Step[] {
  const vxlan = vxlanName(vni);
  const diff = overlayEntriesDiff(want, have);
  let link: LinkRef | undefined = dev;
  const device = async () => (link ??= await linkGet(host, vxlan));
  return [
    ...diff.staleFdb.map((f): Step => ({
      title: `deleting stale forwarding entry ${f.mac} -> ${f.dst} on ${vxlan}`,
      equivalent: [fdbDelCommand(host.name, vxlan, f)],
      do: async () => fdbDel(host, await device(), f),
    })),
    ...diff.staleNeigh.map((ip): Step => ({
      title: `deleting stale neighbour ${ip} on ${vxlan}`,
      equivalent: [neighDelCommand(host.name, vxlan, ip)],
      do: async () => neighDel(host, await device(), ip),
    })),
    ...diff.add.flatMap((e) => remoteEndpointSteps(host, vni, e, dev).map(({ undo: _undo, ...s }) => s)),
  ];
}
