// The client's side of DNS messages, for tests and benchmarks only: build a
// query, read a reply (ours, or an upstream's), the reverse name of an
// address. The server needs none of it (src/dns/message.ts, reply.ts).
import { parseIPv4, parseIPv6 } from '../../src/dns/address.js';
import { encodeName, LABEL_MAX, labelText, NAME_MAX } from '../../src/dns/domain-name.js';
import { CLASS_IN, HEADER, RD, TC, TYPE } from '../../src/dns/message.js';
import { OPT_LEN, writeOpt } from '../../src/dns/reply.js';

/** Compression pointers followed in one name; real messages need a handful, loops need infinity. */
const MAX_JUMPS = 64;

export interface ResponseRecord {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; CNAME/PTR/NS: the name; MX: "pref name"; otherwise the RDATA in hex. */
  data: string;
}

export interface Response {
  id: number;
  flags: number;
  rcode: number;
  tc: boolean;
  question?: { name: string; type: number; class: number };
  answers: ResponseRecord[];
  /** The size advertised by the OPT record in the additional section, if any. */
  ednsUdpSize?: number;
}

/** A query in wire form (RD set). `edns`: the UDP size to advertise. */
export function buildQuery(name: string, type: number, o: { id?: number; edns?: number; rd?: boolean; qclass?: number } = {}): Buffer {
  const qn = encodeName(name);
  const out = Buffer.alloc(HEADER + qn.length + 4 + (o.edns !== undefined ? OPT_LEN : 0));
  out.writeUInt16BE((o.id ?? 0) & 0xffff, 0);
  out.writeUInt16BE(o.rd === false ? 0 : RD, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(o.edns !== undefined ? 1 : 0, 10);
  qn.copy(out, HEADER);
  let p = HEADER + qn.length;
  p = out.writeUInt16BE(type, p);
  p = out.writeUInt16BE(o.qclass ?? CLASS_IN, p);
  if (o.edns !== undefined) writeOpt(out, p, o.edns);
  return out;
}

/** The reverse-lookup name of an address: 172.17.0.2 → 2.0.17.172.in-addr.arpa (IPv6: ip6.arpa nibbles). */
export function ptrName(ip: string): string {
  const v4 = parseIPv4(ip);
  if (v4) return `${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}.in-addr.arpa`;
  const v6 = parseIPv6(ip);
  if (!v6) throw new Error(`ptrName: "${ip}" is not an IP address`);
  return [...v6.toString('hex')].reverse().join('.') + '.ip6.arpa';
}

/** The RCODE of a message, or -1 when it is too short to have one (-1 equals no real rcode). */
export function rcodeOf(buf: Buffer): number {
  return buf.length >= 4 ? buf[3]! & 0xf : -1;
}

/** The ID of a message, or -1 when it is shorter than 2 bytes (-1 matches no pending query). */
export function idOf(buf: Buffer): number {
  return buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : -1;
}

/**
 * Reads a possibly compressed name at `start`: [the name, the offset after it where it sits
 * (after the first pointer, if any)], or null when it is malformed: a truncated label, a reserved
 * label type, more than MAX_JUMPS pointers (a loop), or over 255 bytes.
 */
function readName(buf: Buffer, start: number): [string, number] | null {
  const len = buf.length;
  let pos = start;
  let next = -1;
  let jumps = 0;
  let wire = 1;
  let s = '';
  for (;;) {
    if (pos >= len) return null;
    const l = buf[pos]!;
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) {
      if (pos + 1 >= len || ++jumps > MAX_JUMPS) return null;
      if (next < 0) next = pos + 2;
      pos = ((l & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (l > LABEL_MAX) return null;
    const end = pos + 1 + l;
    wire += 1 + l;
    if (end > len || wire > NAME_MAX) return null;
    s += wire === 2 + l ? labelText(buf, pos + 1, end) : '.' + labelText(buf, pos + 1, end);
    pos = end;
  }
  return [s, next < 0 ? pos + 1 : next];
}

/**
 * Reads a response: header, first question, answer records, and the OPT size if present.
 * Compressed names are followed, at most 64 pointers per name, so a pointer loop is an error,
 * not a hang. Null for anything malformed; never throws.
 */
export function parseResponse(buf: Buffer): Response | null {
  const len = buf.length;
  if (len < HEADER) return null;
  const flags = (buf[2]! << 8) | buf[3]!;
  const qd = (buf[4]! << 8) | buf[5]!;
  const an = (buf[6]! << 8) | buf[7]!;
  const ns = (buf[8]! << 8) | buf[9]!;
  const ar = (buf[10]! << 8) | buf[11]!;
  const res: Response = { id: (buf[0]! << 8) | buf[1]!, flags, rcode: flags & 0xf, tc: (flags & TC) !== 0, answers: [] };
  let pos = HEADER;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, pos);
    if (!n || n[1] + 4 > len) return null;
    const [name, end] = n;
    if (i === 0) res.question = { name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) };
    pos = end + 4;
  }
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const n = readName(buf, pos);
    if (!n || n[1] + 10 > len) return null;
    const [name, fixed] = n;
    const type = (buf[fixed]! << 8) | buf[fixed + 1]!;
    const rdlen = (buf[fixed + 8]! << 8) | buf[fixed + 9]!;
    const rd = fixed + 10;
    const end = rd + rdlen;
    if (end > len) return null;
    if (i < an) {
      const data = rdataText(buf, type, rd, rdlen);
      if (data === undefined) return null;
      res.answers.push({ name, type, ttl: buf.readUInt32BE(fixed + 4), data });
    } else if (i >= an + ns && type === TYPE.OPT) {
      res.ednsUdpSize = (buf[fixed + 2]! << 8) | buf[fixed + 3]!;
    }
    pos = end;
  }
  return res;
}

function rdataText(buf: Buffer, type: number, rd: number, rdlen: number): string | undefined {
  switch (type) {
    case TYPE.A:
      return rdlen === 4 ? `${buf[rd]}.${buf[rd + 1]}.${buf[rd + 2]}.${buf[rd + 3]}` : undefined;
    case TYPE.AAAA:
      return rdlen === 16 ? ipv6Text(buf, rd) : undefined;
    case TYPE.CNAME:
    case TYPE.PTR:
    case TYPE.NS: {
      const n = readName(buf, rd);
      return n && n[1] === rd + rdlen ? n[0] : undefined;
    }
    case TYPE.MX: {
      if (rdlen < 3) return undefined;
      const n = readName(buf, rd + 2);
      return n && n[1] === rd + rdlen ? `${buf.readUInt16BE(rd)} ${n[0]}` : undefined;
    }
    default:
      return buf.toString('hex', rd, rd + rdlen);
  }
}

/** 16 bytes to RFC 5952 text: lower-case, longest run of two or more zero groups as `::`. */
function ipv6Text(buf: Buffer, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
