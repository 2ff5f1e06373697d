// DNS messages on the wire (RFC 1035 §4, EDNS0 RFC 6891), just what the embedded server needs.
//
// Docker's embedded server (moby/libnetwork `resolver.go`, `serveDNS`) parses each query with
// miekg/dns, answers names it knows with TTL 600 (`respTTL`), RA set and RD copied, truncates
// local answers that don't fit 512 bytes (or the client's EDNS size) with TC set, and forwards
// everything else. aardvark-dns (`src/dns/coredns.rs`) does the same with hickory-proto. This file is
// the hand-written equivalent: one pass over the question, one allocation per reply, the
// question bytes copied from the request so the client sees its own spelling (`dig @127.0.0.11
// dB A` gets `dB.` back) and every answer names it with a pointer to offset 12 (0xC00C).
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
// - parseQuery is deliberately strict (one question, no compression pointer in it, no truncated
//   record, at most one OPT): anything else is null and the server answers FORMERR. It never
//   throws and its work is bounded by the buffer's length (every loop step consumes bytes).
// - Names as text use dig's presentation form: a byte that is not printable ASCII, or a `.` or `\`
//   inside a label, is escaped (`\046`, `\.`), so a hostile label can't pass for two labels.
// - Only ASCII letters are case-folded (RFC 4343).
//
// Pure.

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;
/** Docker's `respTTL`: the TTL of every local answer. */
export const RESP_TTL = 600;
/** The UDP size a reply may use when the client sent no EDNS (RFC 1035 §4.2.1). */
export const UDP_SIZE = 512;
/** The UDP size nsnet advertises in its OPT record, and the most it uses for a client's EDNS size. */
export const EDNS_SIZE = 4096;

const HEADER = 12;
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;
/** Longest name on the wire, length bytes and the final 0 included (RFC 1035 §3.1). */
const NAME_MAX = 255;
const LABEL_MAX = 63;
/** OPT RR with an empty RDATA: root name, type, class (size), TTL (ext-rcode, version, flags), rdlength. */
const OPT_LEN = 11;
/** Compression pointers followed in one name; real messages need a handful, loops need infinity. */
const MAX_JUMPS = 64;

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

// ---------------------------------------------------------------------------------------------
// Names

// parseQuery's scratch: the name's bytes with dots between labels. One module-level buffer is
// safe because JavaScript runs this synchronously; it saves an allocation per query.
const scratch = Buffer.allocUnsafe(NAME_MAX);
let lastRaw = '';
let lastLower = '';

/** True when byte c can't appear unescaped in a presentation-form label. */
function special(c: number): boolean {
  return c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c;
}

/** One label in presentation form: `\.`, `\\`, and `\DDD` for bytes outside printable ASCII. */
function escapeLabel(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

function labelText(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (special(buf[i]!)) return escapeLabel(buf, start, end);
  return buf.toString('latin1', start, end);
}

/**
 * Reads an uncompressed name at `start` into lastRaw/lastLower. Returns the offset after its
 * final 0, or -1 if it is truncated, uses a pointer or a reserved label type, or is too long.
 */
function readQName(buf: Buffer, start: number): number {
  const len = buf.length;
  let pos = start;
  let out = 0;
  let escape = false;
  let upper = false;
  for (;;) {
    if (pos >= len) return -1;
    const l = buf[pos]!;
    if (l === 0) break;
    // 0xC0 is a compression pointer, 0x40/0x80 reserved label types: refused in a question,
    // where no earlier name exists to point at.
    if (l > LABEL_MAX) return -1;
    const end = pos + 1 + l;
    // The label, then at least one more length byte; and the whole name (with its final 0) ≤ 255.
    if (end >= len || end + 1 - start > NAME_MAX) return -1;
    if (out > 0) scratch[out++] = 0x2e;
    for (let i = pos + 1; i < end; i++) {
      const c = buf[i]!;
      if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) escape = true;
      else if (c >= 0x41 && c <= 0x5a) upper = true;
      scratch[out++] = c;
    }
    pos = end;
  }
  if (escape) {
    const labels: string[] = [];
    for (let p = start; buf[p]! !== 0; p += 1 + buf[p]!) labels.push(escapeLabel(buf, p + 1, p + 1 + buf[p]!));
    lastRaw = labels.join('.');
  } else {
    lastRaw = scratch.toString('latin1', 0, out);
  }
  // Escaping left only ASCII, so toLowerCase folds exactly A-Z.
  lastLower = upper ? lastRaw.toLowerCase() : lastRaw;
  return pos + 1;
}

/** Offset after a possibly compressed name (not followed), or -1. */
function skipName(buf: Buffer, start: number): number {
  const len = buf.length;
  let pos = start;
  for (;;) {
    if (pos >= len) return -1;
    const l = buf[pos]!;
    if (l === 0) return pos + 1;
    if ((l & 0xc0) === 0xc0) return pos + 2 <= len ? pos + 2 : -1;
    if (l > LABEL_MAX) return -1;
    pos += 1 + l;
  }
}

/**
 * Reads a possibly compressed name at `start`. Sets lastRaw and returns the offset after the
 * name where it sits (after the first pointer, if any), or -1 when it is malformed: a truncated
 * label, a reserved label type, more than MAX_JUMPS pointers (a loop), or over 255 bytes.
 */
function readName(buf: Buffer, start: number): number {
  const len = buf.length;
  let pos = start;
  let next = -1;
  let jumps = 0;
  let wire = 1;
  let s = '';
  for (;;) {
    if (pos >= len) return -1;
    const l = buf[pos]!;
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) {
      if (pos + 1 >= len || ++jumps > MAX_JUMPS) return -1;
      if (next < 0) next = pos + 2;
      pos = ((l & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (l > LABEL_MAX) return -1;
    const end = pos + 1 + l;
    wire += 1 + l;
    if (end > len || wire > NAME_MAX) return -1;
    s += wire === 2 + l ? labelText(buf, pos + 1, end) : '.' + labelText(buf, pos + 1, end);
    pos = end;
  }
  lastRaw = s;
  return next < 0 ? pos + 1 : next;
}

/** A name in presentation form (`\.` and `\DDD` escapes understood) to wire form. Throws if invalid. */
export function encodeName(name: string): Buffer {
  // A final unescaped dot is the root: `a.` is `a`, but `a\.` ends in a dot inside its label.
  let slashes = 0;
  while (name.charCodeAt(name.length - 2 - slashes) === 0x5c) slashes++;
  const text = name.endsWith('.') && slashes % 2 === 0 ? name.slice(0, -1) : name;
  const out = Buffer.allocUnsafe(NAME_MAX);
  let o = 0;
  if (text !== '') {
    let lenAt = o++;
    let l = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c === 0x2e) {
        if (l === 0) throw new Error(`invalid DNS name ${JSON.stringify(name)}: empty label`);
        out[lenAt] = l;
        lenAt = o++;
        l = 0;
        if (o >= NAME_MAX) throw new Error(`invalid DNS name ${JSON.stringify(name)}: longer than 255 bytes`);
        continue;
      }
      if (c === 0x5c) {
        const d = text.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(d) && Number(d) <= 255) {
          c = Number(d);
          i += 3;
        } else if (i + 1 < text.length) {
          c = text.charCodeAt(++i);
        } else {
          throw new Error(`invalid DNS name ${JSON.stringify(name)}: dangling escape`);
        }
      }
      if (c > 0xff) throw new Error(`invalid DNS name ${JSON.stringify(name)}: non-ASCII character (use punycode)`);
      if (++l > LABEL_MAX) throw new Error(`invalid DNS name ${JSON.stringify(name)}: label longer than 63 bytes`);
      if (o >= NAME_MAX - 1) throw new Error(`invalid DNS name ${JSON.stringify(name)}: longer than 255 bytes`);
      out[o++] = c;
    }
    if (l === 0) throw new Error(`invalid DNS name ${JSON.stringify(name)}: empty label`);
    out[lenAt] = l;
  }
  out[o++] = 0;
  return out.subarray(0, o);
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** Writes dotted-quad `ip` at `off`; false if it isn't one. Hand-rolled: this is the hot path. */
function writeIPv4(ip: string, out: Buffer, off: number): boolean {
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

function parseIPv4(ip: string): Buffer | undefined {
  const b = Buffer.allocUnsafe(4);
  return writeIPv4(ip, b, 0) ? b : undefined;
}

/** IPv6 text (with `::` and an optional trailing dotted quad) to 16 bytes, or undefined. */
function parseIPv6(ip: string): Buffer | undefined {
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

/** The reverse-lookup name of an address: 172.17.0.2 → 2.0.17.172.in-addr.arpa (IPv6: ip6.arpa nibbles). */
export function ptrName(ip: string): string {
  const v4 = parseIPv4(ip);
  if (v4) return `${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}.in-addr.arpa`;
  const v6 = parseIPv6(ip);
  if (!v6) throw new Error(`ptrName: "${ip}" is not an IP address`);
  return [...v6.toString('hex')].reverse().join('.') + '.ip6.arpa';
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

// ---------------------------------------------------------------------------------------------
// Queries

/**
 * Parses a query, or returns null for anything the server should not answer normally: fewer
 * than 12 bytes, QR set (a response, maybe reflected), QDCOUNT other than 1, a question that is
 * truncated or uses a pointer, a label over 63 or a name over 255 bytes, a truncated record in
 * the other sections, or an OPT record that is not at the root or is repeated (RFC 6891 §6.1.1).
 * Never throws.
 */
export function parseQuery(buf: Buffer): Query | null {
  const len = buf.length;
  if (len < HEADER) return null;
  const flags = (buf[2]! << 8) | buf[3]!;
  if (flags & QR) return null;
  if (buf[4] !== 0 || buf[5] !== 1) return null;
  const nameEnd = readQName(buf, HEADER);
  if (nameEnd < 0 || nameEnd + 4 > len) return null;
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
    qname: lastLower,
    qnameRaw: lastRaw,
    qtype: (buf[nameEnd]! << 8) | buf[nameEnd + 1]!,
    qclass: (buf[nameEnd + 2]! << 8) | buf[nameEnd + 3]!,
    questionEnd,
    hasEdns,
  };
  if (ednsUdpSize !== undefined) q.ednsUdpSize = ednsUdpSize;
  return q;
}

/** A query in wire form (RD set), for tests, benchmarks and health checks. `edns`: the UDP size to advertise. */
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

// ---------------------------------------------------------------------------------------------
// Replies

function writeOpt(out: Buffer, p: number, size: number): number {
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
 */
export function buildError(req: Buffer, rcode: number): Buffer | null {
  if (req.length < 2) return null;
  const flags = req.length >= 4 ? (req[2]! << 8) | req[3]! : 0;
  let qEnd = HEADER;
  let opt = false;
  const q = parseQuery(req);
  if (q) {
    qEnd = q.questionEnd;
    opt = q.hasEdns;
  } else if (req.length >= HEADER && req[4] === 0 && req[5] === 1) {
    // Not a query we accept (a response, a bad additional section...), but maybe a readable question.
    const nameEnd = readQName(req, HEADER);
    if (nameEnd > 0 && nameEnd + 4 <= req.length) qEnd = nameEnd + 4;
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

// ---------------------------------------------------------------------------------------------
// Forwarding helpers: the server rewrites ids so replies from upstreams can't be confused.

/** The RCODE of a message, or -1 when it is too short to have one (-1 equals no real rcode). */
export function rcodeOf(buf: Buffer): number {
  return buf.length >= 4 ? buf[3]! & 0xf : -1;
}

/** The ID of a message, or -1 when it is shorter than 2 bytes (-1 matches no pending query). */
export function idOf(buf: Buffer): number {
  return buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : -1;
}

/** A copy of `buf` with ID `id` (unchanged copy if it is too short to have one). */
export function withId(buf: Buffer, id: number): Buffer {
  const out = Buffer.from(buf);
  if (out.length >= 2) out.writeUInt16BE(id & 0xffff, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Responses (upstream replies, and the tests' view of ours)

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
    const end = readName(buf, pos);
    if (end < 0 || end + 4 > len) return null;
    if (i === 0) res.question = { name: lastRaw, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) };
    pos = end + 4;
  }
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const fixed = readName(buf, pos);
    if (fixed < 0 || fixed + 10 > len) return null;
    const name = lastRaw;
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
      const end = readName(buf, rd);
      return end === rd + rdlen ? lastRaw : undefined;
    }
    case TYPE.MX: {
      if (rdlen < 3) return undefined;
      const end = readName(buf, rd + 2);
      return end === rd + rdlen ? `${buf.readUInt16BE(rd)} ${lastRaw}` : undefined;
    }
    default:
      return buf.toString('hex', rd, rd + rdlen);
  }
}
