// Facts about the host that network and port choices depend on.
import { readFileSync } from 'node:fs';
import { addrList } from '../kernel/addr.js';
import { linkGet } from '../kernel/link.js';
import { routeList } from '../kernel/route.js';
import { sysctlGet } from '../kernel/sysctl.js';
import type { Netns } from '../kernel/netns.js';
import { ipv4Network, parsePrefix } from '../net/ip.js';
import { isSystemdStub, parseResolvConf, SYSTEMD_RESOLV_CONF } from '../etc/resolv-conf.js';

/**
 * The host's resolv.conf text ("" if unreadable). When it lists only
 * systemd-resolved's stub (127.0.0.53), the real upstreams are in
 * /run/systemd/resolve/resolv.conf, as Docker reads them. NSNET_RESOLV_CONF
 * overrides the path (tests point it at a fake upstream).
 */
export async function hostResolvConf(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const read = async (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  if (env.NSNET_RESOLV_CONF) return read(env.NSNET_RESOLV_CONF);
  const text = await read('/etc/resolv.conf');
  if (isSystemdStub(parseResolvConf(text))) {
    const real = await read(SYSTEMD_RESOLV_CONF);
    if (real) return real;
  }
  return text;
}

/**
 * Prefixes a default subnet must not overlap, as Docker's
 * InferReservedNetworks: on-link IPv4 routes and addresses of the host, and
 * each nameserver as a /32.
 */
export async function reservedPrefixes(host: Netns, resolvConf: string): Promise<string[]> {
  const out = new Set<string>();
  for (const r of await routeList(host, { family: 4, table: 'all' })) {
    if (r.type !== 'unicast' || r.gateway || r.dst === 'default') continue;
    if (r.dst.startsWith('127.')) continue;
    out.add(`${r.dst}/${r.dstLen}`);
  }
  for (const a of await addrList(host, { family: 4 })) {
    if (a.address.startsWith('127.')) continue;
    out.add(`${ipv4Network(parsePrefix(`${a.address}/${a.prefixlen}`))}/${a.prefixlen}`);
  }
  for (const m of resolvConf.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)) {
    if (!m[1]!.startsWith('127.')) out.add(`${m[1]}/32`);
  }
  return [...out];
}

/** The kernel's ephemeral port range (net.ipv4.ip_local_port_range), used for -P and -p PORT. */
export async function localPortRange(host: Netns): Promise<[number, number]> {
  const [lo, hi] = (await sysctlGet(host, 'net.ipv4.ip_local_port_range')).trim().split(/\s+/).map(Number);
  return [lo ?? 32768, hi ?? 60999];
}

/**
 * The host's uplink: the interface of its default route (the lowest metric
 * in the main table) and its address there (the route's preferred source,
 * else the interface's first IPv4 address). Undefined without a default route.
 * Equivalent to: `ip route show default`, `ip -4 addr show dev IF`
 */
export async function hostUplink(host: Netns): Promise<{ ifname: string; address: string; prefixlen?: number; gateway?: string } | undefined> {
  const defaults = (await routeList(host, { family: 4 })).filter((r) => r.dst === 'default' && r.oif !== undefined)
    .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
  const r = defaults[0];
  if (!r) return undefined;
  const ifname = (await linkGet(host, r.oif!)).name;
  const addrs = await addrList(host, { link: r.oif!, family: 4 });
  const a = addrs.find((x) => x.address === r.prefsrc) ?? addrs[0];
  return {
    ifname,
    address: r.prefsrc ?? a?.address ?? '?',
    ...(a && { prefixlen: a.prefixlen }),
    ...(r.gateway && { gateway: r.gateway }),
  };
}
