// Answering the queries that arrive on a sandbox's sockets (attach.ts): a name
// the sandbox may see (names.ts), answered here; anything else forwarded
// upstream (forward.ts). The socket a query arrives on says who is asking.
// UDP queries come in batches (datagrams.ts) and a query asked before is
// answered from its cached reply (reply-cache.ts); TCP ones one by one.
//
//   ip netns exec web dig @127.0.0.11 db          a name on a shared network
//   ip netns exec web dig @127.0.0.11 +tcp db     the same over TCP
//
// Be aware:
// - Bounded: MAX_TCP_PER_SANDBOX TCP connections per sandbox, each closed
//   after TCP_IDLE_MS of silence (the forwarder bounds queries in flight).
import type net from 'node:net';
import type { Attachment, Serving } from './attach.js';
import { Datagrams } from './datagrams.js';
import type { Forwarder, Reply } from './forward.js';
import { QueryParser, RCODE, TYPE, type Query } from './message.js';
import { lookup, rotate } from './lookup.js';
import type { NameIndexer } from './names.js';
import { ReplyCache } from './reply-cache.js';
import { buildAnswer, buildError } from './reply.js';

export const MAX_TCP_PER_SANDBOX = 64;
export const TCP_IDLE_MS = 10_000;
/** The largest message over TCP (its 2-byte length prefix says at most this). */
const TCP_MAX = 65535;
/** local()'s "this one goes upstream". */
const FORWARD = Symbol('forward');

/**
 * What the host's listener says of a name its network doesn't have: NXDOMAIN
 * for a single label or a name under `.<network>` (its zone, as resolvectl's
 * `~mynet` routes them), REFUSED for anything else.
 */
export function hostMiss(qname: string, network: string): number {
  let name = qname.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name !== '' && !name.includes('.')) return RCODE.NXDOMAIN;
  return name === network || name.endsWith(`.${network}`) ? RCODE.NXDOMAIN : RCODE.REFUSED;
}

export class Queries implements Serving {
  /** One parser for every query: it owns the buffer names are read into. */
  private readonly parser = new QueryParser();
  /** Round-robin counters, by name: each answer starts one address further (Docker's shuffle, deterministic). */
  private readonly rr = new Map<string, number>();
  /** Datagram replies by query bytes (reply-cache.ts), valid for one names generation. */
  private readonly cache = new ReplyCache();
  private cacheGeneration = -1;
  /** Set by local(): whether its reply is the same for the same query bytes; the query it forwards. */
  private cacheable = false;
  private forwarding?: Query;

  /** The UDP sockets, served in batches. */
  readonly datagrams: Datagrams;

  constructor(private readonly names: NameIndexer, private readonly forwarder: Forwarder,
    readonly log: (line: string) => void, private readonly debug = false) {
    this.datagrams = new Datagrams(this, log);
  }

  closed(att: Attachment): void {
    this.datagrams.remove(att);
    this.forwarder.cancel(att);
  }

  connection(att: Attachment, c: net.Socket): void {
    if (att.tcpConns.size >= MAX_TCP_PER_SANDBOX) {
      c.destroy();
      return;
    }
    att.tcpConns.add(c);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on('close', () => att.tcpConns.delete(c));
    c.on('error', () => {});
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      // DNS over TCP: each message is preceded by its 2-byte length.
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.query(att, Buffer.from(msg), (out) => {
          if (c.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          c.write(Buffer.concat([head, out]));
        }, true);
      }
      if (buf.length > TCP_MAX + 2) c.destroy();
    });
  }

  /** Answers one query from `att`'s sandbox: a local name, or a forward upstream. */
  query(att: Attachment, msg: Buffer, reply: Reply, tcp: boolean): void {
    const local = this.local(att, msg, tcp);
    if (local === FORWARD) this.forwarder.forward(att, this.forwarding!, msg, reply, tcp);
    else if (local) reply(local);
  }

  /**
   * One query of a datagram batch (datagrams.ts) from `att`'s sandbox, on the socket with `token`:
   * buf[off, off+len), valid only during this call. The reply is written at out[at] (before `end`)
   * and its length returned; 0 when there is none now: forwarded (`later()` makes the function that
   * sends the answer when it comes), too big for what is left of `out` (sent through `later()` at
   * once), or nothing to say. A query asked before (same bytes but the id, same socket) is answered
   * from the reply cache: no parse, no lookup, no allocation.
   */
  datagram(att: Attachment, token: number, buf: Buffer, off: number, len: number, out: Buffer, at: number, end: number, later: () => Reply): number {
    if (this.cacheGeneration !== this.names.generation) {
      this.cache.clear();
      this.cacheGeneration = this.names.generation;
    }
    const hit = this.debug ? 0 : this.cache.answer(token, buf, off, len, out, at, end);
    if (hit) return hit;
    const msg = buf.subarray(off, off + len);
    const local = this.local(att, msg, false);
    if (local === FORWARD) {
      // The forwarder keeps the query until the answer comes: a copy, not the batch's buffer.
      this.forwarder.forward(att, this.forwarding!, Buffer.from(msg), later(), false);
      return 0;
    }
    if (!local) return 0;
    if (this.cacheable && !this.debug) this.cache.put(token, buf, off, len, local);
    if (at + local.length > end) {
      later()(local);
      return 0;
    }
    for (let i = 0; i < local.length; i++) out[at + i] = local[i]!;
    return local.length;
  }

  /**
   * The reply to `msg` when the server gives it itself (a local name, or an error); null when there
   * is nothing to say; FORWARD when it goes upstream (the parsed query is in `forwarding`).
   * `cacheable` says whether the same query always gets this same reply (until the names change).
   */
  private local(att: Attachment, msg: Buffer, tcp: boolean): Buffer | null | typeof FORWARD {
    this.cacheable = false;
    const q = this.parser.parse(msg);
    if (!q) return buildError(msg, RCODE.FORMERR, this.parser);
    if (q.opcode !== 0) return buildError(msg, RCODE.NOTIMP, this.parser);
    const maxSize = tcp ? TCP_MAX : undefined;
    const r = lookup(this.names.index, att.sandbox.id, q.qname, q.qtype);
    if (this.debug) this.log(`${att.sandbox.name} ${tcp ? 'tcp' : 'udp'} ${q.qname} ${q.qtype} -> ${r.kind}`);
    switch (r.kind) {
      case 'answer': {
        const n = (this.rr.get(q.qname) ?? 0) + 1;
        this.rr.set(q.qname, n % 1_000_000);
        const type = q.qtype === TYPE.ANY ? TYPE.A : q.qtype;
        // Several addresses rotate from one answer to the next: not the same reply every time.
        this.cacheable = r.ips.length === 1;
        return buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: rotate(r.ips, n).map((ip) => ({ type: type as 1, data: ip })), ...(maxSize && { maxSize }) });
      }
      case 'nodata':
        this.cacheable = true;
        return buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: [] });
      case 'ptr':
        this.cacheable = true;
        return buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: [{ type: TYPE.PTR as 12, data: r.name }] });
      case 'nxdomain':
        return buildAnswer(q, msg, { rcode: RCODE.NXDOMAIN, answers: [] });
      default:
        if (att.host) {
          // The host's listener (host-listen.ts) is no recursive resolver: it knows one network's names.
          this.cacheable = true;
          const rcode = hostMiss(q.qname, att.host.network);
          return buildAnswer(q, msg, { rcode, aa: rcode === RCODE.NXDOMAIN, answers: [] });
        }
        this.forwarding = q;
        return FORWARD;
    }
  }
}
