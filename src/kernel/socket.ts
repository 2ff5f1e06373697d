// Sockets bound inside another namespace and served from this process:
// the mechanism behind Docker's embedded DNS at 127.0.0.11.
//
//   ip netns exec web ss -lntu       shows the socket, with no process in the sandbox
//
// The fd comes back to Node: adopt a UDP one with
// `dgram.createSocket('udp4').bind({fd})`, a TCP one with
// `net.createServer(...).listen({fd})`.
import { isIPv4, isIPv6 } from 'node:net';
import { native, type NativeError } from '../native.js';
import { attempt, KernelError } from './errors.js';
import type { Netns } from './netns.js';

/**
 * Creates a socket inside the namespace, bound (and listening, for TCP), and
 * returns its fd and port. Port 0 picks a free one, as Docker's resolver does.
 * Equivalent to: what `ip netns exec NS <server> --listen ADDRESS:PORT` would do, without the process.
 */
export function socketBind(ns: Netns, o: { type: 'udp' | 'tcp'; address: string; port?: number; for?: string }): Promise<{ fd: number; port: number }> {
  return attempt(`binding ${o.type} socket ${o.address}:${o.port ?? 0} in ${ns}`,
    `ip netns exec ${ns.name ?? '?'} <server> ${o.type} ${o.address}:${o.port ?? 0}`,
    () => native().socketBind(ns.fd, { type: o.type, address: o.address, ...(o.port !== undefined && { port: o.port }) }), o.for);
}

/**
 * Binds several sockets inside the namespace and then applies `nft` there, in
 * one trip through the addon (one thread entering the namespace once). The
 * rules can refer to the ports the kernel picked as $port0, $port1, ... (in
 * the order of `sockets`). All or nothing: on failure no socket stays open.
 * Equivalent to: the sockets, then `ip netns exec NS nft -f -` with `define port0 = ...` first.
 */
export function socketsBind(ns: Netns, sockets: { type: 'udp' | 'tcp'; address: string; port?: number }[],
  o: { nft?: string; for?: string } = {}): Promise<{ fd: number; port: number }[]> {
  const what = sockets.map((s) => `${s.type} ${s.address}:${s.port ?? 0}`).join(', ');
  return attempt(`binding ${what}${o.nft ? ' and applying nftables rules' : ''} in ${ns}`,
    `ip netns exec ${ns.name ?? '?'} <server> ${what}${o.nft ? ' && nft -f -' : ''}`,
    () => native().socketBind(ns.fd, { sockets, ...(o.nft !== undefined && { nft: o.nft }) }), o.for);
}

/**
 * A UDP socket in this process's own namespace, bound to `address`:0: the
 * kernel picks a random ephemeral port (net.ipv4.ip_local_port_range). With
 * `peer`, it is also connected to peer:peerPort (the kernel drops datagrams
 * from anyone else) and `send` is sent on it, in the same call. Its fd is at
 * 1024 or above, clear of the fds select()-based libraries need; adopt it with
 * dgram's bind({fd}) to read. Synchronous and cheap (the DNS forwarder's
 * pool uses UdpEpoll.open, which skips what it doesn't need: the port).
 * With `epoll` (udpEpoll), the socket joins that set: its
 * datagrams come to the set's callback, tagged with `token`.
 * Equivalent to: `nc -u -p 0 PEER PEERPORT < SEND`.
 */
export function udpSocket(address = '0.0.0.0', o: { peer?: string; peerPort?: number; send?: Buffer; epoll?: UdpEpoll; token?: number } = {}): { fd: number; port: number } {
  try {
    const { epoll, ...rest } = o;
    return native().udpSocket(address, epoll ? { ...rest, epoll: epoll.fd } : rest);
  } catch (e) {
    const to = o.peer ? ` to ${o.peer}:${o.peerPort ?? 0}` : '';
    if (typeof (e as { errno?: unknown }).errno === 'number') throw new KernelError(`udp socket ${address}:0${to}`, e as NativeError, `nc -u -s ${address} -p 0${o.peer ? ` ${o.peer} ${o.peerPort ?? 0}` : ''}`);
    throw e;
  }
}

/** An epoll set of UDP sockets read by the addon; see udpEpoll. */
export interface UdpEpoll {
  fd: number;
  /**
   * A socket shared by several queries to one peer (the forwarder's pool): connected to `peer`
   * port `port` (a random ephemeral port, the kernel dropping datagrams from anyone else), fd >=
   * 1024, nothing sent, in the set level-triggered with `token`: each turn, every datagram it holds
   * comes in one recvmmsg. It leaves with udpClose(fd, set). Throws a KernelError.
   * Equivalent to: `nc -u PEER PORT`.
   */
  open(peer: Buffer, port: number, token: number): number;
  /** One datagram on a connected socket of the set, now: 0, or the errno (no exception). */
  send(fd: number, data: Buffer): number;
  close(): void;
}

/**
 * An epoll set watched by the event loop: every turn, the datagrams that
 * arrived on its sockets (udpSocket's `epoll`) come to `onReplies` in one
 * call, each with its socket's token; an errno (a number: ECONNREFUSED when
 * the peer refused) in place of a datagram. Replaces a dgram socket per
 * socket: no libuv handle, no JS object per socket. Does not keep the process
 * alive by itself. Sockets leave it with udpClose.
 * Equivalent to: epoll_create1() + epoll_wait() + recv() on each ready socket.
 */
export function udpEpoll(onReplies: (tokens: number[], data: (Buffer | number)[]) => void): UdpEpoll {
  const ep = native().udpEpoll(onReplies);
  return {
    fd: ep.fd,
    open(peer, port, token) {
      try {
        return ep.open(peer, port, token);
      } catch (e) {
        if (typeof (e as { errno?: unknown }).errno !== 'number') throw e;
        throw new KernelError(`udp socket ${peer.length === 4 ? '0.0.0.0' : '::'}:0 to ${ipText(peer)}:${port}`, e as NativeError, `nc -u ${ipText(peer)} ${port}`);
      }
    },
    send: (fd, data) => ep.send(fd, data),
    close: () => ep.close(),
  };
}

/** An IP address as the bytes UdpEpoll.open takes (4 or 16); null if `ip` is not one. */
export function ipBytes(ip: string): Buffer | null {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip) || ip.includes('%')) return null;
  // An IPv4 tail (::ffff:192.0.2.1) as its two groups, then `::` filled with zero groups.
  let s = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i).toString(16)).join(':');
}

/** Takes `fd` out of the set (if given), then closes it: no later event of the set can name its fd number. */
export function udpClose(fd: number, epoll?: { fd: number }): void {
  native().udpClose(fd, epoll?.fd);
}

/** A set of server sockets read and answered in batches; see udpServe. */
export interface UdpServe {
  fd: number;
  /** Queries per batch at most, and the bytes kept of each. */
  slots: number;
  slotSize: number;
  /** Query i is at i * slotSize (its first slotSize bytes). */
  queries: Buffer;
  /** Per query, at 4i: the token of its socket, source IPv4 (as a u32), source port, real length. */
  head: Uint32Array;
  /** Where the batch's replies are written. */
  replies: Buffer;
  /** Per reply, at 3j: the query it answers (so its socket and source), offset in `replies`, length. */
  replyHead: Uint32Array;
  /** Adds a server socket (socketBind, udp4); its queries carry `token`. */
  add(fd: number, token: number): void;
  /** Takes `fd` out of the set and closes it. */
  remove(fd: number): void;
  /** Sends one datagram at once (a reply that comes later); false when the kernel refused it (dropped). */
  sendTo(fd: number, data: Buffer, addr: number, port: number): boolean;
  /**
   * Sends `count` datagrams listed as [fd, addr, port, data, ...] (replies that came later, a turn's
   * worth): each run on the same socket in one sendmmsg. Refused ones are dropped. Returns how many were tried.
   */
  sendMany(list: (number | Buffer)[], count: number): number;
  close(): void;
}

/**
 * Server sockets answered in batches: every turn of the event loop, the
 * queries that arrived on the set's sockets (up to `slots`, read with
 * recvmmsg a few per socket in turns, so one flooding socket can't starve
 * the others) are in `queries`/`head`, and `onBatch(count)` answers them:
 * it writes replies into `replies`/`replyHead` and returns how many; the
 * addon sends them with one sendmmsg per socket. The buffers are made once
 * and reused by every batch: nothing per query crosses into JavaScript as an
 * object. Does not keep the process alive by itself.
 * Equivalent to: epoll_wait() + recvmmsg() on each ready socket, then sendmmsg().
 */
export function udpServe(onBatch: (count: number) => number): UdpServe {
  const n = native().udpServe(onBatch);
  const epfd = n.fd;
  return {
    fd: epfd, slots: n.slots, slotSize: n.slotSize,
    queries: Buffer.from(n.queries), head: new Uint32Array(n.head),
    replies: Buffer.from(n.replies), replyHead: new Uint32Array(n.replyHead),
    add: (fd, token) => {
      try {
        n.add(fd, token);
      } catch (e) {
        if (typeof (e as { errno?: unknown }).errno === 'number') throw new KernelError(`adding socket ${fd} to the DNS server's set`, e as NativeError, `epoll_ctl(${epfd}, EPOLL_CTL_ADD, ${fd})`);
        throw e;
      }
    },
    remove: (fd) => native().udpClose(fd, epfd),
    sendTo: (fd, data, addr, port) => n.sendTo(fd, data, addr, port),
    sendMany: (list, count) => n.sendMany(list, count),
    close: () => n.close(),
  };
}
