// The embedded DNS server: one long-lived process (`nsnet dns`) that answers
// at 127.0.0.11 inside every sandbox on a user-defined network, as Docker's
// daemon does.
//
// For each such sandbox it asks the addon for a UDP and a TCP socket bound to
// 127.0.0.11:0 *inside the sandbox's namespace*, with the DNAT/SNAT rules
// that send the sandbox's port 53 to them (redirect.ts) - one trip into the
// namespace for all three - and adopts them (dgram bind({fd}), net.Server
// listen({fd})). Each socket belongs to one
// sandbox, so the socket a query arrives on says who is asking: a sandbox sees
// only the names on its own networks (names.ts). Anything else is forwarded,
// from the host's namespace, to the host's upstream servers (forward.ts).
//
//   ip netns exec web dig @127.0.0.11 db          a name on a shared network
//   ip netns exec web dig @127.0.0.11 +tcp db     the same over TCP
//   ip netns exec web ss -lntup                   the two sockets: no process in the sandbox
//
// The server keeps no state of its own: on start, and whenever the CLI says
// "sync" on the control socket, it reads nsnet's state and attaches to (or
// detaches from) sandboxes to match. Killed and restarted, it re-attaches to
// every live sandbox.
//
// Be aware:
// - Bounded: at most MAX_INFLIGHT forwarded queries at once (Docker's
//   1024), MAX_INFLIGHT_PER_SANDBOX per sandbox, MAX_TCP_PER_SANDBOX TCP
//   connections per sandbox, each closed after TCP_IDLE_MS of silence.
import dgram from 'node:dgram';
import { closeSync, existsSync, fchmodSync, ftruncateSync, promises as fs, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import { native } from '../native.js';
import { isNotFound } from '../kernel/errors.js';
import { netnsOpenNameSync, type Netns } from '../kernel/netns.js';
import { nftApply } from '../kernel/nftables.js';
import { socketsBind } from '../kernel/socket.js';
import { readState } from '../state/store.js';
import type { Context } from '../docker/context.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { watchTables, type TablesWatch } from '../docker/firewall-watch.js';
import { hostResolvConf } from '../docker/host.js';
import { repairTables } from '../docker/reconcile.js';
import { lockPath, pidPath, socketPath, tryLock, type ControlReply, type ControlRequest, type DnsManager } from './control.js';
import { Forwarder, type Reply } from './forward.js';
import { buildAnswer, buildError, parseQuery, RCODE, TYPE } from './message.js';
import { lookup, NameIndexer, rotate } from './names.js';
import { DNS_ADDRESS, DNS_TABLE, dnsRedirect } from './redirect.js';
import { parseResolvConf } from '../etc/resolv-conf.js';
import { sandboxUpstreams } from '../etc/sandbox-resolv-conf.js';

export { MAX_INFLIGHT, MAX_INFLIGHT_PER_SANDBOX, UPSTREAM_TIMEOUT_MS } from './forward.js';
export const MAX_TCP_PER_SANDBOX = 64;
export const TCP_IDLE_MS = 10_000;

interface Attachment {
  sandbox: SandboxRecord;
  netns: string;
  /** The namespace's identity: a later sandbox may reuse the name. */
  nsDev: number;
  nsIno: number;
  udp: dgram.Socket;
  tcp: net.Server;
  tcpConns: Set<net.Socket>;
  inflight: number;
  upstreams: string[];
}

type Bound = { fd: number; port: number };

export interface DnsServerOptions {
  log?: (line: string) => void;
  debug?: boolean;
  /** Who runs this server, written into dns.lock for the CLI's health check (control.ts dnsHealth). */
  manager?: DnsManager;
  /** dns.lock, opened and locked by the caller already (a standby that waited for it); the server closes it at stop. */
  lockFd?: number;
}

export class DnsServer {
  private attachments = new Map<string, Attachment>();
  /** Every sandbox the server knows of, by id (user networks or not: names.ts decides who sees whom). */
  private known = new Map<string, SandboxRecord>();
  private networks: NetworkRecord[] = [];
  private names = new NameIndexer();
  private rr = new Map<string, number>();
  private readonly forwarder: Forwarder;
  private control?: net.Server;
  private syncing: Promise<ControlReply> = Promise.resolve({ ok: true });
  private lockFd = -1;
  private tablesWatch?: TablesWatch;
  private onStopRequest!: () => void;
  /**
   * Resolves when a client asks the server to stop (`{"op":"stop"}`); the
   * owner then calls stop() (the CLI exits, an in-process host carries on).
   */
  readonly stopRequested = new Promise<void>((resolve) => (this.onStopRequest = resolve));

  constructor(private readonly ctx: Context, private readonly o: DnsServerOptions = {}) {
    this.forwarder = new Forwarder({ log: (l) => this.log(l), ...(o.debug && { debug: true }) });
  }

  private log(line: string): void {
    this.o.log?.(`${new Date().toISOString()} ${line}`);
  }

  /** Takes the single-instance lock, opens the control socket, attaches to every sandbox. */
  async start(): Promise<void> {
    const { dirs } = this.ctx;
    await fs.mkdir(dirs.runDir, { recursive: true });
    if (this.o.lockFd !== undefined) this.lockFd = this.o.lockFd;
    else {
      this.lockFd = openSync(lockPath(dirs), 'a', 0o600);
      // A CLI health check holds the lock for a few syscalls when it finds it free: try for a moment.
      let locked = false;
      for (let i = 0; i < 20 && !(locked = await tryLock(this.lockFd)); i++) await new Promise((res) => setTimeout(res, 10));
      if (!locked) {
        closeSync(this.lockFd);
        this.lockFd = -1;
        throw Object.assign(new Error(`another nsnet DNS server is running (lock ${lockPath(dirs)})`), { code: 'EBUSY' });
      }
    }
    // Mode 0600 whatever the umask (and whatever an older file had); the content says who runs us.
    fchmodSync(this.lockFd, 0o600);
    ftruncateSync(this.lockFd, 0);
    writeSync(this.lockFd, `${this.o.manager ?? 'in-process'} ${process.pid}\n`);
    // The pid file says "should run" from now on: a crash from here leaves it, a clean stop removes it.
    const pid = openSync(pidPath(dirs), 'w', 0o600);
    try {
      fchmodSync(pid, 0o600);
      writeSync(pid, `${process.pid}\n`);
    } finally {
      closeSync(pid);
    }
    // Two sockets per sandbox: make room for thousands of sandboxes.
    const limit = await native().rlimitNofileRaise();
    if (limit.soft < 4096) this.log(`open-file limit is ${limit.soft}: at most ~${Math.floor((limit.soft - 64) / 2)} sandboxes (raise LimitNOFILE / ulimit -n)`);
    await this.sync();
    // The long-lived process puts nsnet's firewall back after a flush (docker/firewall.ts).
    // (Its ctx without `dns`: a repair here must not ask this very server to start.)
    const fwCtx = { ...this.ctx, dns: undefined };
    this.tablesWatch = await watchTables(fwCtx, (force) => repairTables(fwCtx, force), (l) => this.log(l));
    // Not awaited: a CLI call holding the state lock may be waiting for this server to answer.
    void repairTables(fwCtx, false).then((done) => done && this.log(`firewall: ${done}`), (e: Error) => this.log(`firewall: ${e.message}`));
    if (existsSync(socketPath(dirs))) await fs.unlink(socketPath(dirs));
    this.control = net.createServer((c) => this.onControl(c));
    // The socket is made by bind(2) inside listen(), synchronously, with mode 0777 & ~umask:
    // under umask 0177 it is 0600 from the start, never reachable by other users.
    const umask = process.umask(0o177);
    try {
      this.control.listen(socketPath(dirs));
    } finally {
      process.umask(umask);
    }
    await new Promise<void>((resolve, reject) => {
      this.control!.once('listening', resolve);
      this.control!.once('error', reject);
    });
    this.log(`listening; attached to ${this.attachments.size} sandbox(es)`);
  }

  async stop(): Promise<void> {
    this.tablesWatch?.close();
    this.control?.close();
    for (const id of [...this.attachments.keys()]) await this.detach(id, false);
    this.forwarder.close();
    await fs.unlink(socketPath(this.ctx.dirs)).catch(() => {});
    await fs.unlink(pidPath(this.ctx.dirs)).catch(() => {});
    if (this.lockFd >= 0) closeSync(this.lockFd);
  }

  get attachedCount(): number {
    return this.attachments.size;
  }

  // ---- control ----------------------------------------------------------------

  /**
   * One JSON request per line, one reply line each, in order; a client may
   * keep the connection for further requests (control.ts requestKept).
   */
  private onControl(c: net.Socket): void {
    let buf = '';
    let turn: Promise<void> = Promise.resolve();
    c.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        turn = turn.then(() => this.handle(line).then(({ stop, ...reply }) => {
          if (!c.destroyed) c.write(`${JSON.stringify(reply)}\n`);
          if (stop) this.onStopRequest();
        }));
      }
      if (buf.length > 4096) c.destroy();
    });
    c.on('error', () => {});
  }

  private async handle(line: string): Promise<ControlReply & { stop?: boolean }> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'bad request' };
    }
    if (req.op === 'ping') return { ok: true, attached: this.attachments.size };
    if (req.op === 'stats') return { ok: true, attached: this.attachments.size, forwarder: this.forwarder.stats };
    if (req.op === 'sync') return this.sync(req.ids, req.gone).catch((e: Error) => ({ ok: false, error: e.message }));
    if (req.op === 'stop') return { ok: true, stop: true };
    return { ok: false, error: `unknown op ${String((req as { op: unknown }).op)}` };
  }

  /**
   * Reads the state and attaches/detaches to match it. Calls are serialized.
   * `ids`: the sandboxes the caller changed; only their failures fail the call.
   */
  sync(ids?: string[], gone = false): Promise<ControlReply> {
    this.syncing = this.syncing.then(() => this.doSync(ids, gone), () => this.doSync(ids, gone));
    return this.syncing;
  }

  /**
   * Without ids (at start, or when asked): reads every sandbox and
   * reconciles all of them. With ids: reads only those sandboxes, so a
   * change costs the same with 10 sandboxes as with 1000.
   */
  private async doSync(ids?: string[], gone = false): Promise<ControlReply> {
    // Reads only; no lock needed (state files are replaced atomically).
    const state = await readState<NetworkRecord, SandboxRecord>(this.ctx.dirs);
    const records = new Map<string, SandboxRecord | undefined>();
    // `gone`: the caller is removing these; their records may not be gone yet.
    if (ids) for (const id of ids) records.set(id, gone ? undefined : await state.sandboxes.byId(id));
    else for (const sb of await state.sandboxes.all()) records.set(sb.id, sb);
    // networks.json damaged: keep the networks known so far rather than drop the sandboxes of those that can't be read.
    if (state.networksDamaged) this.log(`sync: ${state.networksDamaged.message}`);
    const snap = { networks: state.networksDamaged && this.networks.length ? this.networks : state.networks, records };
    if (!ids) this.known.clear();
    for (const [id, sb] of snap.records) {
      if (sb) this.known.set(id, sb);
      else this.known.delete(id);
    }
    this.networks = snap.networks;
    const userNets = new Set(snap.networks.filter((n) => n.driver === 'bridge' && !n.defaultBridge).map((n) => n.id));
    const wants = (sb: SandboxRecord | undefined): sb is SandboxRecord =>
      !!sb && !!sb.netns && !sb.containerOf && sb.endpoints.some((e) => userNets.has(e.networkId));
    const consider = ids ?? [...new Set([...this.known.keys(), ...this.attachments.keys()])];
    const hostConf = parseResolvConf(await hostResolvConf());
    const errors: string[] = [];
    // The names index follows from memory (no file is read for it), only what changed. Before the
    // attaches: a sandbox's first query (a restarted server's sockets answer at once) finds its names.
    this.names.update(this.networks, this.known, ids);
    for (const id of consider) {
      const sb = this.known.get(id);
      if (!wants(sb)) {
        await this.detach(id, !gone); // a sandbox being removed takes its rules with its namespace
        continue;
      }
      const upstreams = sandboxUpstreams({ host: hostConf, mode: 'user-network', dns: sb.dns });
      const att = this.attachments.get(id);
      if (att) {
        att.sandbox = sb;
        att.upstreams = upstreams;
        continue;
      }
      try {
        await this.attach(sb, upstreams);
      } catch (e) {
        // A sandbox another nsnet process is still creating has a /run/netns
        // file that is not a namespace yet (EINVAL), or none (ENOENT): its own
        // sync will attach it. Other failures are reported to the caller that
        // asked about that sandbox, and logged.
        // (Only those two: EADDRNOTAVAIL, say, is a real failure, and the caller must hear of it.)
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT' || (sb.status === 'creating' && code === 'EINVAL')) continue;
        const msg = `${sb.name}: ${(e as Error).message}`;
        this.log(`sync: ${msg}`);
        errors.push(msg);
      }
    }
    return errors.length ? { ok: false, error: errors.join('; '), attached: this.attachments.size } : { ok: true, attached: this.attachments.size };
  }

  private async attach(sb: SandboxRecord, upstreams: string[]): Promise<void> {
    let ns: Netns | undefined;
    const fds: number[] = [];
    try {
      ns = netnsOpenNameSync(sb.netns!);
      // Both sockets and the DNAT/SNAT rules that lead port 53 to them: one trip into the namespace.
      const [u, t] = await socketsBind(ns, [{ type: 'udp', address: DNS_ADDRESS, port: 0 }, { type: 'tcp', address: DNS_ADDRESS, port: 0 }],
        { nft: dnsRedirect('$port0', '$port1'), for: `sandbox ${sb.name}` }) as [Bound, Bound];
      fds.push(u.fd, t.fd);

      const att: Attachment = {
        sandbox: sb, netns: sb.netns!, nsDev: ns.dev, nsIno: ns.ino, upstreams, inflight: 0, tcpConns: new Set(),
        udp: dgram.createSocket('udp4'),
        tcp: net.createServer({ pauseOnConnect: false }, (c) => this.onTcp(att, c)),
      };
      att.udp.on('message', (msg, rinfo) => this.onQuery(att, msg, (out) => att.udp.send(out, rinfo.port, rinfo.address), false));
      att.udp.on('error', (e) => this.log(`${sb.name} udp: ${e.message}`));
      att.tcp.on('error', (e) => this.log(`${sb.name} tcp: ${e.message}`));
      await new Promise<void>((resolve) => att.udp.bind({ fd: u.fd }, resolve));
      await new Promise<void>((resolve) => att.tcp.listen({ fd: t.fd }, resolve));
      this.attachments.set(sb.id, att);
      this.log(`attached ${sb.name}: udp ${u.port}, tcp ${t.port}`);
    } catch (e) {
      for (const fd of fds) {
        try {
          closeSync(fd);
        } catch {
          // adopted already: closed with its socket
        }
      }
      throw e;
    } finally {
      await ns?.close();
    }
  }

  private async detach(id: string, removeRules: boolean): Promise<void> {
    const att = this.attachments.get(id);
    if (!att) return;
    this.attachments.delete(id);
    att.udp.close();
    att.tcp.close();
    for (const c of att.tcpConns) c.destroy();
    this.forwarder.cancel(att);
    if (removeRules) {
      // The sandbox may be gone already (nsnet rm): then so are its rules.
      try {
        const ns = netnsOpenNameSync(att.netns);
        try {
          // Only in the namespace it attached to, never in a newer one under the same name.
          if (ns.dev === att.nsDev && ns.ino === att.nsIno) await nftApply(ns, `delete table ip ${DNS_TABLE}`);
        } finally {
          await ns.close();
        }
      } catch (e) {
        if (!isNotFound(e)) this.log(`detach ${att.sandbox.name}: ${(e as Error).message}`);
      }
    }
    this.log(`detached ${att.sandbox.name}`);
  }

  // ---- queries ------------------------------------------------------------------

  private onTcp(att: Attachment, c: net.Socket): void {
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
        this.onQuery(att, Buffer.from(msg), (out) => {
          if (c.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          c.write(Buffer.concat([head, out]));
        }, true);
      }
      if (buf.length > 65537) c.destroy();
    });
  }

  /** Answers one query from `att`'s sandbox: a local name, or a forward upstream. */
  onQuery(att: Attachment, msg: Buffer, reply: Reply, tcp: boolean): void {
    const q = parseQuery(msg);
    if (!q) {
      const err = buildError(msg, RCODE.FORMERR);
      if (err) reply(err);
      return;
    }
    if (q.opcode !== 0) {
      const err = buildError(msg, RCODE.NOTIMP);
      if (err) reply(err);
      return;
    }
    const maxSize = tcp ? 65535 : undefined;
    const r = lookup(this.names.index, att.sandbox.id, q.qname, q.qtype);
    if (this.o.debug) this.log(`${att.sandbox.name} ${tcp ? 'tcp' : 'udp'} ${q.qname} ${q.qtype} -> ${r.kind}`);
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
