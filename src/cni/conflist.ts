// `nsnet cni config NAME`: a network configuration list (SPEC.md section 1)
// a runtime can use as it is, with nsnet as its only plugin: nsnet does the
// bridge, the addresses (ipam type "nsnet"), masquerade and published ports
// itself, so no portmap/tuning plugin follows it. Pure.
import { invalidArg } from '../docker/errors.js';
import { isIPv4, parsePrefix } from '../net/ip.js';
import { checkIfname, isSupportedVersion } from './env.js';
import { CNI_VERSIONS } from './types.js';

export interface ConflistOptions {
  name: string;
  subnet?: string;
  gateway?: string;
  bridge?: string;
  clusterCIDR?: string;
  /** The cluster store the node's pod CIDR is leased from (with clusterCIDR, no subnet): written as the plugin's `clusterStore`. */
  clusterStore?: string;
  /** The leased pod CIDR's prefix length (default 24). */
  podCIDRPrefixLen?: number;
  /** Default 1.0.0: the newest Debian's runtimes (libcni 1.1.2) accept. */
  cniVersion?: string;
}

export const DEFAULT_CONFLIST_VERSION = '1.0.0';

/** The conflist object; throws InvalidArgument naming the option that is wrong. */
export function conflist(o: ConflistOptions): Record<string, unknown> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.name)) throw invalidArg(`invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const cniVersion = o.cniVersion ?? DEFAULT_CONFLIST_VERSION;
  if (!isSupportedVersion(cniVersion)) throw invalidArg(`--cni-version ${cniVersion}: nsnet speaks ${CNI_VERSIONS.join(', ')}`);
  const cidr = (flag: string, v: string) => {
    try {
      const p = parsePrefix(v);
      if (!v.includes('/')) throw new Error('no prefix length');
      return p;
    } catch (e) {
      throw invalidArg(`--${flag} ${v}: not a subnet in CIDR notation (${(e as Error).message})`);
    }
  };
  if (o.subnet) cidr('subnet', o.subnet);
  if (o.clusterCIDR) cidr('cluster-cidr', o.clusterCIDR);
  if ((o.clusterStore || o.podCIDRPrefixLen !== undefined) && (!o.clusterCIDR || o.subnet)) {
    throw invalidArg(`--${o.clusterStore ? 'cluster-store' : 'pod-cidr-prefix-len'}: a pod CIDR is leased from the store for --cluster-cidr without --subnet`);
  }
  if (o.clusterStore && !/^etcd:\/\/[^/]+$/.test(o.clusterStore)) throw invalidArg(`--cluster-store ${o.clusterStore}: expected etcd://HOST:2379[,HOST:2379...]`);
  if (o.podCIDRPrefixLen !== undefined && (!Number.isInteger(o.podCIDRPrefixLen) || o.podCIDRPrefixLen < 8 || o.podCIDRPrefixLen > 30)) {
    throw invalidArg(`--pod-cidr-prefix-len ${o.podCIDRPrefixLen}: 8-30`);
  }
  if (o.gateway && !isIPv4(o.gateway)) throw invalidArg(`--gateway ${o.gateway}: not an IPv4 address`);
  if (o.gateway && !o.subnet) throw invalidArg('--gateway needs --subnet');
  if (o.bridge) {
    try {
      checkIfname(o.bridge);
    } catch (e) {
      throw invalidArg(`--bridge ${o.bridge}: ${(e as Error).message.replace(/^invalid CNI_IFNAME "[^"]*": /, '')}`);
    }
  }
  return {
    cniVersion,
    name: o.name,
    plugins: [
      {
        type: 'nsnet',
        ...(o.bridge && { bridge: o.bridge }),
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ...(o.clusterCIDR && { clusterCIDR: o.clusterCIDR }),
        ...(o.clusterStore && { clusterStore: o.clusterStore }),
        ...(o.podCIDRPrefixLen !== undefined && { podCIDRPrefixLen: o.podCIDRPrefixLen }),
        ipam: { type: 'nsnet', ...(o.subnet && { subnet: o.subnet }), ...(o.gateway && { gateway: o.gateway }) },
        capabilities: { portMappings: true, ips: true, mac: true, aliases: true },
      },
    ],
  };
}
