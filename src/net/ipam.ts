// IPAM: which address inside a network's subnet a container gets.
//
// Docker keeps one bitmap per subnet (lnw `ipams/defaultipam/allocator.go`,
// `address_space.go`, `internal/addrset/addrset.go`, `bitmap/sequence.go`).
// The network and broadcast addresses are reserved when the subnet is created,
// the gateway is requested first and so gets .1, and every container then gets
// the lowest free address (.2, .3, ...); a released address is reused by the
// next container. --ip-range narrows dynamic allocation to a child subnet,
// while a static --ip may be anywhere in --subnet.
//
// Pure: the caller passes the addresses in use (from nsnet's state) on every
// call, so there is no bitmap to keep in sync; a Set of integers plays its part.
//
// Be aware:
// - IPv4 only.
// - Only the subnet's network and broadcast addresses are skipped, not the
//   ip-range's: with --subnet 10.0.0.0/16 --ip-range 10.0.1.0/24 the first
//   container gets 10.0.1.0, as in Docker (docker/for-linux#170).
import { intToIpv4, ipv4ToInt, isIPv4, isIPv6 } from './ip.js';
import { formatIpv4Block, parseIpv4Block, type Ipv4Block } from './subnet-pool.js';

export interface Pool {
  subnet: string;
  gateway: string;
  /** Where dynamic allocation happens; the whole subnet when absent. */
  ipRange?: string;
  /** --aux-address: addresses (by the user's name for them) that are never handed out, e.g. a host's shim. */
  aux?: Record<string, string>;
}

/**
 * Validates a network's --subnet, --gateway and --ip-range and fills in the
 * default gateway (the first host address, .1). Messages follow Docker's
 * (`api/types/network/ipam.go` `ValidateIPAM`).
 */
export function planPool(o: { subnet: string; gateway?: string; ipRange?: string; aux?: Record<string, string> }): Pool {
  const subnet = parseSubnet(o.subnet);
  const gateway = o.gateway === undefined ? intToIpv4(subnet.network + 1) : checkGateway(o.gateway, subnet);
  const pool: Pool = { subnet: formatIpv4Block(subnet), gateway };
  if (o.ipRange !== undefined) pool.ipRange = formatIpv4Block(parseIpRange(o.ipRange, subnet));
  if (o.aux && Object.keys(o.aux).length) pool.aux = checkAux(o.aux, subnet);
  return pool;
}

/**
 * --aux-address NAME=IP: each a valid IPv4 address inside the subnet (Docker:
 * "no matching subnet for aux-address"), not its network or broadcast address.
 * It may be the gateway's (Docker allows it; it is reserved either way).
 */
function checkAux(aux: Record<string, string>, subnet: Ipv4Block): Record<string, string> {
  for (const [name, ip] of Object.entries(aux)) {
    if (!name) throw new Error(`invalid aux-address =${ip}: give it a name (NAME=IP)`);
    if (!isIPv4(ip)) throw new Error(`invalid aux-address ${name}=${ip}: ${isIPv6(ip) ? 'IPv6 is not supported yet, only IPv4' : 'invalid address'}`);
    const n = ipv4ToInt(ip);
    if (!contains(subnet, n)) throw new Error(`no matching subnet for aux-address ${name}=${ip}: ${formatIpv4Block(subnet)} doesn't contain it`);
    const role = reservedRole(subnet, n);
    if (role) throw new Error(`invalid aux-address ${name}=${ip}: it is the ${role} address of ${formatIpv4Block(subnet)}`);
  }
  return { ...aux };
}

/**
 * The lowest free address for a new container: inside the ip-range (or the
 * subnet), not the network, broadcast or gateway address, and not in `used`.
 */
export function allocate(pool: Pool, used: Used): string {
  const subnet = parseIpv4Block(pool.subnet);
  const range = pool.ipRange === undefined ? subnet : parseIpv4Block(pool.ipRange);
  const taken = takenTest(pool, subnet, used);
  for (let n = range.network; n < range.network + range.size; n++) {
    if (!taken(n)) return intToIpv4(n);
  }
  throw new Error(`no available IP addresses in ${formatIpv4Block(range)}`);
}

/**
 * The addresses in use: a list (small pools, tests) or a test on the
 * address as an integer (a bitmap kept by the state store, so that
 * allocating costs the same with 10 sandboxes as with 10,000).
 */
export type Used = Iterable<string> | ((n: number) => boolean);

/**
 * Checks a static --ip: a valid IPv4 address inside the subnet (it may lie
 * outside the ip-range, as in Docker), not reserved and not in `used`.
 */
export function checkStatic(pool: Pool, ip: string, used: Used): void {
  if (!isIPv4(ip)) throw new Error(`invalid IPv4 address "${ip}"`);
  const subnet = parseIpv4Block(pool.subnet);
  const n = ipv4ToInt(ip);
  if (!contains(subnet, n)) throw new Error(`address ${ip} is not in subnet ${pool.subnet}`);
  const role = reservedRole(subnet, n);
  if (role) throw new Error(`address ${ip} is the ${role} address of subnet ${pool.subnet}`);
  if (ip === pool.gateway) throw new Error(`address ${ip} is already in use by the gateway`);
  const aux = Object.entries(pool.aux ?? {}).find(([, a]) => a === ip);
  if (aux) throw new Error(`address ${ip} is reserved as aux-address ${aux[0]}`);
  if (typeof used === 'function' ? used(n) : [...used].includes(ip)) throw new Error(`address ${ip} is already in use`);
}

function parseSubnet(text: string): Ipv4Block {
  const subnet = parseCidr(text, 'subnet');
  // Docker refuses host bits rather than guessing which network was meant.
  if (subnet.address !== subnet.network) {
    throw new Error(`invalid subnet ${text}: it should be ${formatIpv4Block(subnet)}`);
  }
  // A /31 or /32 leaves no address for a container once the gateway has one.
  if (subnet.prefixlen < 1 || subnet.prefixlen > 30) {
    throw new Error(`invalid subnet ${text}: prefix length must be /1 to /30, to leave room for a gateway and a container`);
  }
  const reserved = reservedOverlap(subnet);
  if (reserved) throw new Error(`invalid subnet ${text}: ${reserved.what} (${reserved.cidr}) cannot be used for a network`);
  return subnet;
}

/**
 * IPv4 blocks no network may overlap (RFC 6890): a bridge on them breaks the
 * host (a 127.0.0.1/8 gateway on a bridge shadows lo's own loopback route)
 * or can't work at all (multicast, class E and broadcast are not unicast
 * addresses; 0.0.0.0/8 is "this network" and 169.254.0.0/16 is link-local,
 * never forwarded, so NAT and published ports could not reach them).
 * The ip-range and gateway lie inside the subnet, so they are covered too.
 */
export const RESERVED_IPV4: readonly { cidr: string; what: string }[] = Object.freeze([
  { cidr: '0.0.0.0/8', what: '"this network" addresses' },
  { cidr: '127.0.0.0/8', what: 'loopback addresses' },
  { cidr: '169.254.0.0/16', what: 'link-local addresses' },
  { cidr: '224.0.0.0/4', what: 'multicast addresses' },
  { cidr: '240.0.0.0/4', what: 'reserved (class E) addresses' },
  // Inside class E, so never the first match; listed for completeness.
  { cidr: '255.255.255.255/32', what: 'the limited broadcast address' },
]);

/** The first reserved block that `b` overlaps, if any (two CIDR blocks overlap iff one contains the other). */
export function reservedOverlap(b: Ipv4Block): { cidr: string; what: string } | undefined {
  return RESERVED_IPV4.find((r) => {
    const x = parseIpv4Block(r.cidr);
    return b.network < x.network + x.size && x.network < b.network + b.size;
  });
}

function parseIpRange(text: string, subnet: Ipv4Block): Ipv4Block {
  const range = parseCidr(text, 'ip-range');
  if (range.address !== range.network) {
    throw new Error(`invalid ip-range ${text}: it should be ${formatIpv4Block(range)}`);
  }
  if (range.prefixlen < subnet.prefixlen || !contains(subnet, range.network)) {
    throw new Error(`invalid ip-range ${text}: parent subnet ${formatIpv4Block(subnet)} doesn't contain ip-range`);
  }
  return range;
}

function checkGateway(text: string, subnet: Ipv4Block): string {
  // isIPv4 first: node's IPv6 pattern costs milliseconds to compile on first use.
  if (!isIPv4(text)) {
    if (isIPv6(text)) throw new Error(`invalid gateway ${text}: parent subnet is an IPv4 block`);
    throw new Error(`invalid gateway ${text}: invalid address`);
  }
  const n = ipv4ToInt(text);
  if (!contains(subnet, n)) {
    throw new Error(`invalid gateway ${text}: parent subnet ${formatIpv4Block(subnet)} doesn't contain this address`);
  }
  const role = reservedRole(subnet, n);
  if (role) throw new Error(`invalid gateway ${text}: it is the ${role} address of ${formatIpv4Block(subnet)}`);
  return text;
}

/** Parses a CIDR that must be written with a prefix length, as Docker's netip.ParsePrefix demands. */
function parseCidr(text: string, what: 'subnet' | 'ip-range'): Ipv4Block {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  if (!isIPv4(address) && isIPv6(address)) throw new Error(`invalid ${what} ${text}: IPv6 is not supported yet, only IPv4`);
  if (slash < 0 || !isIPv4(address)) throw new Error(`invalid ${what} ${text}: invalid CIDR block notation`);
  try {
    return parseIpv4Block(text);
  } catch {
    throw new Error(`invalid ${what} ${text}: invalid CIDR block notation`);
  }
}

function contains(b: Ipv4Block, n: number): boolean {
  return n >= b.network && n < b.network + b.size;
}

/** "network" or "broadcast" when `n` is one of the subnet's two reserved addresses. */
function reservedRole(subnet: Ipv4Block, n: number): 'network' | 'broadcast' | undefined {
  if (n === subnet.network) return 'network';
  if (n === subnet.network + subnet.size - 1) return 'broadcast';
  return undefined;
}

/** Network, broadcast, gateway, aux and every used address, as a test on integers. */
function takenTest(pool: Pool, subnet: Ipv4Block, used: Used): (n: number) => boolean {
  const reserved = new Set<number>([subnet.network, subnet.network + subnet.size - 1, ipv4ToInt(pool.gateway)]);
  for (const a of Object.values(pool.aux ?? {})) reserved.add(ipv4ToInt(a));
  if (typeof used === 'function') return (n) => reserved.has(n) || used(n);
  for (const u of used) reserved.add(quadToInt(u));
  return (n) => reserved.has(n);
}

/**
 * ipv4ToInt without its regex and array: every allocation parses every used
 * address, and at 60k containers on a /16 that is most of the call's time.
 * Anything unusual goes to ipv4ToInt, which validates and says what is wrong.
 */
function quadToInt(a: string): number {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i) - 48;
    // "01" is refused, as isIPv4 refuses it: no octal guessing.
    if (c >= 0 && c <= 9 && digits < 3 && !(digits === 1 && octet === 0)) {
      octet = octet * 10 + c;
      digits++;
    } else if (c === -2 && digits > 0 && dots < 3 && octet <= 255) {
      n = n * 256 + octet;
      octet = digits = 0;
      dots++;
    } else {
      return ipv4ToInt(a);
    }
  }
  if (dots !== 3 || digits === 0 || octet > 255) return ipv4ToInt(a);
  return n * 256 + octet;
}
