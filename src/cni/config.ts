// How a CNI request maps onto nsnet's objects, the pure part (backend.ts does
// the work): the attachment's sandbox name, the network a configuration
// describes (and whether an existing one disagrees), the capabilities
// (portMappings, ips, mac, aliases) as a create request, and the result.
//
// Configuration keys, as the reference bridge plugin names them:
//   bridge       the bridge's name (default: nsnet's br-<12 hex of the network id),
//   ipam         {type: "nsnet", subnet | ranges: [[{subnet, gateway}]], gateway}: nsnet's IPAM;
//                any other type is delegated to that plugin (the address it gives becomes the endpoint's)
//   gateway      the gateway address (default: the subnet's first), always on the bridge
//   isGateway    the pod gets a default route via the gateway (isDefaultGateway implies it); default false
//   ipMasq       traffic leaving the node is masqueraded; default false
//   clusterCIDR  traffic to this range is never masqueraded (pods on other nodes)
//   clusterStore etcd://HOST:2379[,...]: with ipam nsnet, no subnet and clusterCIDR, the node's
//                subnet is a pod CIDR leased from that store (else NSNET_CLUSTER_STORE or
//                daemon.json's cluster-store; none: a subnet nsnet picks, as before)
//   podCIDRPrefixLen  the leased pod CIDR's prefix length (default 24)
//   mtu          the bridge's and both veth ends' MTU
//   hairpinMode  accepted; nsnet turns hairpin on for every port (a pod reaches its own published ports)
// Differences from the reference plugin: the bridge always holds the gateway
// address (nsnet's networks do), and the network is an nsnet network: `nsnet
// network ls/inspect` show it, its subnet is claimed against the others.
// Pure.
import { isIPv4 } from '../net/ip.js';
import { formatIpv4Block, parseIpv4Block } from '../net/subnet-pool.js';
import type { NetworkCreateRequest } from '../docker/network.js';
import type { SandboxCreateRequest } from '../docker/modes/mode.js';
import type { NetworkRecord } from '../docker/types.js';
import { POD_CIDR_PREFIX_LEN } from '../state/cluster/keys.js';
import { CNI_ERR, CniError, type CniRequest, type Dns, type NetConf, type Result } from './types.js';

/** nsnet's own IPAM type name in `ipam.type`. */
export const NSNET_IPAM = 'nsnet';

/** The label on networks a CNI configuration created. */
export const CNI_LABEL = 'nsnet.cni';

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The sandbox record of one attachment (container id, interface): `cni-<first
 * 12 of the id>-<ifname>`, a valid sandbox name. When the first 12 characters
 * may not tell containers apart (a short random id is 64 hex; containerd's
 * `<namespace>-<name>` is not) or the interface name has characters a
 * sandbox name can't hold, a hash of both comes before the interface name.
 */
export function attachmentName(containerId: string, ifname: string): string {
  if (!CONTAINER_ID.test(containerId)) {
    throw new CniError(CNI_ERR.invalidEnv, `invalid CNI_CONTAINERID ${JSON.stringify(containerId)}: it must start with a letter or digit, then [A-Za-z0-9_.-]`);
  }
  const safeIf = ifname.replace(/[^A-Za-z0-9_.-]/g, '_');
  const distinct = containerId.length <= 12 || /^[0-9a-f]{32,}$/.test(containerId);
  const hash = distinct && safeIf === ifname ? '' : `${fnv1a(`${containerId}/${ifname}`)}-`;
  return `cni-${containerId.slice(0, 12).replace(/[-_.]+$/, '')}-${hash}${safeIf}`;
}

/** ipam's subnet and gateway, from `subnet`/`gateway` or the first range of `ranges` (host-local's shape). */
export function ipamPool(conf: NetConf): { subnet?: string; gateway?: string } {
  const ipam = (conf.ipam ?? {}) as { subnet?: unknown; gateway?: unknown; ranges?: unknown };
  const first = Array.isArray(ipam.ranges) && Array.isArray(ipam.ranges[0]) ? (ipam.ranges[0][0] as { subnet?: unknown; gateway?: unknown } | undefined) : undefined;
  const subnet = typeof ipam.subnet === 'string' ? ipam.subnet : typeof first?.subnet === 'string' ? first.subnet : undefined;
  const gw = conf['gateway'] ?? ipam.gateway ?? first?.gateway;
  return { ...(subnet && { subnet }), ...(typeof gw === 'string' && { gateway: gw }) };
}

/**
 * Does the configuration ask for a pod CIDR leased from a cluster store (if
 * one is configured)? nsnet's IPAM, no subnet, a clusterCIDR. Its prefix length, or undefined.
 */
export function podCidrPrefixLen(conf: NetConf): number | undefined {
  if (delegatesIpam(conf) || ipamPool(conf).subnet || conf.clusterCIDR === undefined) return undefined;
  const n = conf.podCIDRPrefixLen ?? POD_CIDR_PREFIX_LEN;
  if (!Number.isInteger(n) || n < 8 || n > 30) throw invalidConfig(`invalid podCIDRPrefixLen ${JSON.stringify(conf.podCIDRPrefixLen)}: 8-30`);
  return n;
}

/** Is the address part of the configuration another IPAM plugin's (delegated)? */
export function delegatesIpam(conf: NetConf): boolean {
  return !!conf.ipam && conf.ipam.type !== NSNET_IPAM;
}

function invalidConfig(msg: string): CniError {
  return new CniError(CNI_ERR.invalidConfig, msg);
}

/**
 * The nsnet network a configuration describes. `pool`: the subnet and
 * gateway a delegated IPAM plugin's result implies (when the configuration
 * names none).
 */
export function networkRequest(conf: NetConf, pool: { subnet?: string; gateway?: string } = {}): NetworkCreateRequest {
  if (conf.mtu !== undefined && (!Number.isInteger(conf.mtu) || conf.mtu < 68 || conf.mtu > 65535)) throw invalidConfig(`invalid mtu ${JSON.stringify(conf.mtu)}: 68-65535`);
  if (conf.bridge !== undefined && typeof conf.bridge !== 'string') throw invalidConfig('"bridge" must be a string');
  const own = ipamPool(conf);
  const subnet = own.subnet ?? pool.subnet;
  const gateway = own.gateway ?? pool.gateway;
  if (gateway && !subnet) throw invalidConfig(`a gateway (${gateway}) needs a subnet in ipam`);
  let clusterCidr: string | undefined;
  if (conf.clusterCIDR !== undefined) {
    try {
      clusterCidr = formatIpv4Block(parseIpv4Block(String(conf.clusterCIDR)));
    } catch (e) {
      throw invalidConfig(`invalid clusterCIDR ${JSON.stringify(conf.clusterCIDR)}: ${(e as Error).message}`);
    }
  }
  const options: Record<string, string> = {
    'com.docker.network.bridge.enable_ip_masquerade': String(conf.ipMasq === true),
    ...(conf.bridge && { 'com.docker.network.bridge.name': conf.bridge }),
    ...(conf.mtu && { 'com.docker.network.driver.mtu': String(conf.mtu) }),
  };
  return {
    name: conf.name,
    ...(subnet && { subnet }),
    ...(gateway && { gateway }),
    options,
    labels: { [CNI_LABEL]: 'true' },
    ...(clusterCidr && { clusterCidr }),
  };
}

/** How an existing network disagrees with what a configuration asks for (only the keys it gives), or undefined. */
export function networkMismatch(net: NetworkRecord, want: NetworkCreateRequest, conf: NetConf): string | undefined {
  const diffs: string[] = [];
  if (net.driver !== 'bridge' || net.defaultBridge) return `network ${net.name} is nsnet's ${net.name === 'bridge' ? 'default bridge' : `${net.driver} network`}: name the CNI network otherwise`;
  if (want.subnet && formatIpv4Block(parseIpv4Block(want.subnet)) !== net.subnet) diffs.push(`subnet ${want.subnet} (it has ${net.subnet})`);
  if (want.gateway && want.gateway !== net.gateway) diffs.push(`gateway ${want.gateway} (it has ${net.gateway})`);
  if (conf.bridge && conf.bridge !== net.bridge) diffs.push(`bridge ${conf.bridge} (it has ${net.bridge})`);
  if (conf.ipMasq !== undefined && conf.ipMasq !== (net.masquerade !== false)) diffs.push(`ipMasq ${conf.ipMasq} (it has ${net.masquerade !== false})`);
  if (conf.mtu !== undefined && conf.mtu !== (net.mtu ?? 0)) diffs.push(`mtu ${conf.mtu} (it has ${net.mtu ?? 'the default'})`);
  if ((want.clusterCidr ?? '') !== (net.clusterCidr ?? '') && conf.clusterCIDR !== undefined) diffs.push(`clusterCIDR ${want.clusterCidr} (it has ${net.clusterCidr ?? 'none'})`);
  return diffs.length ? `network ${net.name} exists with another configuration: the configuration asks for ${diffs.join(', ')}` : undefined;
}

/** The aliases capability: a list, or (Podman) a map from network name to list. */
export function aliasesOf(conf: NetConf): string[] {
  const a = conf.runtimeConfig?.aliases as unknown;
  if (Array.isArray(a)) return a.filter((x): x is string => typeof x === 'string');
  if (a && typeof a === 'object') {
    const mine = (a as Record<string, unknown>)[conf.name];
    if (Array.isArray(mine)) return mine.filter((x): x is string => typeof x === 'string');
  }
  return [];
}

/** portMappings as `-p` values (hostIP:hostPort:containerPort/proto). */
export function publishOf(conf: NetConf): string[] {
  const out: string[] = [];
  for (const m of conf.runtimeConfig?.portMappings ?? []) {
    const proto = (m.protocol ?? 'tcp').toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp') throw new CniError(CNI_ERR.unsupportedField, `portMappings: protocol ${JSON.stringify(m.protocol)} is not supported (tcp, udp)`);
    if (m.hostIP && !isIPv4(m.hostIP)) {
      // IPv6 host addresses: nsnet is IPv4-only; "::" alongside 0.0.0.0 is what dual-stack runtimes send.
      if (m.hostIP === '::') continue;
      throw new CniError(CNI_ERR.unsupportedField, `portMappings: hostIP ${m.hostIP} is not an IPv4 address (nsnet is IPv4-only)`);
    }
    out.push(`${m.hostIP ? `${m.hostIP}:` : ''}${m.hostPort}:${m.containerPort}/${proto}`);
  }
  return out;
}

/** The static address of `runtimeConfig.ips` (CIDR or bare), if any: one IPv4 address. */
export function staticIpOf(conf: NetConf): string | undefined {
  const ips = (conf.runtimeConfig?.ips ?? []).map((x) => String(x).split('/')[0]!);
  const v4 = ips.filter((x) => isIPv4(x));
  if (ips.length > v4.length) throw new CniError(CNI_ERR.unsupportedField, `runtimeConfig.ips: ${ips.filter((x) => !isIPv4(x)).join(', ')}: nsnet is IPv4-only`);
  if (v4.length > 1) throw new CniError(CNI_ERR.unsupportedField, `runtimeConfig.ips: one address per attachment (got ${v4.join(', ')})`);
  return v4[0];
}

/** A valid hostname from CNI_ARGS' K8S_POD_NAME (Podman passes the container's name there), or undefined. */
export function hostnameOf(req: CniRequest): string | undefined {
  const n = req.args['K8S_POD_NAME'];
  return n && /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(n) ? n : undefined;
}

/** Does the pod get a default route via the gateway? */
export function wantsDefaultRoute(conf: NetConf): boolean {
  return conf.isGateway === true || conf.isDefaultGateway === true;
}

/** The sandbox create request of an ADD (the address: `ip`, from runtimeConfig.ips or a delegated IPAM). */
export function createRequest(req: CniRequest, netnsInode: number, ip: string | undefined): SandboxCreateRequest {
  const conf = req.config;
  const hostname = hostnameOf(req);
  const mac = conf.runtimeConfig?.mac;
  const publish = publishOf(conf);
  const aliases = aliasesOf(conf);
  return {
    name: attachmentName(req.containerId, req.ifname),
    network: conf.name,
    ...(ip && { ip }),
    ...(mac && { mac }),
    ...(hostname && { hostname }),
    ...(aliases.length && { aliases }),
    ...(publish.length && { publish }),
    cni: {
      netnsPath: req.netns, netnsInode, containerId: req.containerId, ifname: req.ifname,
      ...(!wantsDefaultRoute(conf) && { noDefaultRoute: true }),
    },
  };
}

/** What ADD made, for the result. */
export interface Made {
  bridge: { name: string; mac: string };
  hostVeth: { name: string; mac: string };
  ifname: string;
  mac: string;
  netns: string;
  ip: string;
  prefixlen: number;
  gateway: string;
  defaultRoute: boolean;
  mtu?: number | undefined;
  /** The embedded DNS server answers at 127.0.0.11 in the pod. */
  embeddedDns: boolean;
}

/** The ADD result (1.1.0 shape): bridge, host veth, the pod's interface; its address; the default route; DNS. */
export function addResult(conf: NetConf, m: Made): Result {
  const mtu = m.mtu ? { mtu: m.mtu } : {};
  const dns: Dns | undefined = m.embeddedDns
    ? { ...conf.dns, nameservers: ['127.0.0.11'] }
    : conf.dns;
  return {
    cniVersion: conf.cniVersion,
    interfaces: [
      { name: m.bridge.name, mac: m.bridge.mac, ...mtu },
      { name: m.hostVeth.name, mac: m.hostVeth.mac, ...mtu },
      { name: m.ifname, mac: m.mac, ...mtu, sandbox: m.netns },
    ],
    ips: [{ address: `${m.ip}/${m.prefixlen}`, gateway: m.gateway, interface: 2 }],
    routes: m.defaultRoute ? [{ dst: '0.0.0.0/0', gw: m.gateway }] : [],
    ...(dns && Object.keys(dns).length > 0 && { dns }),
  };
}
