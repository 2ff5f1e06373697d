// Addresses in DNS records: A and AAAA RDATA from text, and the reverse
// (PTR) names of IPv4 addresses (RFC 1035 §3.5: d.c.b.a.in-addr.arpa).
//
// Pure.

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

/** IPv6 text (with `::` and an optional trailing dotted quad) to 16 bytes, or undefined. */
export function parseIPv6(ip: string): Buffer | undefined {
  if (ip.length > 45 || ip.length < 2) return undefined;
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const b = Buffer.allocUnsafe(16);
  all.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/**
 * The IPv4 address named by `d.c.b.a.in-addr.arpa` (any case, trailing dot allowed), or
 * undefined: partial names (`17.172.in-addr.arpa`), leading zeros and ip6.arpa are not addresses.
 */
export function ipFromPtr(name: string): string | undefined {
  const n = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  const SUFFIX = '.in-addr.arpa';
  if (!n.endsWith(SUFFIX)) return undefined;
  const parts = n.slice(0, -SUFFIX.length).split('.');
  if (parts.length !== 4) return undefined;
  for (const p of parts) if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
  return `${parts[3]}.${parts[2]}.${parts[1]}.${parts[0]}`;
}
