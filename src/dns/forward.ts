// The forwarder: names the embedded server does not know go, from the host's
// namespace, to the upstream servers, hardened as RFC 5452 asks of a stub
// resolver, so nobody can answer in the upstream's place:
//
// - each query goes out on a UDP socket of its own, bound to a random port the
//   kernel picks (net.ipv4.ip_local_port_range) and connect()ed to the
//   upstream's address and port 53: the kernel itself drops datagrams from any
//   other source, and the port lives only as long as the query;
// - its id comes from a cryptographic random source (node:crypto; upstream-reply.ts);
// - a reply is accepted only from that upstream's address and port, on that
//   socket, with that id and the same question (QDCOUNT 1, QNAME compared
//   case-insensitively as RFC 4343 says, QTYPE, QCLASS): acceptReply (upstream-reply.ts), pure.
//   Anything else is dropped and counted (stats; `nsnet dns --debug` logs each).
//
//   ss -uanp | grep ':53 '           one socket per query in flight, peer <upstream>:53
//   tcpdump -ni any udp port 53      a different source port on every query
//
// So a forged answer must guess a 16-bit id *and* a ~15-bit port while the
// query is in flight, and come from the upstream's address. Over TCP (after a
// truncated answer) the kernel's connection does the same: unchanged.
//
// What it costs, and why not a pool: a socket per query is, in system calls,
// socket, connect (which binds the random port), send, the move to fd >= 1024
// (fcntl + close), epoll_ctl ADD, then one recv and one close when the answer
// comes: 8, and the answer's sendto to the sandbox (docs/bench/dns.md counts
// them). The addon makes the socket in one call (UdpEpoll.query) and reads the
// replies of every socket from ONE epoll set (udpEpoll), every reply of a loop
// turn in one call, tagged with its socket's token; the registration is
// one-shot, so the socket is closed with a plain close() once its answer came
// (no EPOLL_CTL_DEL). One timer serves every query in flight (they are kept in
// the order they were sent, which is the order of their deadlines).
// Reusing sockets (a pool, N queries each) would cut more, but then a port
// learned from one query - say one the attacker made a sandbox send, as
// test/kernel/dns-spoof.test.ts does - can be the live port of a later one: a
// 1-in-pool-size chance instead of 1 in ~28,000. Not taken.
//
// Be aware:
// - At most MAX_INFLIGHT queries at once (Docker's 1024), MAX_INFLIGHT_PER_SANDBOX per sandbox;
//   an upstream gets UPSTREAM_TIMEOUT_MS (less if it refuses; up to 10 ms more: one timer for all),
//   then the next one is tried on a new socket, and the old one is closed (so a query holds one fd
//   at a time). No answer: SERVFAIL.
// - The sockets' fds live at 1024 and up (udpSocket in kernel/socket.ts): a thousand of them must
//   not take the low fds libnftables' select() needs.
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { ipBytes, udpClose, udpEpoll, type UdpEpoll } from '../kernel/socket.js';
import { HEADER, RCODE, type Query } from './message.js';
import { buildError } from './reply.js';
import { acceptReply, DROP_REASONS, randomId, type DropReason, type Sent } from './upstream-reply.js';

export const MAX_INFLIGHT = 1024;
export const MAX_INFLIGHT_PER_SANDBOX = 256;
export const UPSTREAM_TIMEOUT_MS = 2_000;

export type Reply = (msg: Buffer) => void;

/** Who asks (a sandbox's attachment): its upstreams, and its queries in flight, counted here. */
export interface Asker {
  upstreams: string[];
  inflight: number;
}

export interface ForwardStats {
  /** Queries sent upstream over UDP (a retry to the next upstream counts again). */
  sent: number;
  accepted: number;
  /** Upstreams that did not answer in time. */
  timeouts: number;
  /** Upstreams that refused (ICMP port unreachable) or could not be reached. */
  errors: number;
  /** Replies that reached a query's socket and were not accepted, by reason. */
  dropped: Record<DropReason, number>;
}

interface Pending {
  asker: Asker;
  /** The client's query, as it came (its own copy); the upstream's id is written in only while it is sent. */
  msg: Buffer;
  /** Its question (QNAME, QTYPE, QCLASS), as sent upstream. */
  question: Buffer;
  reply: Reply;
  upstreams: string[];
  next: number;
  /** The socket of the query now out, its token in the epoll set, whether its one-shot registration is armed. */
  fd?: number;
  token?: number;
  armed: boolean;
  sent?: Sent;
  /** When the upstream's time is up (ms, performance.now()). */
  deadline: number;
}

export interface ForwarderOptions {
  log?: (line: string) => void;
  debug?: boolean;
}

export class Forwarder {
  /**
   * Queries in flight, in the order their current try was sent (a retry moves to the end), so by
   * deadline (every upstream gets the same time): one timer for all of them, at the first one's
   * deadline, instead of a timer per query.
   */
  private pending = new Set<Pending>();
  /** Queries out, by their socket's token (never reused while the process lives: 2^32 of them). */
  private byToken = new Map<number, Pending>();
  private nextToken = 0;
  private epoll?: UdpEpoll;
  private timer?: NodeJS.Timeout;
  /** Upstream addresses as the addon takes them (a few: resolv.conf's). */
  private readonly peers = new Map<string, Buffer | null>();
  readonly stats: ForwardStats = {
    sent: 0, accepted: 0, timeouts: 0, errors: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };

  constructor(private readonly o: ForwarderOptions = {}) {}

  /** UDP queries in flight. */
  get inflight(): number {
    return this.pending.size;
  }

  /**
   * Forwards `msg` (parsed as `q`; the forwarder keeps it: a buffer of the caller's own) for `asker`;
   * `reply` gets the upstream's answer (with the client's id), or SERVFAIL - once, unless cancel() comes first.
   */
  forward(asker: Asker, q: Query, msg: Buffer, reply: Reply, tcp: boolean): void {
    if (!asker.upstreams.length || this.pending.size >= MAX_INFLIGHT || asker.inflight >= MAX_INFLIGHT_PER_SANDBOX) {
      reply(buildError(msg, RCODE.SERVFAIL)!);
      return;
    }
    if (tcp) {
      // Never rejects in practice; if it did, an unhandled rejection would end the process.
      this.forwardTcp(asker, msg, reply).catch((e: Error) => this.o.log?.(`forward over tcp: ${e.message}`));
      return;
    }
    const p: Pending = {
      asker, msg, question: msg.subarray(HEADER, q.questionEnd), reply, upstreams: asker.upstreams, next: 0,
      fd: undefined, token: undefined, armed: false, sent: undefined, deadline: 0,
    };
    this.pending.add(p);
    asker.inflight++;
    this.sendNext(p);
  }

  /** Forgets every query of `asker` (a sandbox going away), without replying. */
  cancel(asker: Asker): void {
    for (const p of this.pending) if (p.asker === asker) this.finish(p);
  }

  /** Forgets every query and closes every socket. */
  close(): void {
    for (const p of this.pending) this.finish(p);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.epoll?.close();
    this.epoll = undefined;
  }

  private peer(upstream: string): Buffer | null {
    let b = this.peers.get(upstream);
    if (b === undefined) {
      if (this.peers.size >= 64) this.peers.clear();
      this.peers.set(upstream, (b = ipBytes(upstream)));
    }
    return b;
  }

  private sendNext(p: Pending): void {
    this.closeSocket(p);
    if (p.next >= p.upstreams.length) {
      this.finish(p);
      const fail = buildError(p.msg, RCODE.SERVFAIL);
      if (fail) p.reply(fail);
      return;
    }
    const upstream = p.upstreams[p.next++]!;
    const id = randomId();
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0;
    this.epoll ??= udpEpoll((tokens, data) => this.onReplies(tokens, data));
    const msg = p.msg;
    const c0 = msg[0]!;
    const c1 = msg[1]!;
    try {
      const peer = this.peer(upstream);
      if (!peer) throw new Error(`not an IP address: ${upstream}`);
      // The query goes out with the upstream's id; the client's is put back at once (SERVFAIL, the answer).
      msg[0] = id >> 8;
      msg[1] = id & 0xff;
      // Connected, sent and in the epoll set in one call: the kernel filters the socket from
      // before anything can arrive on it.
      p.fd = this.epoll.query(peer, 53, msg, token);
      msg[0] = c0;
      msg[1] = c1;
    } catch (e) {
      msg[0] = c0;
      msg[1] = c1;
      // Out of fds, no route: this upstream is as good as silent.
      this.stats.errors++;
      this.o.log?.(`forward to ${upstream}: ${(e as Error).message}`);
      this.sendNext(p);
      return;
    }
    this.stats.sent++;
    p.token = token;
    p.armed = true;
    this.byToken.set(token, p);
    p.sent = { id, question: p.question, address: upstream, port: 53 };
    p.deadline = performance.now() + UPSTREAM_TIMEOUT_MS;
    if (p.next > 1) {
      // A retry: to the end of the line, with its new deadline.
      this.pending.delete(p);
      this.pending.add(p);
    }
    this.timer ??= setTimeout(this.onTimer, UPSTREAM_TIMEOUT_MS);
  }

  /** The queries whose time is up go to their next upstream; the timer is set for the next one's deadline. */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = performance.now();
    let first: Pending | undefined;
    for (const p of this.pending) {
      if (p.deadline > now) {
        first = p;
        break;
      }
      this.stats.timeouts++;
      this.sendNext(p); // to the end of the line, or finished
    }
    // Not sooner than 10 ms from now: a timer per query is what this replaces.
    if (first) this.timer = setTimeout(this.onTimer, Math.max(10, first.deadline - now));
  };

  /** What the epoll set read this turn: per datagram, its socket's token; an errno instead of a datagram. */
  private onReplies(tokens: number[], data: (Buffer | number)[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const p = this.byToken.get(tokens[i]!);
      if (!p?.sent) continue; // its query was answered earlier in this batch
      // The one-shot registration fired: nothing more comes from this socket unless re-armed.
      p.armed = false;
      const d = data[i]!;
      if (typeof d === 'number') {
        // An upstream that refuses (ICMP port unreachable, reported on a connected socket as
        // ECONNREFUSED) is as good as silent: the next one is tried at once.
        this.stats.errors++;
        this.o.log?.(`forward to ${p.sent.address}: ${errnoName(d)}`);
        this.sendNext(p);
        continue;
      }
      // The socket is connected: the kernel delivers it only datagrams from the upstream's
      // address and port (anything else finds no socket: UdpNoPorts), so that is their source.
      const verdict = acceptReply(p.sent, p.sent, d);
      if (verdict !== 'ok') {
        this.stats.dropped[verdict]++;
        if (this.o.debug) this.o.log?.(`forward: dropped a reply from ${p.sent.address}:${p.sent.port} (${verdict})`);
        // Keep waiting on the same socket for the real answer.
        this.epoll!.rearm(p.fd!, p.token!);
        p.armed = true;
        continue;
      }
      this.stats.accepted++;
      this.finish(p);
      // The upstream's answer, NXDOMAIN and TC included, goes back as it came, with the client's id
      // (written into the addon's copy of it: ours).
      d[0] = p.msg[0]!;
      d[1] = p.msg[1]!;
      p.reply(d);
    }
  }

  private closeSocket(p: Pending): void {
    if (p.fd !== undefined) {
      // A fired one-shot registration never reports again: a plain close. An armed one leaves the set first.
      udpClose(p.fd, p.armed ? this.epoll : undefined);
      this.byToken.delete(p.token!);
      p.fd = p.token = p.sent = undefined;
      p.armed = false;
    }
  }

  private finish(p: Pending): void {
    this.closeSocket(p);
    if (this.pending.delete(p)) p.asker.inflight--;
  }

  /** TCP queries go upstream over TCP (the client asked because a UDP answer was truncated). */
  private async forwardTcp(asker: Asker, msg: Buffer, reply: Reply): Promise<void> {
    asker.inflight++;
    try {
      for (const upstream of asker.upstreams) {
        const answer = await tcpExchange(upstream, msg, UPSTREAM_TIMEOUT_MS).catch(() => undefined);
        if (answer) {
          reply(answer);
          return;
        }
      }
      const fail = buildError(msg, RCODE.SERVFAIL);
      if (fail) reply(fail);
    } finally {
      asker.inflight--;
    }
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

function tcpExchange(server: string, msg: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ host: server, port: 53 });
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    let buf: Buffer = Buffer.alloc(0);
    c.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(msg.length);
      c.write(Buffer.concat([head, msg]));
    });
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        c.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
