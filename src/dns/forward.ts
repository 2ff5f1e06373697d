// The forwarder: names the embedded server does not know go, from the host's
// namespace, to the upstream servers, hardened as RFC 5452 asks of a stub
// resolver, so nobody can answer in the upstream's place:
//
// - each query goes out on a UDP socket bound to a random port the kernel
//   picks (net.ipv4.ip_local_port_range) and connect()ed to the upstream's
//   address and port 53: the kernel itself drops datagrams from any other
//   source. A lone query, or a few at a time, each gets a socket of its own,
//   closed when its answer is in; a busy server shares up to 32 sockets per
//   upstream between the queries in flight, as dnsmasq does, each socket
//   rotated after 64 queries (upstream-sockets.ts, where the trade is);
// - its id comes from a cryptographic random source (node:crypto; upstream-reply.ts),
//   distinct from the other queries in flight on its socket;
// - a reply is accepted only from that upstream's address and port, on that
//   socket, with that id and the same question (QDCOUNT 1, QNAME compared
//   case-insensitively as RFC 4343 says, QTYPE, QCLASS): acceptReply (upstream-reply.ts), pure.
//   Anything else is dropped and counted (stats; `nsnet dns --debug` logs each).
//
//   ss -uanp | grep ':53 '           the sockets in flight, peer <upstream>:53
//   tcpdump -ni any udp port 53      a random source port and id per query (ports shared under load)
//
// So a forged answer must guess a 16-bit id *and* a live ~15-bit port while the
// query is in flight, and come from the upstream's address. Over TCP (after a
// truncated answer) the kernel's connection does the same: unchanged.
//
// The sockets live in ONE epoll set of the addon (udpEpoll): level-triggered,
// every answer a socket holds read in one recvmmsg, every answer of a loop
// turn handed over in one call, tagged with its socket's token. A query on a
// socket that is already open costs one send; its answer goes to the sandbox
// with the turn's other answers in one sendmmsg (datagrams.ts). One timer
// serves every query in flight (they are kept in the order they were sent,
// which is the order of their deadlines).
//
// Be aware:
// - At most MAX_INFLIGHT queries at once (Docker's 1024), MAX_INFLIGHT_PER_SANDBOX per sandbox;
//   an upstream gets UPSTREAM_TIMEOUT_MS (less if it refuses; up to 10 ms more: one timer for all),
//   then the next one is tried with a new id (and a socket as above). No answer: SERVFAIL.
// - The sockets' fds live at 1024 and up: a thousand of them must not take the low fds
//   libnftables' select() needs.
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { ipBytes, udpClose, udpEpoll, type UdpEpoll } from '../kernel/socket.js';
import { HEADER, RCODE, type Query } from './message.js';
import { buildError } from './reply.js';
import { acceptReply, DROP_REASONS, type DropReason, type Sent } from './upstream-reply.js';
import { UpstreamSockets, type PoolSocket, type PoolStats } from './upstream-sockets.js';

export const MAX_INFLIGHT = 1024;
export const MAX_INFLIGHT_PER_SANDBOX = 256;
export const UPSTREAM_TIMEOUT_MS = 2_000;

export type Reply = (msg: Buffer) => void;

const ECONNREFUSED = 111;

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
  /** The upstream sockets: opened, and queries that went out on one already open. */
  sockets: PoolStats;
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
  /** The socket the query now out went on, with `sent.id`. */
  sock?: PoolSocket<Pending>;
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
  private epoll?: UdpEpoll;
  readonly sockets: UpstreamSockets<Pending>;
  private timer?: NodeJS.Timeout;
  /** Upstream addresses as the addon takes them (a few: resolv.conf's). */
  private readonly peers = new Map<string, Buffer | null>();
  readonly stats: ForwardStats;

  constructor(private readonly o: ForwarderOptions = {}) {
    this.sockets = new UpstreamSockets<Pending>({
      open: (upstream, token) => {
        const peer = this.peer(upstream);
        if (!peer) throw new Error(`not an IP address: ${upstream}`);
        this.epoll ??= udpEpoll((tokens, data) => this.onReplies(tokens, data));
        return this.epoll.open(peer, 53, token);
      },
      close: (fd) => udpClose(fd, this.epoll),
    });
    this.stats = {
      sent: 0, accepted: 0, timeouts: 0, errors: 0,
      dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
      sockets: this.sockets.stats,
    };
  }

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
      sock: undefined, sent: undefined, deadline: 0,
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
    this.sockets.close();
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
    this.release(p);
    if (p.next >= p.upstreams.length) {
      this.finish(p);
      const fail = buildError(p.msg, RCODE.SERVFAIL);
      if (fail) p.reply(fail);
      return;
    }
    const upstream = p.upstreams[p.next++]!;
    const msg = p.msg;
    const c0 = msg[0]!;
    const c1 = msg[1]!;
    let sock: PoolSocket<Pending>;
    let id: number;
    let err = 0;
    try {
      ({ sock, id } = this.sockets.take(upstream, p));
      // The query goes out with the upstream's id; the client's is put back at once (SERVFAIL, the answer).
      msg[0] = id >> 8;
      msg[1] = id & 0xff;
      err = this.epoll!.send(sock.fd, msg);
      msg[0] = c0;
      msg[1] = c1;
    } catch (e) {
      // Out of fds, no route: this upstream is as good as silent.
      this.stats.errors++;
      this.o.log?.(`forward to ${upstream}: ${(e as Error).message}`);
      this.sendNext(p);
      return;
    }
    p.sock = sock;
    p.sent = { id, question: p.question, address: upstream, port: 53 };
    if (err) {
      // No route, a full send buffer: that upstream failed this query. A refusal (ECONNREFUSED) the
      // socket kept from an earlier query's ICMP answers for every query on it.
      this.o.log?.(`forward to ${upstream}: ${errnoName(err)}`);
      if (err === ECONNREFUSED) this.refused(sock);
      else {
        this.stats.errors++;
        this.sendNext(p);
      }
      return;
    }
    this.stats.sent++;
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
      const sock = this.sockets.byToken(tokens[i]!);
      if (!sock) continue; // closed earlier in this batch: its queries are done
      const d = data[i]!;
      if (typeof d === 'number') {
        // An upstream that refuses (ICMP port unreachable, reported on a connected socket as
        // ECONNREFUSED) is as good as silent: its queries on this socket go to the next one at once.
        this.o.log?.(`forward to ${sock.upstream}: ${errnoName(d)}`);
        this.refused(sock);
        continue;
      }
      // The socket is connected: the kernel delivers it only datagrams from the upstream's
      // address and port (anything else finds no socket: UdpNoPorts), so that is their source.
      const p = d.length >= HEADER ? sock.queries.get((d[0]! << 8) | d[1]!) : undefined;
      const verdict = p ? acceptReply(p.sent!, p.sent!, d) : d.length < HEADER ? 'malformed' : !(d[2]! & 0x80) ? 'not-response' : 'id';
      if (verdict !== 'ok') {
        // The query (if any) keeps waiting for the real answer.
        this.stats.dropped[verdict]++;
        if (this.o.debug) this.o.log?.(`forward: dropped a reply from ${sock.upstream}:53 (${verdict})`);
        continue;
      }
      this.stats.accepted++;
      this.finish(p!);
      // The upstream's answer, NXDOMAIN and TC included, goes back as it came, with the client's id
      // (written into the addon's copy of it: ours).
      d[0] = p!.msg[0]!;
      d[1] = p!.msg[1]!;
      p!.reply(d);
    }
  }

  /** `sock`'s upstream refused: it takes no new query, and its queries go to their next upstream. */
  private refused(sock: PoolSocket<Pending>): void {
    this.sockets.retire(sock);
    for (const p of [...sock.queries.values()]) {
      this.stats.errors++;
      this.sendNext(p);
    }
  }

  /** The query's socket is no longer waiting for it (closed if it was the last on it). */
  private release(p: Pending): void {
    if (p.sock) {
      this.sockets.release(p.sock, p.sent!.id);
      p.sock = p.sent = undefined;
    }
  }

  private finish(p: Pending): void {
    this.release(p);
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
