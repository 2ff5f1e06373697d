// DNS messages on the wire (RFC 1035 §4, EDNS0 RFC 6891), just what the embedded server needs:
// this file reads queries; reply.ts builds the replies; domain-name.ts and address.ts do names
// and addresses. (Tests read replies with test/helpers/dns-client.ts.)
//
// Docker's embedded server (moby/libnetwork `resolver.go`, `serveDNS`) parses each query with
// miekg/dns, answers names it knows with TTL 600 (`respTTL`), RA set and RD copied, truncates
// local answers that don't fit 512 bytes (or the client's EDNS size) with TC set, and forwards
// everything else. aardvark-dns (`src/dns/coredns.rs`) does the same with hickory-proto. These
// files are the hand-written equivalent: one pass over the question, one allocation per reply,
// the question bytes copied from the request so the client sees its own spelling (`dig
// @127.0.0.11 dB A` gets `dB.` back) and every answer names it with a pointer to offset 12 (0xC00C).
// See it inside a sandbox: `ip netns exec web dig @127.0.0.11 db A +noedns` (512-byte mode) and
// `dig @127.0.0.11 db A +bufsize=1232` (EDNS).
//
// Layout of a message (RFC 1035 §4.1.1):
//   0  ID              2  QR|Opcode(4)|AA|TC|RD|RA|Z|AD|CD|RCODE(4)
//   4  QDCOUNT         6  ANCOUNT        8  NSCOUNT        10 ARCOUNT
//   12 question: QNAME (length-prefixed labels, 0) QTYPE QCLASS
//      then answer, authority and additional RRs: NAME TYPE CLASS TTL(4) RDLENGTH RDATA
//
// Be aware:
// - Parsing is deliberately strict (one question, no compression pointer in it, no truncated
//   record, at most one OPT): anything else is null and the server answers FORMERR. It never
//   throws and its work is bounded by the buffer's length (every loop step consumes bytes).
//
// Pure: a QueryParser's only state is its scratch buffer, owned by whoever made the parser.
import { NAME_MAX, readQName, skipName } from './domain-name.js';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;

/** The header's length; the question starts here. */
export const HEADER = 12;
/** The flag bits of the header's second 16 bits. */
export const QR = 0x8000;
export const OPCODE_MASK = 0x7800;
export const AA = 0x0400;
export const TC = 0x0200;
export const RD = 0x0100;
export const RA = 0x0080;
export const CD = 0x0010;

export interface Query {
  id: number;
  /** The header's second 16 bits, as received. */
  flags: number;
  rd: boolean;
  opcode: number;
  /** Lower-cased, no trailing dot, presentation form ('' for the root). */
  qname: string;
  /** As sent (for echoing the client's case). */
  qnameRaw: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question: req[12, questionEnd) is copied into every reply. */
  questionEnd: number;
  /** The UDP payload size from the client's OPT record, as sent (RFC 6891 §6.2.3). */
  ednsUdpSize?: number;
  hasEdns: boolean;
}

/**
 * Reads queries. Keep one per server (not one per query): it owns the buffer
 * a question's name is put together in, reused by every parse.
 */
export class QueryParser {
  private readonly scratch = Buffer.allocUnsafe(NAME_MAX);

  /**
   * Parses a query, or returns null for anything the server should not answer normally: fewer
   * than 12 bytes, QR set (a response, maybe reflected), QDCOUNT other than 1, a question that is
   * truncated or uses a pointer, a label over 63 or a name over 255 bytes, a truncated record in
   * the other sections, or an OPT record that is not at the root or is repeated (RFC 6891 §6.1.1).
   * Never throws.
   */
  parse(buf: Buffer): Query | null {
    const len = buf.length;
    if (len < HEADER) return null;
    const flags = (buf[2]! << 8) | buf[3]!;
    if (flags & QR) return null;
    if (buf[4] !== 0 || buf[5] !== 1) return null;
    const name = readQName(buf, HEADER, this.scratch);
    if (!name || name.end + 4 > len) return null;
    const nameEnd = name.end;
    const questionEnd = nameEnd + 4;
    // A query carries no answer or authority records in practice, but skipping them is cheap and
    // keeps an OPT record after them findable.
    const an = (buf[6]! << 8) | buf[7]!;
    const ns = (buf[8]! << 8) | buf[9]!;
    const ar = (buf[10]! << 8) | buf[11]!;
    let pos = questionEnd;
    let hasEdns = false;
    let ednsUdpSize: number | undefined;
    const total = an + ns + ar;
    for (let i = 0; i < total; i++) {
      const at = pos;
      const fixed = skipName(buf, pos);
      if (fixed < 0 || fixed + 10 > len) return null;
      const end = fixed + 10 + ((buf[fixed + 8]! << 8) | buf[fixed + 9]!);
      if (end > len) return null;
      if (i >= an + ns && buf[fixed] === 0 && buf[fixed + 1] === TYPE.OPT) {
        if (hasEdns || fixed !== at + 1) return null;
        hasEdns = true;
        ednsUdpSize = (buf[fixed + 2]! << 8) | buf[fixed + 3]!;
      }
      pos = end;
    }
    const q: Query = {
      id: (buf[0]! << 8) | buf[1]!,
      flags,
      rd: (flags & RD) !== 0,
      opcode: (flags & OPCODE_MASK) >> 11,
      qname: name.lower,
      qnameRaw: name.raw,
      qtype: (buf[nameEnd]! << 8) | buf[nameEnd + 1]!,
      qclass: (buf[nameEnd + 2]! << 8) | buf[nameEnd + 3]!,
      questionEnd,
      hasEdns,
    };
    if (ednsUdpSize !== undefined) q.ednsUdpSize = ednsUdpSize;
    return q;
  }

  /**
   * Where the question of `buf` ends, if it has one readable question (QDCOUNT 1), even when
   * the message is not a query parse() accepts (a response, a bad additional section); else -1.
   */
  questionEnd(buf: Buffer): number {
    if (buf.length < HEADER || buf[4] !== 0 || buf[5] !== 1) return -1;
    const name = readQName(buf, HEADER, this.scratch);
    return name && name.end + 4 <= buf.length ? name.end + 4 : -1;
  }
}

/** One parse with a parser of its own: for tests and rare paths (the server keeps a QueryParser). */
export function parseQuery(buf: Buffer): Query | null {
  return new QueryParser().parse(buf);
}

/** A copy of `buf` with ID `id` (unchanged copy if it is too short to have one): the forwarder's ids. */
export function withId(buf: Buffer, id: number): Buffer {
  const out = Buffer.from(buf);
  if (out.length >= 2) out.writeUInt16BE(id & 0xffff, 0);
  return out;
}
