// The native addon's surface, typed, and the loader that finds the built
// binary. native/verbs.h lists the same verbs on the C++ side.
//
// Every verb is asynchronous. Verbs that act inside a namespace take the fd of
// that namespace (from netnsOpen/netnsCreate) and do their work on a
// throwaway native thread; verbs that take an rtnetlink socket fd act in the
// namespace that socket was opened in (rtnlOpen). No Node thread ever changes
// namespace.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a failed verb rejects with (see native/error.h). */
export interface NativeError extends Error {
  errno: number; // negative, as Node's SystemError
  code: string; // "EEXIST"
  description?: string; // strerror text: "File exists"
  syscall: string; // "sendmsg", "setns", "mount", "nft_run_cmd_from_buffer"
  op?: string; // "RTM_NEWLINK", "netnsCreate", "nft"
  path?: string;
  extack?: { message: string; offset?: number };
}

export interface NativeNetns {
  fd: number;
  /** An rtnetlink socket inside the namespace, when netnsCreate was asked for one. */
  rtnlFd?: number;
  dev: number;
  ino: number;
  path: string;
}

export interface NativeLink {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  lowerUp: boolean;
  operstate: string;
  type: string;
  mtu: number;
  txqlen: number;
  address: string;
  master?: number;
  link?: number;
  linkNetnsId?: number;
  kind?: string;
  slaveKind?: string;
  /** A vxlan's options (IFLA_INFO_DATA), as `ip -d link show` prints them. */
  vxlan?: NativeVxlanInfo;
}

export interface NativeVxlanInfo {
  id: number;
  /** Destination UDP port (host order). */
  port: number;
  /** IFLA_VXLAN_LINK: the underlay device's ifindex, if bound to one. */
  link?: number;
  local?: string;
  group?: string;
  learning: boolean;
  proxy: boolean;
  l2miss: boolean;
  l3miss: boolean;
}

export interface NativeLinkAttrs {
  name?: string;
  mtu?: number;
  address?: string;
  master?: number;
  txqlen?: number;
  /** IFLA_GROUP: the link's interface group (`ip link set dev X group N`; nft matches it with `meta iifgroup`). */
  group?: number;
  up?: boolean;
  netnsFd?: number;
  /** As a bridge port: hairpin mode (IFLA_BRPORT_MODE), `ip link set dev X type bridge_slave hairpin on`. */
  hairpin?: boolean;
}

/**
 * One attribute inside IFLA_INFO_DATA: exactly one of u8, u16, u32 (host byte
 * order), be16 (sent in network byte order: a UDP port) or ip (4 or 16 bytes).
 */
export interface NativeLinkData {
  type: number;
  u8?: number;
  u16?: number;
  u32?: number;
  be16?: number;
  ip?: string;
}

export interface NativeLinkAdd extends Omit<NativeLinkAttrs, 'hairpin'> {
  name: string;
  kind: string;
  /** IFLA_LINK: the lower device's ifindex, in the socket's namespace (macvlan's parent). */
  link?: number;
  /** The kind's options (IFLA_INFO_DATA); not with `peer`. */
  data?: NativeLinkData[];
  peer?: Omit<NativeLinkAttrs, 'up' | 'master' | 'hairpin'>;
}

export interface NativeAddr {
  family: 4 | 6;
  index: number;
  address: string;
  prefixlen: number;
  scope: string;
  flags: number;
  broadcast?: string;
  label?: string;
}

export interface NativeAddrReq {
  index: number;
  address: string;
  prefixlen: number;
  broadcast?: string;
  label?: string;
  /** IFA_F_* flags: IFA_F_NODAD (0x02) adds an IPv6 address without duplicate address detection. */
  flags?: number;
}

export interface NativeRoute {
  family: 4 | 6;
  dst: string; // "default" or the network address
  dstLen: number;
  gateway?: string;
  prefsrc?: string;
  oif?: number;
  table: number;
  protocol: string;
  scope: string;
  type: string;
  priority?: number;
}

export interface NativeRouteReq {
  family?: 4 | 6;
  dst?: string;
  dstLen?: number;
  gateway?: string;
  prefsrc?: string;
  oif?: number;
  priority?: number;
  table?: number;
  protocol?: number;
  scope?: 'global' | 'link' | 'host';
  type?: 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit';
}

/** A neighbour (family 4/6: IP -> MAC) or forwarding (family 'bridge': MAC -> port or remote) entry. */
export interface NativeNeigh {
  family: 4 | 6 | 'bridge';
  /** The device's ifindex. */
  index: number;
  /** NUD_* bits (0x80 permanent, 0x40 noarp, 0x02 reachable, ...). */
  state: number;
  /** NTF_* bits (0x02 self, 0x04 master, 0x08 proxy, ...). */
  flags: number;
  type: number;
  /** The IP (neighbour), or the remote VTEP's underlay address (vxlan fdb). */
  dst?: string;
  lladdr?: string;
  /** The bridge, for an fdb entry of a bridge port (NTF_MASTER). */
  master?: number;
  vni?: number;
  ifindex?: number;
  port?: number;
  vlan?: number;
}

export interface NativeNeighReq {
  family: 4 | 6 | 'bridge';
  index: number;
  state?: number;
  flags?: number;
  dst?: string;
  lladdr?: string;
  /** With NLM_F_CREATE: fail if it exists (default), replace it, or append (fdb: another remote). */
  create?: 'excl' | 'replace' | 'append';
}

export interface NativeAddon {
  netnsCreate(o: { name: string; dir?: string; rtnl?: boolean; sysctls?: [string, string][] }): Promise<NativeNetns>;
  netnsDelete(o: { name: string; dir?: string } | { path: string }): Promise<void>;
  netnsOpen(o: { name: string; dir?: string } | { path: string } | { pid: number }): Promise<NativeNetns>;

  rtnlOpen(nsFd: number): Promise<number>;
  linkAdd(fd: number, o: NativeLinkAdd): Promise<NativeLink | null>;
  linkSet(fd: number, index: number, o: NativeLinkAttrs): Promise<void>;
  linkDel(fd: number, o: { index: number } | { name: string }): Promise<void>;
  linkGet(fd: number, o: { index: number } | { name: string }): Promise<NativeLink>;
  linkList(fd: number): Promise<NativeLink[]>;
  addrAdd(fd: number, o: NativeAddrReq): Promise<void>;
  addrDel(fd: number, o: NativeAddrReq): Promise<void>;
  addrList(fd: number, o?: { index?: number; family?: 4 | 6 }): Promise<NativeAddr[]>;
  routeAdd(fd: number, o: NativeRouteReq): Promise<void>;
  routeDel(fd: number, o: NativeRouteReq): Promise<void>;
  routeList(fd: number, o?: { family?: 4 | 6; table?: number }): Promise<NativeRoute[]>;
  neighAdd(fd: number, o: NativeNeighReq): Promise<void>;
  neighDel(fd: number, o: Omit<NativeNeighReq, 'create'>): Promise<void>;
  neighList(fd: number, o: { family: 4 | 6 | 'bridge'; index?: number }): Promise<NativeNeigh[]>;

  sysctlRead(nsFd: number, key: string): Promise<string>;
  sysctlWrite(nsFd: number, key: string, value: string): Promise<void>;
  nftApply(nsFd: number, text: string, o?: { json?: boolean; handles?: boolean }): Promise<string>;
  /** One NFT_MSG_GETTABLE: the table's own attributes, never its contents. Rejects with ENOENT when it does not exist. */
  nftTableGet(nsFd: number, family: NativeNftFamily, name: string): Promise<NativeNftTable>;
  /** Subscribes to NFNLGRP_NFTABLES inside the namespace; batches of events arrive on the JS thread until close(). */
  nftMonitor(nsFd: number, onEvents: (events: NativeNftEvent[]) => void, o?: { rcvbuf?: number }): Promise<NativeNftMonitor>;
  socketBind(nsFd: number, o: NativeSocketSpec): Promise<{ fd: number; port: number }>;
  /** Binds every socket, then applies `nft` (which may use $port0, $port1, ...) in the same namespace trip; all or nothing. */
  socketBind(nsFd: number, o: { sockets: NativeSocketSpec[]; nft?: string }): Promise<{ fd: number; port: number }[]>;
  flock(fd: number, o?: { mode?: 'exclusive' | 'shared' | 'unlock'; wait?: boolean }): Promise<void>;
  /** `try`: at once, without waiting; true if taken, false if another holds it (no EWOULDBLOCK error). */
  flock(fd: number, o: { mode?: 'exclusive' | 'shared'; try: true }): Promise<boolean>;
  /** `supervisor`: detached only, the pid of the process that waits for the command and writes `exitFile`. */
  spawn(o: NativeSpawn): Promise<{ pid: number; supervisor?: number }>;
  waitpid(pid: number): Promise<{ code: number; signal?: number }>;
  /** Raises the soft open-file limit to the hard one; returns both. */
  rlimitNofileRaise(): Promise<{ soft: number; hard: number }>;
  /** Connects to a unix stream socket, sends `text`, resolves with the first line of the reply. */
  unixRequest(path: string, text: string, o?: { timeoutMs?: number }): Promise<string>;
  /** Synchronous: a UDP socket in this process's namespace bound to address:0 (a random port), fd >= 1024; connected to `peer` and `send` sent, if given. */
  udpSocket(address: string, o?: { peer?: string; peerPort?: number; send?: Buffer; epoll?: number; token?: number }): { fd: number; port: number };
  /** Synchronous: an epoll set watched by the event loop (not keeping it alive); each turn, every datagram (or errno) read from its sockets, with their tokens. */
  udpEpoll(onReplies: (tokens: number[], data: (Buffer | number)[]) => void): NativeUdpEpoll;
  /** Synchronous: the credentials of the peer of a connected unix socket (SO_PEERCRED). */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** Synchronous: removes fd from the epoll set (if given), then closes it. */
  udpClose(fd: number, epollFd?: number): void;
  /**
   * Synchronous: an epoll set of server sockets read in batches (recvmmsg), watched by the event loop (not keeping
   * it alive). Per turn, onBatch(count) reads `count` queries from `queries`/`head` and returns how many replies it
   * wrote into `replies`/`replyHead`; they go out with sendmmsg.
   */
  udpServe(onBatch: (count: number) => number): NativeUdpServe;
}

export interface NativeUdpEpoll {
  fd: number;
  /** A socket connected to peer (4 or 16 address bytes):port, fd >= 1024, nothing sent, in the set level-triggered with `token` (read with recvmmsg); its fd. */
  open(peer: Buffer, port: number, token: number): number;
  /** One datagram on a connected socket, now: 0, or the errno. */
  send(fd: number, data: Buffer): number;
  close(): void;
}

export interface NativeUdpServe {
  fd: number;
  /** Queries per batch, and the bytes kept of each (its slot in `queries`). */
  slots: number;
  slotSize: number;
  /** Slot i at i * slotSize. */
  queries: ArrayBuffer;
  /** Per query 4 u32: token, source IPv4 (host order), source port, real length (more than slotSize: cut). */
  head: ArrayBuffer;
  replies: ArrayBuffer;
  /** Per reply 3 u32: query index, offset in `replies`, length. */
  replyHead: ArrayBuffer;
  /** Adds a bound AF_INET UDP socket; its queries carry `token`. It leaves with udpClose(fd, set.fd). */
  add(fd: number, token: number): void;
  /** One datagram, now (false: the kernel refused it, e.g. a full send buffer; dropped). */
  sendTo(fd: number, data: Buffer, addr: number, port: number): boolean;
  /** `count` datagrams listed as [fd, addr, port, data, ...], runs on one socket in one sendmmsg; how many were tried. */
  sendMany(list: (number | Buffer)[], count: number): number;
  close(): void;
}

export type NativeNftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export interface NativeNftTable {
  /** The kernel's u64 handle as decimal text: new each time the table is created. */
  handle: string;
  /** How many objects (chains, sets, ...) refer to the table. */
  use: number;
  /** NFT_TABLE_F_* (1 = dormant, 2 = owner). */
  flags: number;
  comment?: string;
}

export interface NativeNftEvent {
  /** 'overrun': the kernel dropped events (ENOBUFS), re-check everything. 'error': the watcher stopped. */
  type: 'newtable' | 'deltable' | 'newchain' | 'delchain' | 'newrule' | 'delrule' | 'newset' | 'delset'
    | 'newsetelem' | 'delsetelem' | 'newgen' | 'other' | 'overrun' | 'error';
  /** Absent on 'overrun' and 'error'; 'unspec' on 'newgen'. */
  family?: NativeNftFamily | 'unspec' | 'unknown';
  table?: string;
  /** NFT_MSG_* of an 'other' event (objects, flowtables). */
  msg?: number;
  /**
   * 'newgen': the generation just committed, and who committed it: the kernel's
   * task pid, i.e. the committing *thread's* id (for nsnet's own changes a
   * throwaway thread, not process.pid), and its name (comm: 'nft', 'node').
   */
  gen?: number;
  pid?: number;
  comm?: string;
}

export interface NativeNftMonitor {
  /** Stops the reader thread and closes the socket; no callback runs afterwards. Idempotent. */
  close(): void;
  /** Keep the event loop alive while watching (off at first). */
  ref(): NativeNftMonitor;
  unref(): NativeNftMonitor;
}

export interface NativeSocketSpec {
  type: 'udp' | 'tcp';
  address: string;
  port?: number;
  backlog?: number;
}

export interface NativeSpawn {
  /** argv[0] must be an absolute path. */
  argv: string[];
  env?: string[];
  cwd?: string;
  netnsFd?: number;
  /** A new UTS namespace with this hostname. */
  hostname?: string;
  /** A new PID namespace: the command is PID 1 in it, with its own /proc. */
  newPidns?: boolean;
  /** Join this PID namespace (/proc/PID/ns/pid) instead. */
  joinPidns?: string;
  /** Bind mounts [source, target] in a private mount namespace. */
  binds?: [string, string][];
  /**
   * Under a supervisor in a session of its own (setsid): the process outlives
   * the caller, and nobody need reap it (native/spawn.cc).
   */
  detach?: boolean;
  /** Detached: where the supervisor writes the exit status, `{"pid","exitCode","signal"?}` (absolute path, 0600). */
  exitFile?: string;
  /** Detached: the program the supervisor execs to wait (superviseExe()), so it keeps no copy of this process's memory. */
  superviseExe?: string;
  stdio?: [number, number, number];
}

let cached: NativeAddon | undefined;

/** Loads build/Release/nsnet.node (or build/Debug), saying where it looked if it can't. */
export function native(): NativeAddon {
  if (cached) return cached;
  const here = path.dirname(fileURLToPath(import.meta.url));
  // The package root is above src/ or dist/ (this file), or above dist/cli/ (the CLI's bundle).
  const roots = [path.resolve(here, '..'), path.resolve(here, '../..')];
  const tried = roots.flatMap((root) => ['build/Release/nsnet.node', 'build/Debug/nsnet.node'].map((p) => path.join(root, p)));
  const found = tried.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`nsnet: native addon not built; looked in:\n  ${tried.join('\n  ')}\nrun: npm ci (or npm run build)`);
  }
  cached = createRequire(import.meta.url)(found) as NativeAddon;
  addonDir = path.dirname(found);
  return cached;
}

let addonDir: string | undefined;

/** The nsnet-cni program built beside the addon (binding.gyp): the CNI plugin `nsnet cni install` copies; undefined if missing. */
export function cniExe(): string | undefined {
  native();
  const exe = path.join(addonDir!, 'nsnet-cni');
  return existsSync(exe) ? exe : undefined;
}

/**
 * The nsnet-supervise program built beside the addon (binding.gyp), which a
 * detached command's supervisor execs to wait for it; undefined if it is
 * missing (the supervisor then waits itself, as a fork of this process).
 */
export function superviseExe(): string | undefined {
  native();
  const exe = path.join(addonDir!, 'nsnet-supervise');
  return existsSync(exe) ? exe : undefined;
}
