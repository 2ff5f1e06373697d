// Addresses in DNS records: A and AAAA RDATA from text, and the reverse
// (PTR) names of IPv4 addresses (RFC 1035 §3.5: d.c.b.a.in-addr.arpa).
//
// Pure.
import { parseIPv6 as parseIPv6Groups } from '../net/ip.js';
import { bigIntToIpv6 } from '../net/ip6.js';

/** Writes dotted-quad `ip` at `off`; false if it isn't one. Hand-rolled: this is the hot path. */
export function writeIPv4(ip: string, out: Buffer, off: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || n > 3) return false;
      out[off + n++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      if (part > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return n === 4;
}

export function parseIPv4(ip: string): Buffer | undefined {
  const b = Buffer.allocUnsafe(4);
  return writeIPv4(ip, b, 0) ? b : undefined;
}

/** IPv6 text to the 16 bytes of an AAAA record, or undefined (parsed by src/net/ip.ts, the one IPv6 parser). */
export function parseIPv6(ip: string): Buffer | undefined {
  const groups = parseIPv6Groups(ip);
  if (!groups) return undefined;
  const b = Buffer.allocUnsafe(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/**
 * The IPv4 address named by `d.c.b.a.in-addr.arpa`, or the IPv6 one by its 32 nibbles under
 * ip6.arpa (any case, trailing dot allowed), or undefined: partial names (`17.172.in-addr.arpa`)
 * and leading zeros are not addresses.
 */
export function ipFromPtr(name: string): string | undefined {
  const n = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  const SUFFIX = '.in-addr.arpa';
  if (n.endsWith(IP6_ARPA)) return ipv6FromPtr(n);
  if (!n.endsWith(SUFFIX)) return undefined;
  const parts = n.slice(0, -SUFFIX.length).split('.');
  if (parts.length !== 4) return undefined;
  for (const p of parts) if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
  return `${parts[3]}.${parts[2]}.${parts[1]}.${parts[0]}`;
}

const IP6_ARPA = '.ip6.arpa';

/** 32 reversed nibbles under ip6.arpa (RFC 3596 2.5) -> the IPv6 address, canonical as the index keeps it. */
function ipv6FromPtr(n: string): string | undefined {
  const nibbles = n.slice(0, -IP6_ARPA.length).split('.');
  if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return undefined;
  return bigIntToIpv6(BigInt(`0x${nibbles.reverse().join('')}`));
}
