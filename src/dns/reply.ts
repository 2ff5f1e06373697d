// The embedded server's replies (RFC 1035 §4.1, EDNS0 RFC 6891 §7): a local
// answer, or an error rcode. See message.ts for the layout and what Docker does.
//
// Pure.
import { parseIPv6, writeIPv4 } from './address.js';
import { encodeName } from './domain-name.js';
import { AA, CD, CLASS_IN, HEADER, OPCODE_MASK, QR, QueryParser, RA, RD, TC, TYPE, type Query } from './message.js';

/** Docker's `respTTL`: the TTL of every local answer. */
export const RESP_TTL = 600;
/** The UDP size a reply may use when the client sent no EDNS (RFC 1035 §4.2.1). */
export const UDP_SIZE = 512;
/** The UDP size nsnet advertises in its OPT record, and the most it uses for a client's EDNS size. */
export const EDNS_SIZE = 4096;
/** OPT RR with an empty RDATA: root name, type, class (size), TTL (ext-rcode, version, flags), rdlength. */
export const OPT_LEN = 11;

export interface Answer {
  type: 1 | 28 | 12 | 5;
  /** An address (A, AAAA) or a domain name (PTR, CNAME). */
  data: string;
  /** The owner name; absent means "the question's name", written as a pointer to it. */
  name?: string;
}

export interface AnswerOptions {
  rcode: number;
  answers: Answer[];
  aa?: boolean;
  /** Default RESP_TTL (600). */
  ttl?: number;
  /** Default 512, or the client's EDNS size (at least 512, at most 4096). Pass 65535 over TCP. */
  maxSize?: number;
}

/** Writes an OPT record advertising `size` at `p`; returns the offset after it. */
export function writeOpt(out: Buffer, p: number, size: number): number {
  out[p] = 0; // root
  out[p + 1] = 0;
  out[p + 2] = TYPE.OPT;
  out[p + 3] = (size >> 8) & 0xff;
  out[p + 4] = size & 0xff;
  out[p + 5] = 0; // extended rcode 0, version 0, no DO bit: nsnet does no DNSSEC
  out[p + 6] = 0;
  out[p + 7] = 0;
  out[p + 8] = 0;
  out[p + 9] = 0; // RDLENGTH 0: a client's options (cookies, padding...) are never echoed
  out[p + 10] = 0;
  return p + OPT_LEN;
}

function replyFlags(reqFlags: number, rcode: number, aa: boolean, tc: boolean): number {
  // As miekg/dns `SetReply`, which Docker uses: opcode, RD and CD copied; RA because the server
  // recurses for the client by forwarding.
  return QR | (reqFlags & (OPCODE_MASK | RD | CD)) | (aa ? AA : 0) | (tc ? TC : 0) | RA | (rcode & 0xf);
}

/** The largest reply `q` may get over UDP: 512, or its EDNS size clamped to [512, 4096]. */
export function udpLimit(q: Query): number {
  if (q.ednsUdpSize === undefined) return UDP_SIZE;
  return Math.min(EDNS_SIZE, Math.max(UDP_SIZE, q.ednsUdpSize));
}

/**
 * A reply to `q` (parsed from `req`): id and question copied from `req`, then the answers, then an
 * OPT record if the query had one. When it would exceed `maxSize`, the answers are dropped and
 * TC is set, so the client retries over TCP (Docker over UDP). Throws only on an invalid answer
 * (an address that doesn't parse, a bad name): that is a bug in the caller, not hostile input.
 */
export function buildAnswer(q: Query, req: Buffer, o: AnswerOptions): Buffer {
  if (req.length < q.questionEnd) throw new RangeError('buildAnswer: the request is shorter than its parsed question');
  const ttl = o.ttl ?? RESP_TTL;
  const limit = Math.min(0xffff, o.maxSize ?? udpLimit(q));
  const optLen = q.hasEdns ? OPT_LEN : 0;
  const base = q.questionEnd + optLen;

  // Size first, so the reply is one allocation. Names other than the question's and PTR/CNAME
  // data are encoded here once; A answers to the question (the hot path) allocate nothing.
  const answers = o.answers;
  let encoded: (Buffer | undefined)[] | undefined;
  let size = base;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i]!;
    if (a.name !== undefined) (encoded ??= [])[2 * i] = encodeName(a.name);
    const owner = a.name === undefined ? 2 : encoded![2 * i]!.length;
    let rdlen: number;
    if (a.type === TYPE.A) rdlen = 4;
    else if (a.type === TYPE.AAAA) rdlen = 16;
    else if (a.type === TYPE.PTR || a.type === TYPE.CNAME) rdlen = ((encoded ??= [])[2 * i + 1] = encodeName(a.data)).length;
    else throw new Error(`buildAnswer: unsupported answer type ${String(a.type)}`);
    size += owner + 10 + rdlen;
  }
  const tc = size > limit;
  if (tc) size = base;

  const out = Buffer.allocUnsafe(size);
  const flags = replyFlags(q.flags, o.rcode, o.aa === true, tc);
  const an = tc ? 0 : answers.length;
  // Byte stores rather than writeUInt16BE: this is the per-query hot path.
  out[0] = req[0]!;
  out[1] = req[1]!;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = 0;
  out[9] = 0;
  out[10] = 0;
  out[11] = q.hasEdns ? 1 : 0;
  // A JS loop beats Buffer#copy's native call for a question of a few dozen bytes.
  for (let i = HEADER; i < q.questionEnd; i++) out[i] = req[i]!;
  let p = q.questionEnd;
  const t0 = (ttl >>> 24) & 0xff;
  const t1 = (ttl >>> 16) & 0xff;
  const t2 = (ttl >>> 8) & 0xff;
  const t3 = ttl & 0xff;
  for (let i = 0; i < an; i++) {
    const a = answers[i]!;
    const owner = encoded?.[2 * i];
    if (owner) {
      p += owner.copy(out, p);
    } else {
      out[p++] = 0xc0; // a pointer to offset 12, the question's name
      out[p++] = 0x0c;
    }
    out[p++] = 0;
    out[p++] = a.type;
    out[p++] = 0;
    out[p++] = CLASS_IN;
    out[p++] = t0;
    out[p++] = t1;
    out[p++] = t2;
    out[p++] = t3;
    if (a.type === TYPE.A) {
      out[p++] = 0;
      out[p++] = 4;
      if (!writeIPv4(a.data, out, p)) throw new Error(`buildAnswer: "${a.data}" is not an IPv4 address`);
      p += 4;
    } else if (a.type === TYPE.AAAA) {
      const v6 = parseIPv6(a.data);
      if (!v6) throw new Error(`buildAnswer: "${a.data}" is not an IPv6 address`);
      p = out.writeUInt16BE(16, p);
      p += v6.copy(out, p);
    } else {
      const data = encoded![2 * i + 1]!;
      p = out.writeUInt16BE(data.length, p);
      p += data.copy(out, p);
    }
  }
  if (q.hasEdns) writeOpt(out, p, EDNS_SIZE);
  return out;
}

/**
 * A reply carrying only an error rcode (FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED): the
 * question echoed when the request has a readable one, else the bare header with QDCOUNT 0
 * (RFC 1035 allows it, and it is all one can say about garbage). An OPT record is added when the
 * request parses as a query with EDNS (RFC 6891 §7). Null when there isn't even an id to reply to.
 * `parser`: the caller's, if it keeps one (the error path may as well make its own).
 */
export function buildError(req: Buffer, rcode: number, parser = new QueryParser()): Buffer | null {
  if (req.length < 2) return null;
  const flags = req.length >= 4 ? (req[2]! << 8) | req[3]! : 0;
  let qEnd = HEADER;
  let opt = false;
  const q = parser.parse(req);
  if (q) {
    qEnd = q.questionEnd;
    opt = q.hasEdns;
  } else {
    // Not a query we accept (a response, a bad additional section...), but maybe a readable question.
    const end = parser.questionEnd(req);
    if (end > 0) qEnd = end;
  }
  const out = Buffer.alloc(qEnd + (opt ? OPT_LEN : 0));
  out[0] = req[0]!;
  out[1] = req[1]!;
  // A request with QR set gets a plain reply too; the server decides whether to send it.
  out.writeUInt16BE(replyFlags(flags, rcode, false, false), 2);
  if (qEnd > HEADER) {
    out.writeUInt16BE(1, 4);
    req.copy(out, HEADER, HEADER, qEnd);
  }
  if (opt) {
    out.writeUInt16BE(1, 10);
    writeOpt(out, qEnd, EDNS_SIZE);
  }
  return out;
}
