// Answering the queries that arrive on a sandbox's sockets (attach.ts): a name
// the sandbox may see (names.ts), answered here; anything else forwarded
// upstream (forward.ts). The socket a query arrives on says who is asking.
//
//   ip netns exec web dig @127.0.0.11 db          a name on a shared network
//   ip netns exec web dig @127.0.0.11 +tcp db     the same over TCP
//
// Be aware:
// - Bounded: MAX_TCP_PER_SANDBOX TCP connections per sandbox, each closed
//   after TCP_IDLE_MS of silence (the forwarder bounds queries in flight).
import type net from 'node:net';
import type { Attachment, Serving } from './attach.js';
import type { Forwarder, Reply } from './forward.js';
import { QueryParser, RCODE, TYPE } from './message.js';
import { lookup, rotate } from './lookup.js';
import type { NameIndexer } from './names.js';
import { buildAnswer, buildError } from './reply.js';

export const MAX_TCP_PER_SANDBOX = 64;
export const TCP_IDLE_MS = 10_000;
/** The largest message over TCP (its 2-byte length prefix says at most this). */
const TCP_MAX = 65535;

export class Queries implements Serving {
  /** One parser for every query: it owns the buffer names are read into. */
  private readonly parser = new QueryParser();
  /** Round-robin counters, by name: each answer starts one address further (Docker's shuffle, deterministic). */
  private readonly rr = new Map<string, number>();

  constructor(private readonly names: NameIndexer, private readonly forwarder: Forwarder,
    readonly log: (line: string) => void, private readonly debug = false) {}

  closed(att: Attachment): void {
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
    const q = this.parser.parse(msg);
    if (!q) {
      const err = buildError(msg, RCODE.FORMERR, this.parser);
      if (err) reply(err);
      return;
    }
    if (q.opcode !== 0) {
      const err = buildError(msg, RCODE.NOTIMP, this.parser);
      if (err) reply(err);
      return;
    }
    const maxSize = tcp ? TCP_MAX : undefined;
    const r = lookup(this.names.index, att.sandbox.id, q.qname, q.qtype);
    if (this.debug) this.log(`${att.sandbox.name} ${tcp ? 'tcp' : 'udp'} ${q.qname} ${q.qtype} -> ${r.kind}`);
    switch (r.kind) {
      case 'answer': {
        const n = (this.rr.get(q.qname) ?? 0) + 1;
        this.rr.set(q.qname, n % 1_000_000);
        const type = q.qtype === TYPE.ANY ? TYPE.A : q.qtype;
        reply(buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: rotate(r.ips, n).map((ip) => ({ type: type as 1, data: ip })), ...(maxSize && { maxSize }) }));
        return;
      }
      case 'nodata':
        reply(buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: [] }));
        return;
      case 'ptr':
        reply(buildAnswer(q, msg, { rcode: RCODE.NOERROR, aa: true, answers: [{ type: TYPE.PTR as 12, data: r.name }] }));
        return;
      case 'nxdomain':
        reply(buildAnswer(q, msg, { rcode: RCODE.NXDOMAIN, answers: [] }));
        return;
      default:
        this.forwarder.forward(att, q, msg, reply, tcp);
    }
  }
}
