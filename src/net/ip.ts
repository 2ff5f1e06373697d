// IPv4/IPv6 prefixes as text: "172.17.0.2/16" -> {address, prefixlen}.
// Pure functions; IPAM and subnet arithmetic build on these.

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
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return false;
  let groups = s.split(':');
  let v4 = 0;
  if (groups[groups.length - 1]!.includes('.')) {
    if (!isIPv4(groups[groups.length - 1]!)) return false;
    groups = groups.slice(0, -1);
    v4 = 2; // the dotted quad stands for two groups
  }
  const text = groups.join(':');
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (parts.some((p) => p.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g)))) return false;
  const count = parts.reduce((n, p) => n + p.length, 0) + v4;
  return halves.length === 2 ? count <= 7 : count === 8;
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
