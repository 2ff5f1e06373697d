// IP addresses and prefixes as text: "172.17.0.2/16" -> {address, prefixlen}; IPv6 text -> groups.
// Pure functions; IPAM, subnet arithmetic, the kernel verbs, the /etc renderers and the DNS codec build on these.

/**
 * Is `s` a dotted-quad IPv4 address (four decimal octets, no leading zeros),
 * exactly as node:net's isIPv4 reads it? Here, so a CLI call that only
 * checks an address doesn't load node:net (and node:stream): ~2.5 ms.
 */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * Is `s` an IPv6 address in text form (RFC 4291 section 2.2, as inet_pton
 * reads it)? node:net's isIPv6 compiles a very large regular expression on
 * first use, several milliseconds of every CLI call; this doesn't.
 */
export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== undefined;
}

/**
 * IPv6 text as its 8 16-bit groups, or undefined if it is not one (RFC 4291
 * section 2.2, as inet_pton reads it): `::` stands for one or more zero groups,
 * and a dotted quad may end the address as its last two groups. No zone (`%eth0`).
 * The one IPv6 parser: isIPv6, isLoopback and the DNS codec build on it.
 */
export function parseIPv6(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return undefined;
  let text = s;
  const quad: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!isIPv4(last)) return undefined;
    const n = ipv4ToInt(last);
    quad.push(n >>> 16, n & 0xffff);
    // Keep a `::` before the quad; drop a lone `:`, which only separated it.
    text = s.endsWith(`::${last}`) ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups: number[][] = [];
  for (const half of halves) {
    const parts = half === '' ? [] : half.split(':');
    if (parts.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    groups.push(parts.map((g) => parseInt(g, 16)));
  }
  const count = groups.reduce((n, g) => n + g.length, 0) + quad.length;
  if (halves.length === 1) return count === 8 ? [...groups[0]!, ...quad] : undefined;
  if (count > 7) return undefined;
  return [...groups[0]!, ...new Array<number>(8 - count).fill(0), ...groups[1]!, ...quad];
}

/** 4, 6, or 0 for text that is not an IP address (node:net isIP without its IPv6 pattern). */
export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

export interface Prefix {
  family: 4 | 6;
  address: string;
  prefixlen: number;
}

/** Parses "ADDR/LEN" (or a bare address, as a host prefix). Throws on anything else. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (!family) throw new Error(`"${text}" is not an IPv4 or IPv6 address`);
  const max = family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`"${text}": prefix length must be 0..${max}`);
  }
  return { family, address, prefixlen: Number(lenText) };
}

export function formatPrefix(p: { address: string; prefixlen: number }): string {
  return `${p.address}/${p.prefixlen}`;
}

/** IPv4 dotted quad -> 32-bit unsigned integer. */
export function ipv4ToInt(a: string): number {
  if (!isIPv4(a)) throw new Error(`"${a}" is not an IPv4 address`);
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** 32-bit unsigned integer -> IPv4 dotted quad. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The network address of an IPv4 prefix: 172.17.0.2/16 -> 172.17.0.0. */
export function ipv4Network(p: Prefix): string {
  const mask = p.prefixlen === 0 ? 0 : (0xffffffff << (32 - p.prefixlen)) >>> 0;
  return intToIpv4((ipv4ToInt(p.address) & mask) >>> 0);
}

/**
 * True for 127.0.0.0/8 and ::1: addresses that mean "this netns", so are useless elsewhere. Any
 * spelling of ::1 counts, and IPv4-mapped forms of 127/8 (::ffff:127.0.0.1), which a string
 * compare would miss; a zone (`::1%lo`) is ignored. (node:net's BlockList does the same, ~100
 * times slower.)
 */
export function isLoopback(addr: string): boolean {
  const pct = addr.indexOf('%');
  const a = pct < 0 ? addr : addr.slice(0, pct);
  if (isIPv4(a)) return a.startsWith('127.');
  const g = parseIPv6(a);
  if (!g || g.slice(0, 5).some((x) => x !== 0)) return false;
  if (g[5] === 0 && g[6] === 0) return g[7] === 1; // ::1
  return g[5] === 0xffff && g[6]! >> 8 === 127; // ::ffff:127.x.y.z
}
