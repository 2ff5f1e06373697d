// Default address pools: where a network's subnet comes from when the user
// gives no --subnet.
//
// Docker carves its local default pools (lnw `ipamutils/utils.go`) into
// fixed-size subnets and hands out the lowest one that overlaps neither a
// network it already allocated nor a prefix the host already uses: each
// on-link IPv4 route and each nameserver of resolv.conf as a /32
// (lnw `ipams/defaultipam/address_space.go` `allocatePredefinedPool`,
// `netutils/utils_linux.go` `InferReservedNetworks`). A released subnet is
// free at once, so the lowest freed one comes back next.
//
// An explicit --subnet is only checked against other networks' subnets
// ("Pool overlaps ..."), never against host routes: the user asked for it.
//
// Pure: the caller gathers the host's routes and nameservers.
import { intToIpv4, ipv4ToInt, parsePrefix } from './ip.js';

/** A pool to carve: `base` cut into subnets of prefix length `size` (Docker's `{Base, Size}`). */
export interface PoolSpec {
  base: string;
  size: number;
}

/** Docker's local default pools, in Docker's order: 15 × /16, then 16 × /20 = 31 subnets. */
export const DEFAULT_POOLS: readonly PoolSpec[] = Object.freeze([
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
]);

export const NO_DEFAULT_POOL =
  'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network';

/** An IPv4 prefix as integers: `network` is the first address, `size` the number of addresses. */
export interface Ipv4Block {
  /** The address as written (may have host bits set: "172.18.0.5/16"). */
  address: number;
  network: number;
  prefixlen: number;
  size: number;
}

/** Parses an IPv4 CIDR (or a bare address, as a /32) into integers. IPv6 is refused, by name. */
export function parseIpv4Block(cidr: string): Ipv4Block {
  const p = parsePrefix(cidr);
  if (p.family !== 4) throw new Error(`${cidr}: IPv6 is not supported yet, only IPv4 subnets`);
  // Plain arithmetic rather than bit operators: 2 ** 32 does not fit a 32-bit int.
  const size = 2 ** (32 - p.prefixlen);
  const address = ipv4ToInt(p.address);
  return { address, network: Math.floor(address / size) * size, prefixlen: p.prefixlen, size };
}

/** "network/prefixlen" of a block. */
export function formatIpv4Block(b: Ipv4Block): string {
  return `${intToIpv4(b.network)}/${b.prefixlen}`;
}

function blocksOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** Whether two CIDRs share any address ("10.0.0.0/8" and "10.1.2.3" do). */
export function overlaps(a: string, b: string): boolean {
  return blocksOverlap(parseIpv4Block(a), parseIpv4Block(b));
}

/** Every subnet the pools hand out, lowest address first. */
export function candidateSubnets(pools: readonly PoolSpec[] = DEFAULT_POOLS): Ipv4Block[] {
  const out: Ipv4Block[] = [];
  for (const pool of pools) {
    const base = parseIpv4Block(pool.base);
    if (pool.size < base.prefixlen || pool.size > 32) {
      throw new Error(`address pool ${pool.base}: size /${pool.size} must be between /${base.prefixlen} and /32`);
    }
    const step = 2 ** (32 - pool.size);
    for (let n = base.network; n < base.network + base.size; n += step) {
      out.push({ address: n, network: n, prefixlen: pool.size, size: step });
    }
  }
  return out.sort((a, b) => a.network - b.network || a.prefixlen - b.prefixlen);
}

/**
 * The lowest default subnet that overlaps neither an `allocated` network subnet
 * nor a `reserved` host prefix (on-link routes, nameservers). Throws Docker's
 * message when every candidate is taken.
 */
export function chooseSubnet(o: { allocated: string[]; reserved: string[]; pools?: readonly PoolSpec[] }): string {
  const taken = [...o.allocated, ...o.reserved].map(parseIpv4Block);
  const free = candidateSubnets(o.pools).find((c) => !taken.some((t) => blocksOverlap(c, t)));
  if (!free) throw new Error(NO_DEFAULT_POOL);
  return formatIpv4Block(free);
}

/**
 * For an explicit --subnet: Docker's "Pool overlaps" message naming the first
 * network whose subnet overlaps it, or undefined when there is none.
 */
export function subnetConflict(subnet: string, allocated: { name: string; subnet: string }[]): string | undefined {
  const wanted = parseIpv4Block(subnet);
  const other = allocated.find((a) => blocksOverlap(wanted, parseIpv4Block(a.subnet)));
  if (!other) return undefined;
  return `Pool overlaps with other one on this address space: ${subnet} overlaps ${other.subnet} of network ${other.name}`;
}
