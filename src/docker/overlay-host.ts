// This host as the cluster store knows it (docs/overlay.md): its id
// (hosts/<id> in the store), its underlay address (the outer source of its
// VXLAN packets, the destination other hosts' FDB entries name) and the
// device that address is on, and its etcd lease, which its endpoints and
// address claims hang on.
//
// The underlay address, first found of:
//   NSNET_CLUSTER_ADVERTISE, else "cluster-advertise" in daemon.json (Docker's
//     --cluster-advertise): an IPv4 address of this host, or an interface name
//   the address of the interface holding the default route
//   the address on the same subnet as one of the store's members
//
//   ip -4 route show default; ip -4 addr show dev eth0
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { addrList, type Addr } from '../kernel/addr.js';
import { linkGet } from '../kernel/link.js';
import { routeList } from '../kernel/route.js';
import { isIPv4 } from '../net/ip.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import type { HostRecord } from '../state/cluster/keys.js';
import { clusterStore } from './cluster.js';
import type { Context } from './context.js';
import { readDaemonConfig } from './daemon-config.js';
import { NsnetError } from './errors.js';

export interface OverlayHost {
  /** hosts/<id> in the store: chosen once, kept in <dataDir>/cluster-host-id. */
  id: string;
  /** The underlay address (IPv4). */
  address: string;
  /** The device it is on (the vxlan devices' `dev`), and that device's MTU. */
  underlay: string;
  underlayMtu: number;
}

const hosts = new WeakMap<Context, Promise<OverlayHost>>();
const leases = new WeakMap<Context, Promise<HostRecord>>();

/** This host: its id and underlay, found once per context. */
export function overlayHost(ctx: Context): Promise<OverlayHost> {
  let h = hosts.get(ctx);
  if (!h) {
    h = findHost(ctx);
    hosts.set(ctx, h);
    h.catch(() => hosts.delete(ctx));
  }
  return h;
}

/** This host's record in the store with a live lease (joins, or reuses the lease hosts/<id> names). */
export function hostLease(ctx: Context): Promise<HostRecord> {
  let l = leases.get(ctx);
  if (!l) {
    l = (async () => {
      const [store, h] = await Promise.all([clusterStore(ctx), overlayHost(ctx)]);
      return store.join({ id: h.id, address: h.address }, ttlOf());
    })();
    leases.set(ctx, l);
    l.catch(() => leases.delete(ctx));
  }
  return l;
}

async function findHost(ctx: Context): Promise<OverlayHost> {
  const id = hostId(ctx);
  const { address, index } = await underlayAddress(ctx);
  const dev = await linkGet(ctx.host, index);
  return { id, address, underlay: dev.name, underlayMtu: dev.mtu };
}

/**
 * The host's id: `<hostname>-<8 hex>`, made on first use. Written with O_EXCL:
 * of two commands making it at once, both end up with the one that landed.
 */
export function hostId(ctx: Context): string {
  const file = path.join(ctx.dirs.dataDir, 'cluster-host-id');
  const read = () => readFileSync(file, 'utf8').trim();
  try {
    return read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = `${hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'host'}-${randomBytes(4).toString('hex')}`;
  mkdirSync(ctx.dirs.dataDir, { recursive: true });
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx', mode: 0o644 });
    return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return read();
  }
}

/** The setting, if any: the context's (NSNET_CLUSTER_ADVERTISE), else daemon.json's. */
function advertiseSetting(ctx: Context): { value: string; from: string } | undefined {
  if (ctx.clusterAdvertise) return ctx.clusterAdvertise;
  const v = readDaemonConfig(ctx.configFile).clusterAdvertise;
  return v ? { value: v, from: ctx.configFile! } : undefined;
}

/** Is `ip` on the subnet of `a`? */
const onSubnet = (a: Addr, ip: string): boolean => {
  const b = parseIpv4Block(`${a.address}/${a.prefixlen}`);
  const n = parseIpv4Block(`${ip}/32`).network;
  return n >= b.network && n < b.network + b.size;
};

async function underlayAddress(ctx: Context): Promise<{ address: string; index: number }> {
  const addrs = (await addrList(ctx.host, { family: 4 })).filter((a) => a.scope === 'global' || a.scope === 'universe');
  const set = advertiseSetting(ctx);
  if (set) {
    const hit = isIPv4(set.value) ? addrs.find((a) => a.address === set.value) : await (async () => {
      const link = await linkGet(ctx.host, set.value).catch(() => undefined);
      return link && addrs.find((a) => a.index === link.index);
    })();
    if (!hit) throw new NsnetError('InvalidArgument', `cluster-advertise ${set.value} (from ${set.from}): no IPv4 address of this host is ${isIPv4(set.value) ? 'that' : 'on that interface'}`);
    return { address: hit.address, index: hit.index };
  }
  const dflt = (await routeList(ctx.host, { family: 4 })).find((r) => r.dst === 'default' && r.oif !== undefined);
  if (dflt) {
    const hit = addrs.find((a) => a.address === dflt.prefsrc) ?? addrs.find((a) => a.index === dflt.oif);
    if (hit) return { address: hit.address, index: hit.index };
  }
  const members = (await clusterStore(ctx)).gw.url.members.map((m) => m.host).filter(isIPv4);
  for (const m of members) {
    const hit = addrs.find((a) => onSubnet(a, m));
    if (hit) return { address: hit.address, index: hit.index };
  }
  throw new NsnetError('InvalidArgument',
    'cannot tell this host\'s underlay address for overlay networks (no default route, no address on a store member\'s subnet): set NSNET_CLUSTER_ADVERTISE or "cluster-advertise" in daemon.json to an address or interface');
}

/** The host lease's TTL, s: NSNET_CLUSTER_LEASE_TTL (tests shorten it), else the store's default (30 s: a dead host's endpoints go within that). */
export function ttlOf(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.NSNET_CLUSTER_LEASE_TTL);
  return Number.isInteger(n) && n >= 2 ? n : 30;
}
