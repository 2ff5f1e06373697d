// IPv6 subnets and addresses as numbers (bigint), for dual-stack networks:
// the subnet a network gets (given, or a /64 of the host's ULA /48, RFC 4193),
// its gateway and the lowest free address for a sandbox (no EUI-64). Pure.
import { parseIPv6, parsePrefix } from './ip.js';

export interface Ipv6Block {
  network: bigint;
  prefixlen: number;
}

const ALL = (1n << 128n) - 1n;

/** IPv6 text -> 128-bit number. Throws on anything else. */
export function ipv6ToBigInt(s: string): bigint {
  const g = parseIPv6(s);
  if (!g) throw new Error(`"${s}" is not an IPv6 address`);
  return g.reduce((n, x) => (n << 16n) | BigInt(x), 0n);
}

/** 128-bit number -> IPv6 text, canonical as RFC 5952 (lower case, the longest run of 2+ zero groups as `::`). */
export function bigIntToIpv6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The canonical spelling of an IPv6 address ("2001:DB8:0::1" -> "2001:db8::1"). */
export function canonicalIpv6(s: string): string {
  return bigIntToIpv6(ipv6ToBigInt(s));
}

function mask(prefixlen: number): bigint {
  return prefixlen === 0 ? 0n : (ALL << BigInt(128 - prefixlen)) & ALL;
}

/**
 * An IPv6 subnet for a network ("2001:db8:1::/64"): at least 4 addresses
 * (/126), host bits zero, as Docker wants it.
 */
export function parseIpv6Block(text: string): Ipv6Block {
  const p = parsePrefix(text);
  if (p.family !== 6 || !text.includes('/')) throw new Error(`"${text}" is not an IPv6 subnet (ADDR/LEN)`);
  if (p.prefixlen > 126) throw new Error(`IPv6 subnet ${text} is too small: at most /126`);
  const n = ipv6ToBigInt(p.address);
  const network = n & mask(p.prefixlen);
  if (network !== n) throw new Error(`invalid subnet ${text}: it has host bits set (the network is ${formatIpv6Block({ network, prefixlen: p.prefixlen })})`);
  return { network, prefixlen: p.prefixlen };
}

export function formatIpv6Block(b: Ipv6Block): string {
  return `${bigIntToIpv6(b.network)}/${b.prefixlen}`;
}

/** The IPv6 subnet an address with its prefix length is in ("2001:db8:5::1", 64 -> "2001:db8:5::/64"). */
export function network6(address: string, prefixlen: number): string {
  return formatIpv6Block({ network: ipv6ToBigInt(address) & mask(prefixlen), prefixlen });
}

export function inIpv6Block(b: Ipv6Block, a: bigint): boolean {
  return (a & mask(b.prefixlen)) === b.network;
}

/** Do two IPv6 subnets share an address? */
export function ipv6Overlap(a: Ipv6Block, b: Ipv6Block): boolean {
  const len = Math.min(a.prefixlen, b.prefixlen);
  return (a.network & mask(len)) === (b.network & mask(len));
}

/**
 * A network's IPv6 subnet and gateway: the gateway given (in the subnet,
 * not its first address, the subnet-router anycast of RFC 4291 2.6.1), else
 * the subnet's first host address, as Docker does.
 */
export function planPool6(o: { subnet: string; gateway?: string }): { subnet: string; gateway: string } {
  const b = parseIpv6Block(o.subnet);
  const subnet = formatIpv6Block(b);
  const r = RESERVED_IPV6.find((x) => {
    const [addr, len] = x.cidr.split('/');
    return ipv6Overlap({ network: ipv6ToBigInt(addr!), prefixlen: Number(len) }, b);
  });
  if (r) throw new Error(`invalid subnet ${subnet}: ${r.what} (${r.cidr}) cannot be used for a network`);
  if (!o.gateway) return { subnet, gateway: bigIntToIpv6(b.network + 1n) };
  const g = ipv6ToBigInt(o.gateway);
  if (!inIpv6Block(b, g)) throw new Error(`invalid gateway ${o.gateway}: not in subnet ${subnet}`);
  if (g === b.network) throw new Error(`invalid gateway ${o.gateway}: the subnet-router anycast address of ${subnet}`);
  return { subnet, gateway: bigIntToIpv6(g) };
}

/** IPv6 ranges a network's subnet must not touch (RFC 4291 2.4, 2.5.5.2). */
export const RESERVED_IPV6: readonly { cidr: string; what: string }[] = Object.freeze([
  { cidr: '::/127', what: 'the unspecified and loopback addresses' },
  { cidr: '::ffff:0:0/96', what: 'IPv4-mapped addresses' },
  { cidr: 'fe80::/10', what: 'link-local addresses' },
  { cidr: 'ff00::/8', what: 'multicast addresses' },
]);

/**
 * The lowest free address of a network's IPv6 subnet for a sandbox: after the
 * subnet-router anycast address, never the gateway nor one in `used`.
 */
export function allocate6(pool: { subnet: string; gateway: string }, used: Iterable<string>): string {
  const b = parseIpv6Block(pool.subnet);
  const taken = new Set<bigint>([ipv6ToBigInt(pool.gateway)]);
  for (const u of used) taken.add(ipv6ToBigInt(u));
  const last = b.network | (~mask(b.prefixlen) & ALL);
  for (let a = b.network + 1n; a <= last; a++) if (!taken.has(a)) return bigIntToIpv6(a);
  throw new Error(`no available IPv6 addresses on subnet ${pool.subnet}`);
}

/** A static IPv6 address for a sandbox: in the subnet, not the gateway, not taken. */
export function checkStatic6(pool: { subnet: string; gateway: string }, ip: string, used: Iterable<string>): string {
  const b = parseIpv6Block(pool.subnet);
  const a = ipv6ToBigInt(ip);
  if (!inIpv6Block(b, a) || a === b.network) throw new Error(`invalid address ${ip}: not a host address of subnet ${pool.subnet}`);
  if (a === ipv6ToBigInt(pool.gateway)) throw new Error(`address ${ip} is the gateway of subnet ${pool.subnet}`);
  for (const u of used) if (ipv6ToBigInt(u) === a) throw new Error(`address ${ip} already in use`);
  return bigIntToIpv6(a);
}

/** Is `id` a ULA global id as kept in the state: 40 bits, 10 hex digits? */
export function isUlaGlobalId(id: string): boolean {
  return /^[0-9a-f]{10}$/.test(id);
}

/** A new ULA global id from 5 random bytes (RFC 4193 3.2: pseudo-random, chosen once). */
export function ulaGlobalId(random: Uint8Array): string {
  if (random.length < 5) throw new Error('a ULA global id needs 5 random bytes');
  return [...random.slice(0, 5)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** The host's ULA /48: fd00::/8 + the 40-bit global id (RFC 4193 3.1). */
export function ulaPrefix48(globalId: string): string {
  if (!isUlaGlobalId(globalId)) throw new Error(`"${globalId}" is not a ULA global id (10 hex digits)`);
  const g = `fd${globalId}`;
  return formatIpv6Block(parseIpv6Block(`${g.slice(0, 4)}:${g.slice(4, 8)}:${g.slice(8, 12)}::/48`));
}

/**
 * The subnet of a new `--ipv6` network given none: the lowest /64 of the host's
 * ULA /48 (subnet id 0..65535) that overlaps no subnet in `allocated`.
 */
export function chooseUla64(globalId: string, allocated: string[]): string {
  const base = parseIpv6Block(ulaPrefix48(globalId)).network;
  const taken = allocated.map(parseIpv6Block);
  for (let id = 0n; id < 65536n; id++) {
    const b = { network: base | (id << 64n), prefixlen: 64 };
    if (!taken.some((t) => ipv6Overlap(t, b))) return formatIpv6Block(b);
  }
  throw new Error(`no free /64 left in ${ulaPrefix48(globalId)}`);
}

/**
 * How many addresses from the start of a network's IPv6 subnet its address
 * bitmap covers: the first 4096 (a /64 has 2^64), or all of a smaller subnet.
 * Sandboxes get the lowest free one, so they come from this window; only a
 * static --ip6 beyond it (or a 4095th sandbox) is looked up in the records.
 * 4096 is past what one bridge can hold (the kernel's limit is 1024 ports,
 * BR_MAX_PORTS), and keeps the file at 512 bytes: it is read and written on
 * every create and rm (8 KiB, the size of a /16's IPv4 bitmap, cost ~0.3 ms more).
 */
export const WINDOW6_BITS = 12;
export function window6(subnet: string): number {
  return 1 << Math.min(WINDOW6_BITS, 128 - parseIpv6Block(subnet).prefixlen);
}

/** `ip`'s offset from the start of `subnet`, if inside its window (window6), else undefined. */
export function offset6(subnet: string, ip: string): number | undefined {
  const b = parseIpv6Block(subnet);
  const a = ipv6ToBigInt(ip);
  if (!inIpv6Block(b, a)) return undefined;
  const off = a - b.network;
  return off < BigInt(window6(subnet)) ? Number(off) : undefined;
}

/** The address `offset` places after the start of `subnet`. */
export function atOffset6(subnet: string, offset: number): string {
  return bigIntToIpv6(parseIpv6Block(subnet).network + BigInt(offset));
}

/**
 * allocate6 over a bitmap: the lowest offset in the window (window6) that is
 * not the subnet-router anycast (0), the gateway, nor `used`; undefined when
 * the window is full (the caller then looks beyond it). Pure.
 */
export function allocate6InWindow(pool: { subnet: string; gateway: string }, used: (offset: number) => boolean): string | undefined {
  const size = window6(pool.subnet);
  const gw = offset6(pool.subnet, pool.gateway);
  // The last address of a /64 is an ordinary host address (IPv6 has no broadcast), and so is the last in the window.
  for (let i = 1; i < size; i++) if (i !== gw && !used(i)) return atOffset6(pool.subnet, i);
  return undefined;
}
