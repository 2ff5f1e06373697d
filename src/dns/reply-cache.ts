// Replies to queries asked before, by the query's exact bytes: the datagram
// path's way to answer a local name without parsing, looking up or
// allocating (queries.ts datagram).
//
// A reply depends on every byte of its query but the id: the question as
// spelt (0x20 case randomisation: the reply echoes it as asked), the flags
// it copies (RD, CD), the EDNS size that decides truncation, the OPT record.
// So the key is the query from byte 2 to its end, plus the socket it came on
// (the sandbox asking: what it may see); a hit is that reply with the query's
// id written in. A query that differs anywhere (a new EDNS cookie, another
// case) is a miss and goes the whole way. The owner clears the cache when
// the names change (names.ts generation), and caches only replies that are
// the same every time (not a rotated list of several addresses).
//
// Direct-mapped: a fixed number of entries, a newer one replaces what was at
// its place, so the memory is bounded whatever the queries.
//
// Pure.

/** FNV-1a over buf[off+2, off+len) and the token: where a query's entry lives. */
export function queryHash(token: number, buf: Uint8Array, off: number, len: number): number {
  let h = Math.imul(0x811c9dc5 ^ token, 0x01000193);
  for (let i = off + 2, end = off + len; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

export class ReplyCache {
  private readonly mask: number;
  private readonly tokens: Uint32Array;
  /** The query's bytes from offset 2 (its id is not part of the key). */
  private readonly keys: (Buffer | undefined)[];
  private readonly replies: (Buffer | undefined)[];
  private used = 0;

  /** `size`: entries, a power of two. */
  constructor(size = 4096) {
    if (size < 1 || (size & (size - 1)) !== 0) throw new RangeError('ReplyCache: size must be a power of two');
    this.mask = size - 1;
    this.tokens = new Uint32Array(size);
    this.keys = new Array<Buffer | undefined>(size).fill(undefined);
    this.replies = new Array<Buffer | undefined>(size).fill(undefined);
  }

  /** Entries in use. */
  get size(): number {
    return this.used;
  }

  clear(): void {
    if (this.used === 0) return;
    this.keys.fill(undefined);
    this.replies.fill(undefined);
    this.used = 0;
  }

  /**
   * The cached reply to the query buf[off, off+len) on `token`'s socket, written at out[at] with
   * the query's id: its length, or 0 when there is none (or it doesn't fit before `end`).
   */
  answer(token: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, at: number, end: number): number {
    if (len < 12) return 0;
    const slot = queryHash(token, buf, off, len) & this.mask;
    const key = this.keys[slot];
    if (key === undefined || this.tokens[slot] !== token >>> 0 || key.length !== len - 2) return 0;
    for (let i = 0, j = off + 2; i < key.length; i++, j++) if (key[i] !== buf[j]) return 0;
    const reply = this.replies[slot]!;
    const n = reply.length;
    if (at + n > end) return 0;
    out[at] = buf[off]!;
    out[at + 1] = buf[off + 1]!;
    // A JS loop beats the native copy for a few dozen bytes.
    for (let i = 2; i < n; i++) out[at + i] = reply[i]!;
    return n;
  }

  /** Remembers `reply` as the answer to the query buf[off, off+len) on `token`'s socket. */
  put(token: number, buf: Uint8Array, off: number, len: number, reply: Buffer): void {
    if (len < 12 || reply.length < 12) return;
    const slot = queryHash(token, buf, off, len) & this.mask;
    if (this.keys[slot] === undefined) this.used++;
    this.tokens[slot] = token >>> 0;
    this.keys[slot] = Buffer.from(buf.subarray(off + 2, off + len));
    this.replies[slot] = Buffer.from(reply);
  }
}
