// The cluster store's data model: where each shared record lives in etcd, its
// JSON, and the decisions made from what is read (the next VNI, the lowest free
// address). Pure: cluster-store.ts does the reads and transactions.
//
//   /nsnet/v1/networks/<id>                  {id, name, driver, subnet, gateway, vni, ...}
//   /nsnet/v1/network-names/<name>           <id>      one network per name
//   /nsnet/v1/vnis/<vni>                     <id>      one network per VNI
//   /nsnet/v1/subnets/<a.b.c.d_len>          <id>      one network per subnet
//   /nsnet/v1/addresses/<network id>/<ip>    {owner, host, sandbox}   an address handed out
//   /nsnet/v1/endpoints/<network id>/<sandbox id>  {sandbox, name, aliases, ip, mac, host, hostAddress}  (host lease)
//   /nsnet/v1/hosts/<host id>                {id, address, lease}      (host lease)
//   /nsnet/v1/podcidrs/<cluster a.b.c.d_len>/<node a.b.c.d_len>  {host, hostAddress}  a CNI node's pod CIDR (host lease)
//
// Every "one X per Y" key is created in the same transaction as the record,
// with `create_revision == 0` compares: of two hosts racing, one wins and the
// other sees which key it lost on. Endpoints and host records are attached to
// their host's etcd lease, so they vanish when the host stops renewing it.
import { allocate, planPool, type Pool } from '../../net/ipam.js';
import { isIPv4 } from '../../net/ip.js';
import { formatIpv4Block, NO_DEFAULT_POOL, parseIpv4Block, subnetConflict, type PoolSpec } from '../../net/subnet-pool.js';

export const ROOT = '/nsnet/v1/';

export const keys = {
  networks: `${ROOT}networks/`,
  network: (id: string) => `${ROOT}networks/${id}`,
  networkName: (name: string) => `${ROOT}network-names/${name}`,
  vnis: `${ROOT}vnis/`,
  vni: (vni: number) => `${ROOT}vnis/${vni}`,
  subnet: (cidr: string) => `${ROOT}subnets/${cidr.replace('/', '_')}`,
  addresses: (network: string) => `${ROOT}addresses/${network}/`,
  address: (network: string, ip: string) => `${ROOT}addresses/${network}/${ip}`,
  allEndpoints: `${ROOT}endpoints/`,
  endpoints: (network: string) => `${ROOT}endpoints/${network}/`,
  endpoint: (network: string, sandbox: string) => `${ROOT}endpoints/${network}/${sandbox}`,
  hosts: `${ROOT}hosts/`,
  host: (id: string) => `${ROOT}hosts/${id}`,
  podCidrs: (cluster: string) => `${ROOT}podcidrs/${cluster.replace('/', '_')}/`,
  podCidr: (cluster: string, cidr: string) => `${ROOT}podcidrs/${cluster.replace('/', '_')}/${cidr.replace('/', '_')}`,
};

/** An endpoint's key's network id and sandbox id. */
export function endpointKeyParts(key: string): { network: string; sandbox: string } {
  const [network = '', sandbox = ''] = key.slice(keys.allEndpoints.length).split('/');
  return { network, sandbox };
}

/** The last path segment of a key (the id, the address). */
export const lastSegment = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

// ---- records ------------------------------------------------------------------

export interface OverlayNetwork {
  id: string;
  name: string;
  driver: 'overlay';
  subnet: string;
  gateway: string;
  /** VXLAN network identifier: the `vxlan<VNI>` device on each host, `id VNI` in its frames. */
  vni: number;
  /** No way out of the overlay (no gateway bridge). */
  internal: boolean;
  labels: Record<string, string>;
  /** RFC 3339, when it was created. */
  created: string;
}

/** Who holds an address: `owner` is a token unique to the request (a repeated transaction recognises its own claim). */
export interface AddressClaim {
  ip: string;
  owner: string;
  host: string;
  sandbox?: string;
}

/** A sandbox on an overlay network, as every host needs it: where to send its frames (FDB), its MAC (neighbour), its names (DNS). */
export interface OverlayEndpoint {
  network: string;
  /** The sandbox's id. */
  sandbox: string;
  name: string;
  aliases: string[];
  ip: string;
  mac: string;
  /** The host's id in the store (hosts/<id>). */
  host: string;
  /** The host's underlay address: the VXLAN destination of frames for this endpoint. */
  hostAddress: string;
}

export interface HostRecord {
  id: string;
  address: string;
  /** The etcd lease its endpoints hang on (decimal int64). */
  lease: string;
}

/** Parses a record's JSON, naming the key when it is not what nsnet wrote. */
function parseJson(key: string, text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`cluster store key ${key}: not a JSON object: ${text.slice(0, 80)}`);
}

function need<T>(key: string, o: Record<string, unknown>, field: string, ok: (v: unknown) => v is T): T {
  const v = o[field];
  if (!ok(v)) throw new Error(`cluster store key ${key}: field "${field}" missing or invalid`);
  return v;
}
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const int = (v: unknown): v is number => Number.isInteger(v);
const ipv4 = (v: unknown): v is string => typeof v === 'string' && isIPv4(v);
const strList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function parseNetwork(key: string, text: string): OverlayNetwork {
  const o = parseJson(key, text);
  return {
    id: need(key, o, 'id', str),
    name: need(key, o, 'name', str),
    driver: 'overlay',
    subnet: need(key, o, 'subnet', str),
    gateway: need(key, o, 'gateway', ipv4),
    vni: need(key, o, 'vni', int),
    internal: o.internal === true,
    labels: (o.labels && typeof o.labels === 'object' ? o.labels : {}) as Record<string, string>,
    created: typeof o.created === 'string' ? o.created : '',
  };
}

export function parseEndpoint(key: string, text: string): OverlayEndpoint {
  const o = parseJson(key, text);
  return {
    network: need(key, o, 'network', str),
    sandbox: need(key, o, 'sandbox', str),
    name: need(key, o, 'name', str),
    aliases: strList(o.aliases) ? o.aliases : [],
    ip: need(key, o, 'ip', ipv4),
    mac: need(key, o, 'mac', str),
    host: need(key, o, 'host', str),
    hostAddress: need(key, o, 'hostAddress', str),
  };
}

export function parseAddressClaim(key: string, text: string): AddressClaim {
  const o = parseJson(key, text);
  return {
    ip: lastSegment(key),
    owner: need(key, o, 'owner', str),
    host: need(key, o, 'host', str),
    ...(str(o.sandbox) && { sandbox: o.sandbox }),
  };
}

export function parseHost(key: string, text: string): HostRecord {
  const o = parseJson(key, text);
  return { id: need(key, o, 'id', str), address: need(key, o, 'address', str), lease: need(key, o, 'lease', str) };
}

/** A node's pod CIDR (CNI with a cluster store, docs/cni.md): which host has it, and where the other nodes route it. */
export interface PodCidrLease {
  /** The node's subnet, a.b.c.d/len. */
  cidr: string;
  /** The host's id in the store (hosts/<id>). */
  host: string;
  /** The host's node address: the `via` of the other nodes' routes to `cidr`. */
  hostAddress: string;
}

export function parsePodCidr(key: string, text: string): PodCidrLease {
  const o = parseJson(key, text);
  return { cidr: lastSegment(key).replace('_', '/'), host: need(key, o, 'host', str), hostAddress: need(key, o, 'hostAddress', ipv4) };
}

export const encodePodCidr = (l: PodCidrLease): string => JSON.stringify({ host: l.host, hostAddress: l.hostAddress });

export const encodeClaim = (c: AddressClaim): string =>
  JSON.stringify({ owner: c.owner, host: c.host, ...(c.sandbox && { sandbox: c.sandbox }) });

// ---- decisions ------------------------------------------------------------------

/** VNIs nsnet hands out: Docker's overlay range (4096 up; below is left to hand-made VXLANs). */
export const VNI_FIRST = 4096;
export const VNI_LAST = 0xffffff;

/** The lowest VNI not in `taken` (the keys under vnis/). */
export function nextVni(taken: Iterable<number>): number {
  const t = new Set(taken);
  for (let v = VNI_FIRST; v <= VNI_LAST; v++) if (!t.has(v)) return v;
  throw new Error(`no free VXLAN id between ${VNI_FIRST} and ${VNI_LAST}`);
}

/** Where overlay subnets come from without --subnet: Docker swarm's default address pool, 10.0.0.0/8 in /24s. */
export const OVERLAY_POOLS: readonly PoolSpec[] = Object.freeze([{ base: '10.0.0.0/8', size: 24 }]);

/**
 * The pool of a new overlay network: --subnet/--gateway checked as for a
 * bridge (planPool), and not overlapping another overlay network; without
 * --subnet, the lowest free /24 of 10.0.0.0/8.
 */
export function planOverlayPool(o: { subnet?: string; gateway?: string }, others: OverlayNetwork[]): Pool {
  if (o.subnet === undefined) return planPool({ subnet: lowestFreeSubnet(OVERLAY_POOLS[0]!, others.map((n) => n.subnet)) });
  const pool = planPool({ subnet: o.subnet, ...(o.gateway !== undefined && { gateway: o.gateway }) });
  const conflict = subnetConflict(pool.subnet, others);
  if (conflict) throw new Error(conflict);
  return pool;
}

/**
 * The lowest subnet of `pool` overlapping none of `taken`, found by walking
 * the pool (chooseSubnet lists every candidate first: 65,536 /24s of 10/8
 * took ~0.7 s).
 */
function lowestFreeSubnet(pool: PoolSpec, taken: string[]): string {
  const base = parseIpv4Block(pool.base);
  const blocks = taken.map(parseIpv4Block);
  const step = 2 ** (32 - pool.size);
  for (let n = base.network; n < base.network + base.size; n += step) {
    if (!blocks.some((b) => n < b.network + b.size && b.network < n + step)) return formatIpv4Block({ address: n, network: n, prefixlen: pool.size, size: step });
  }
  throw new Error(NO_DEFAULT_POOL);
}

/** The lowest free address of `network` for a sandbox, given the addresses claimed (keys under addresses/<id>/). */
export function nextAddress(network: Pick<OverlayNetwork, 'subnet' | 'gateway' | 'name'>, claimed: Iterable<string>): string {
  try {
    return allocate({ subnet: network.subnet, gateway: network.gateway }, claimed);
  } catch (e) {
    throw new Error(`overlay network ${network.name}: ${(e as Error).message}`);
  }
}

/** The node prefix length when the configuration names none (flannel's SubnetLen default, kubeadm's node-cidr-mask-size). */
export const POD_CIDR_PREFIX_LEN = 24;

/**
 * The lowest block of `cluster` with prefix length `prefixLen` that none of
 * `taken` (the cluster's leases) overlaps. The first block is left out when
 * the cluster range has room for others: its first address is the cluster's
 * network address, which some tools read as "the whole range" (flannel skips
 * it too).
 */
export function nextPodCidr(cluster: string, prefixLen: number, taken: Iterable<string>): string {
  const c = parseIpv4Block(cluster);
  if (!Number.isInteger(prefixLen) || prefixLen < c.prefixlen || prefixLen > 30) {
    throw new Error(`node prefix length ${prefixLen}: it must be between the cluster's (${c.prefixlen}) and 30`);
  }
  const blocks = [...taken].map(parseIpv4Block);
  const step = 2 ** (32 - prefixLen);
  const first = c.size > step ? c.network + step : c.network;
  for (let n = first; n < c.network + c.size; n += step) {
    if (!blocks.some((b) => n < b.network + b.size && b.network < n + step)) return formatIpv4Block({ address: n, network: n, prefixlen: prefixLen, size: step });
  }
  throw new Error(`cluster range ${cluster}: every /${prefixLen} is leased to a node (${blocks.length} leases)`);
}
