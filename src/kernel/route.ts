// Routes: where packets for a destination go. A bridge-mode container has
// two: the prefix route the kernel adds with its address, and a default route
// via the bridge's address (the gateway).
//
//   ip -n web route add default via 172.17.0.1
//   ip -n web route
//
// Man pages: ip-route(8), rtnetlink(7).
import { native, type NativeRoute, type NativeRouteReq } from '../native.js';
import { parsePrefix } from '../net/ip.js';
import { attempt, invalid } from './errors.js';
import { indexOf, ipNs, nameOf, type LinkRef } from './link.js';
import type { Netns } from './netns.js';

export type Route = NativeRoute;

export interface RouteSpec {
  /** "default", or a prefix "10.1.0.0/16". */
  dst: string;
  via?: string;
  dev?: LinkRef;
  src?: string;
  metric?: number;
  table?: number;
  scope?: 'global' | 'link' | 'host';
  type?: NativeRouteReq['type'];
  /** rtm_protocol: who made the route (`proto N` in `ip route`); default boot, as `ip route add`. */
  protocol?: number;
  for?: string;
}

function toNative(r: RouteSpec): NativeRouteReq {
  const req: NativeRouteReq = {};
  if (r.dst !== 'default') {
    try {
      const p = parsePrefix(r.dst);
      req.dst = p.address;
      req.dstLen = p.prefixlen;
      req.family = p.family;
    } catch (e) {
      throw invalid(`invalid route destination ${r.dst}: ${(e as Error).message}`);
    }
  }
  if (r.via) req.gateway = r.via;
  if (r.dev !== undefined) req.oif = indexOf(r.dev);
  if (r.src) req.prefsrc = r.src;
  if (r.metric !== undefined) req.priority = r.metric;
  if (r.table !== undefined) req.table = r.table;
  if (r.scope) req.scope = r.scope;
  if (r.type) req.type = r.type;
  if (r.protocol !== undefined) req.protocol = r.protocol;
  if (!req.family && !req.gateway && !req.prefsrc) req.family = 4;
  return req;
}

function describe(r: RouteText): string {
  return [r.type && r.type !== 'unicast' ? r.type : '', r.dst, r.via && `via ${r.via}`,
    r.dev !== undefined && `dev ${typeof r.dev === 'string' ? r.dev : nameOf(r.dev)}`, r.protocol !== undefined && `proto ${r.protocol}`,
    r.src && `src ${r.src}`, r.metric !== undefined && `metric ${r.metric}`, r.table !== undefined && `table ${r.table}`,
    r.scope && `scope ${r.scope}`].filter(Boolean).join(' ');
}

/** A RouteSpec whose link may be given by name: what `ip route` shows. */
export type RouteText = Omit<RouteSpec, 'dev'> & { dev?: LinkRef | string };

/** The `ip route add` command that routeAdd's request amounts to. */
export function routeAddCommand(ns: string | undefined, r: RouteText): string {
  return `ip ${ipNs(ns)}route add ${describe(r)}`;
}

/**
 * Adds a route.
 * Equivalent to: `ip -n NS route add DST [via GW] [dev LINK] [src S] [metric M] [table T]`
 */
export async function routeAdd(ns: Netns, r: RouteSpec): Promise<void> {
  const req = toNative(r);
  const fd = await ns.rtnl();
  await attempt(`adding route ${describe(r)} in ${ns}`, routeAddCommand(ns.name, r),
    () => native().routeAdd(fd, req), r.for);
}

/**
 * Removes the route matching the spec.
 * Equivalent to: `ip -n NS route del DST [via GW] [dev LINK] [table T]`
 */
export async function routeDel(ns: Netns, r: RouteSpec): Promise<void> {
  const req = toNative(r);
  const fd = await ns.rtnl();
  await attempt(`removing route ${describe(r)} in ${ns}`, `ip ${ns.ipFlag}route del ${describe(r)}`,
    () => native().routeDel(fd, req), r.for);
}

/**
 * Routes in the namespace (default: IPv4, main table).
 * Equivalent to: `ip -n NS [-6] route show [table T]`
 */
export async function routeList(ns: Netns, o: { family?: 4 | 6; table?: number | 'all' } = {}): Promise<Route[]> {
  const fd = await ns.rtnl();
  const table = o.table === 'all' ? undefined : o.table ?? 254;
  return attempt(`listing routes in ${ns}`, `ip ${ns.ipFlag}route show`,
    () => native().routeList(fd, { family: o.family ?? 4, ...(table !== undefined && { table }) }));
}
