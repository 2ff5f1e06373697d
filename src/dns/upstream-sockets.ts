// The forwarder's pool of upstream sockets (forward.ts), as dnsmasq keeps
// one: which socket and which id a forwarded query goes out with.
//
// - While fewer than POOL_MAX sockets to that upstream are open, a query gets
//   a NEW socket: a random port the kernel picks, connected to the upstream (so
//   the kernel drops datagrams from anyone else). A lone query, or a few at a
//   time, each still has a port of its own, closed when its answer is in.
// - Once POOL_MAX are open (a busy server: 32 queries in flight to one
//   upstream), a query joins one of them, chosen at random (CSPRNG), with a
//   random id no other query in flight on that socket has.
// - A socket is closed as soon as no query is in flight on it - unless
//   POOL_MAX or more queries are still in flight to its upstream (the pool is
//   full: it stays, idle, for the next query; the idle ones close as soon as
//   fewer are in flight). It takes no new query once it has carried POOL_USES
//   of them (rotated: under a steady flood no port lives long), or after an
//   error (ECONNREFUSED).
//
// What sharing costs (RFC 5452 §9.2 / §10): a port an attacker learned from a
// query it made a sandbox send is the live port of a later query only while
// the pool is full and that socket is still open; then it is 1 of the 32 live
// ports, and the id (16 random bits) and question must match too. dnsmasq
// takes the same trade (up to 64 random sockets, shared once all are open).
// Why 32, not dnsmasq's 64: under dnsperf's flood (docs/bench/dns.md) a CPU-bound
// server has 20-60 queries in flight upstream, so with 64 a third of the
// queries still opened a socket; with 32 one in six, with 16 one in thirteen.
// What it saves: socket, connect, the move to fd >= 1024, epoll_ctl ADD and
// DEL, close (7 system calls) for most queries, the answers of a turn read in
// one recvmmsg per socket, and a conntrack flow per query.
//
//   ss -uanp dst UPSTREAM:53        the pool: one line per socket, ESTAB, fd >= 1024
import { randomId } from './upstream-reply.js';

/** Sockets open to one upstream before queries share them (more only while all are rotated out). */
export const POOL_MAX = 32;
/** Queries one socket carries before it takes no more (closed once its last is done). */
export const POOL_USES = 64;

export interface PoolSocket<Q> {
  fd: number;
  /** Its tag in the epoll set: never reused while the process lives (2^32 of them). */
  token: number;
  upstream: string;
  /** Queries in flight on it, by the id they went out with. */
  readonly queries: Map<number, Q>;
  /** Queries it has carried. */
  uses: number;
  /** Takes no new query (rotated, or failed); closed once its last query is done. */
  retired: boolean;
  /** No query in flight, kept open because the pool is full. */
  idle: boolean;
}

/** What the pool needs of the kernel (forward.ts: the addon's epoll set). */
export interface SocketIo {
  /** A socket connected to `upstream` port 53, in the set with `token`; its fd. Throws (no route, out of fds). */
  open(upstream: string, token: number): number;
  close(fd: number): void;
}

export interface PoolStats {
  /** Sockets opened since the server started. */
  opened: number;
  /** Queries that went out on a socket already open (shared). */
  shared: number;
}

/** One upstream's sockets, and its queries in flight on them. */
interface Upstream<Q> {
  socks: PoolSocket<Q>[];
  inflight: number;
  /** Sockets with no query in flight, kept open because the pool is full. */
  idle: number;
}

export class UpstreamSockets<Q> {
  private readonly byUpstream = new Map<string, Upstream<Q>>();
  private readonly tokens = new Map<number, PoolSocket<Q>>();
  private nextToken = 0;
  readonly stats: PoolStats = { opened: 0, shared: 0 };

  constructor(private readonly io: SocketIo, private readonly max = POOL_MAX, private readonly maxUses = POOL_USES,
    private readonly random: () => number = randomId) {}

  /** Sockets open now. */
  get size(): number {
    return this.tokens.size;
  }

  /** The socket with `token` (undefined once closed: what it still reads is dropped). */
  byToken(token: number): PoolSocket<Q> | undefined {
    return this.tokens.get(token);
  }

  /** A socket to `upstream` for `query`, and the random id it goes out with (free on that socket). Throws as io.open. */
  take(upstream: string, query: Q): { sock: PoolSocket<Q>; id: number } {
    let up = this.byUpstream.get(upstream);
    if (!up) this.byUpstream.set(upstream, (up = { socks: [], inflight: 0, idle: 0 }));
    const list = up.socks;
    let sock: PoolSocket<Q> | undefined;
    if (list.length >= this.max) {
      // Full: a random one that still takes queries (16 random bits over a few dozen sockets).
      const start = this.random() % list.length;
      for (let i = 0; i < list.length && !sock; i++) {
        const s = list[(start + i) % list.length]!;
        if (!s.retired && s.queries.size < 0x8000) sock = s;
      }
    }
    if (sock) {
      this.stats.shared++;
      if (sock.idle) {
        sock.idle = false;
        up.idle--;
      }
    } else sock = this.openSocket(upstream, list);
    up.inflight++;
    let id = this.random();
    while (sock.queries.has(id)) id = this.random();
    sock.queries.set(id, query);
    if (++sock.uses >= this.maxUses) sock.retired = true;
    return { sock, id };
  }

  /** The query with `id` on `sock` is done (answered, timed out, cancelled); the socket closes once it has none. */
  release(sock: PoolSocket<Q>, id: number): void {
    if (!sock.queries.delete(id)) return;
    const up = this.byUpstream.get(sock.upstream)!;
    up.inflight--;
    if (sock.queries.size === 0) {
      if (sock.retired || up.inflight < this.max) this.closeSocket(sock);
      else {
        sock.idle = true;
        up.idle++;
      }
    }
    if (up.idle && up.inflight < this.max) {
      // No longer full: the idle ones close (a lone query gets a port of its own again).
      for (const s of [...up.socks]) if (s.idle) this.closeSocket(s);
    }
  }

  /** `sock` takes no new query (its upstream refused: ECONNREFUSED). */
  retire(sock: PoolSocket<Q>): void {
    sock.retired = true;
    if (sock.idle) this.closeSocket(sock);
  }

  /** Closes every socket (the server stops). */
  close(): void {
    for (const s of [...this.tokens.values()]) this.closeSocket(s);
  }

  private openSocket(upstream: string, list: PoolSocket<Q>[]): PoolSocket<Q> {
    const token = this.nextToken;
    const fd = this.io.open(upstream, token);
    this.nextToken = (this.nextToken + 1) >>> 0;
    const sock: PoolSocket<Q> = { fd, token, upstream, queries: new Map(), uses: 0, retired: false, idle: false };
    list.push(sock);
    this.tokens.set(token, sock);
    this.stats.opened++;
    return sock;
  }

  private closeSocket(sock: PoolSocket<Q>): void {
    if (!this.tokens.delete(sock.token)) return;
    const up = this.byUpstream.get(sock.upstream)!;
    if (sock.idle) up.idle--;
    up.inflight -= sock.queries.size;
    sock.queries.clear();
    const list = up.socks;
    const i = list.indexOf(sock);
    // Order does not matter (the choice is random): the last one takes its place.
    if (i >= 0) {
      list[i] = list[list.length - 1]!;
      list.pop();
    }
    if (!list.length) this.byUpstream.delete(sock.upstream);
    this.io.close(sock.fd);
  }
}
