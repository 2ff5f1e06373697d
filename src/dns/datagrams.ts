// The server's UDP side: every attached sandbox's socket at 127.0.0.11 in
// one set the addon reads and answers in batches (kernel/socket.ts udpServe,
// native/udp_serve.cc). Per turn of the event loop, one call here with all
// the queries that arrived (a few per socket in turns, so one sandbox's
// flood can't starve the others), answered by queries.ts into the batch's
// reply buffer, sent by the addon with one sendmmsg per socket.
//
//   ls -l /proc/PID/fd | grep eventpoll     the set
//   cat /proc/PID/fdinfo/FD                 its sockets (one tfd line each)
//
// A socket's token says which sandbox asks: tokens are never reused while
// the process lives (2^32 of them), so a reply cached for one sandbox can
// never be served to a later one (reply-cache.ts).
//
// Be aware:
// - A forwarded query's answer comes later, outside any batch: the answers
//   that come in one turn go out together (sendMany: one sendmmsg per
//   socket, once the turn's JavaScript is done), to where each query came from.
// - A query longer than the addon's slot (2048 bytes; real ones are far
//   smaller) is cut: it gets FORMERR, built from what was kept.
import { udpClose, udpServe, type UdpServe } from '../kernel/socket.js';
import type { Attachment } from './attach.js';
import type { Reply } from './forward.js';
import { RCODE } from './message.js';
import type { Queries } from './queries.js';
import { buildError } from './reply.js';

/** What one batch did (for tests and stats). */
export interface BatchStats {
  batches: number;
  queries: number;
  /** Replies that went out in a batch's sendmmsg. */
  batched: number;
  /** The largest batch seen. */
  largest: number;
}

export class Datagrams {
  private set?: UdpServe;
  private readonly byToken = new Map<number, Attachment>();
  private readonly tokens = new Map<Attachment, number>();
  private nextToken = 1;
  /** Replies that came later (forwarded), to send when this turn's JavaScript is done: [fd, addr, port, data, ...]. */
  private readonly out: (number | Buffer)[] = [];
  private outCount = 0;
  /** The query batch() is answering, for laterForCurrent. */
  private current = 0;
  private currentAtt?: Attachment;
  readonly stats: BatchStats = { batches: 0, queries: 0, batched: 0, largest: 0 };

  constructor(private readonly queries: Queries, private readonly log: (line: string) => void) {}

  /** Serves `att`'s UDP socket (att.udpFd, bound by attach.ts) from the set. */
  add(att: Attachment): void {
    if (att.udpFd === undefined || this.tokens.has(att)) return;
    this.set ??= udpServe((n) => this.batch(n));
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0 || 1;
    this.set.add(att.udpFd, token);
    this.byToken.set(token, att);
    this.tokens.set(att, token);
  }

  /** Takes `att`'s socket out of the set (if it was in) and closes it. */
  remove(att: Attachment): void {
    const token = this.tokens.get(att);
    if (token !== undefined) {
      this.tokens.delete(att);
      this.byToken.delete(token);
    }
    if (att.udpFd === undefined) return;
    const fd = att.udpFd;
    att.udpFd = undefined;
    udpClose(fd, this.set);
  }

  /** Closes the set (every socket must have been removed). */
  close(): void {
    this.set?.close();
    this.set = undefined;
  }

  /** One turn's queries: answers them into the set's reply buffer; returns how many replies. */
  private batch(n: number): number {
    const set = this.set!;
    const { head, queries, replies, replyHead, slotSize } = set;
    const end = replies.length;
    this.stats.batches++;
    this.stats.queries += n;
    if (n > this.stats.largest) this.stats.largest = n;
    let at = 0;
    let r = 0;
    for (let i = 0; i < n; i++) {
      const h = 4 * i;
      const att = this.byToken.get(head[h]!);
      if (!att) continue; // removed in this very turn
      const len = head[h + 3]!;
      const off = i * slotSize;
      let wrote = 0;
      this.current = i;
      this.currentAtt = att;
      try {
        if (len > slotSize) {
          // Cut by the slot: not a query the server can read whole.
          const err = buildError(queries.subarray(off, off + slotSize), RCODE.FORMERR);
          if (err) this.laterForCurrent()(err);
        } else {
          wrote = this.queries.datagram(att, head[h]!, queries, off, len, replies, at, end, this.laterForCurrent);
        }
      } catch (e) {
        // A bug, not hostile input (the parser never throws): the other queries still get answers.
        this.log(`${att.sandbox.name} udp: ${(e as Error).message}`);
      }
      if (wrote > 0) {
        replyHead[3 * r] = i;
        replyHead[3 * r + 1] = at;
        replyHead[3 * r + 2] = wrote;
        r++;
        at += wrote;
      }
    }
    this.stats.batched += r;
    return r;
  }

  /**
   * A function that sends a reply outside the batch (a forwarded query's, later) to where the
   * query being answered now came from. Made only when asked for: the local path makes none.
   */
  private readonly laterForCurrent = (): Reply => {
    const att = this.currentAtt!;
    const addr = this.set!.head[4 * this.current + 1]!;
    const port = this.set!.head[4 * this.current + 2]!;
    return (msg) => {
      if (att.udpFd === undefined || !this.set) return;
      const k = 4 * this.outCount++;
      this.out[k] = att.udpFd;
      this.out[k + 1] = addr;
      this.out[k + 2] = port;
      this.out[k + 3] = msg;
      if (this.outCount === 1) queueMicrotask(this.flush);
    };
  };

  /** Sends the replies that came this turn, in one sendmmsg per socket. */
  private readonly flush = (): void => {
    const n = this.outCount;
    this.outCount = 0;
    if (this.set) this.set.sendMany(this.out, n);
    // Not kept alive until overwritten.
    for (let k = 3; k < 4 * n; k += 4) this.out[k] = 0;
  };
}
