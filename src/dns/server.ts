// The embedded DNS server: one long-lived process (`nsnet dns`) that answers
// at 127.0.0.11 inside every sandbox on a user-defined network, as Docker's
// daemon does. This file puts its parts together, one job each:
//
//   lock.ts            one server per machine (dns.lock, dns.pid)
//   control-server.ts  the control socket the CLI syncs it through
//   reconcile.ts       reads nsnet's state; attaches to and detaches from sandboxes to match
//   attach.ts          a sandbox's two sockets and port-53 redirect, as a plan of steps
//   host-listen.ts     the host's listener on a host_dns network's gateway, as an attachment
//   datagrams.ts       reads and answers the UDP sockets in batches
//   queries.ts         answers what arrives on them (names.ts), or forwards it (forward.ts)
//   port-relay.ts      published ports on the host's [::1], relayed to dual-stack sandboxes
//
// Besides, the long-lived process puts nsnet's firewall back after a flush
// (docker/firewall-watch.ts), and, with a cluster store, keeps this host's
// lease alive and programs the other hosts' overlay endpoints (docker/overlay-watch.ts).
//
// Library code: nothing here ends the process. Failures are thrown (start),
// returned (sync), or logged (a sandbox's socket error); a stop request on
// the control socket resolves `stopRequested`, and the owner decides.
import { unlink } from 'node:fs/promises';
import type net from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import { native } from '../native.js';
import { removeSteps, runSteps, type Runner } from '../docker/plan.js';
import type { Context } from '../docker/context.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { watchTables, type TablesWatch } from '../docker/firewall-watch.js';
import { repairTables } from '../docker/reconcile.js';
import { closeClusterStore } from '../docker/cluster.js';
import { watchOverlay, type OverlayWatch } from '../docker/overlay-watch.js';
import { watchPodRoutes, type PodRoutes } from '../docker/pod-routes.js';
import { remoteChanges } from './overlay-names.js';
import { attachSteps, detachSteps, type Attachment } from './attach.js';
import { socketPath, type ControlReply, type ControlRequest, type DnsManager } from './control.js';
import { listenControl } from './control-server.js';
import { Forwarder } from './forward.js';
import { releaseInstance, takeInstance } from './lock.js';
import { hostListenKey, hostListenSteps } from './host-listen.js';
import { hostDnsNetwork, NameIndexer } from './names.js';
import { PortRelays } from './port-relay.js';
import { Queries } from './queries.js';
import { Reconciler, type Attacher } from './reconcile.js';

export { MAX_INFLIGHT, MAX_INFLIGHT_PER_SANDBOX, UPSTREAM_TIMEOUT_MS } from './forward.js';
export { MAX_TCP_PER_SANDBOX, TCP_IDLE_MS } from './queries.js';
export { DnsLockBusyError } from './lock.js';

export interface DnsServerOptions {
  log?: (line: string) => void;
  debug?: boolean;
  /** Who runs this server, written into dns.lock for the CLI's health check (health.ts dnsHealth). */
  manager?: DnsManager;
  /** dns.lock, opened and locked by the caller already (a standby that waited for it); the server closes it at stop. */
  lockFd?: number;
}

/** Where the server's memory is (the stats request): RSS, V8's heap by space, buffers outside it. */
function memory(): ControlReply['memory'] {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, size: s.space_size }]));
  return { ...process.memoryUsage(), spaces };
}

export class DnsServer implements Attacher {
  private readonly attachments = new Map<string, Attachment>();
  /** The host's listeners, by network and gateway (host-listen.ts hostListenKey). */
  private readonly hostListeners = new Map<string, Attachment>();
  private readonly names = new NameIndexer();
  private readonly forwarder: Forwarder;
  private readonly queries: Queries;
  private readonly reconciler: Reconciler;
  private readonly relays: PortRelays;
  /** Attach and detach plans: with --debug, each step is logged as it runs. */
  private readonly runner: Runner;
  private control?: net.Server;
  private lockFd = -1;
  private tablesWatch?: TablesWatch;
  private overlay?: OverlayWatch;
  /** Routes to other CNI nodes' pod CIDRs, for networks here leased from a cluster store (pod-routes.ts). */
  private podRoutes?: PodRoutes;
  private onStopRequest!: () => void;
  /**
   * Resolves when a client asks the server to stop (`{"op":"stop"}`); the
   * owner then calls stop() (the CLI exits, an in-process host carries on).
   */
  readonly stopRequested = new Promise<void>((resolve) => (this.onStopRequest = resolve));

  constructor(private readonly ctx: Context, private readonly o: DnsServerOptions = {}) {
    const log = (l: string) => this.log(l);
    this.forwarder = new Forwarder({ log, ...(o.debug && { debug: true }) });
    this.queries = new Queries(this.names, this.forwarder, log, o.debug);
    this.reconciler = new Reconciler(ctx.dirs, this.names, this, log);
    this.relays = new PortRelays(log);
    this.runner = { observe: o.debug ? (s) => log(`  ${s.title}`) : undefined };
  }

  private log(line: string): void {
    this.o.log?.(`${new Date().toISOString()} ${line}`);
  }

  /**
   * Takes the single-instance lock, attaches to every sandbox, opens the
   * control socket. On failure (another server holds the lock: a
   * DnsLockBusyError) what it did is undone and the error thrown.
   */
  async start(): Promise<void> {
    const { dirs } = this.ctx;
    this.lockFd = await takeInstance(dirs, this.o.manager ?? 'in-process', this.o.lockFd);
    try {
      // Two sockets per sandbox: make room for thousands of sandboxes.
      const limit = await native().rlimitNofileRaise();
      if (limit.soft < 4096) this.log(`open-file limit is ${limit.soft}: at most ~${Math.floor((limit.soft - 64) / 2)} sandboxes (raise LimitNOFILE / ulimit -n)`);
      this.podRoutes = watchPodRoutes(this.ctx, { log: (l) => this.log(l) });
      await this.sync();
      // (Its ctx without `dns`: a repair here must not ask this very server to start.)
      const fwCtx = { ...this.ctx, dns: undefined };
      this.tablesWatch = await watchTables(fwCtx, (force) => repairTables(fwCtx, force), (l) => this.log(l));
      // Not awaited: a CLI call holding the state lock may be waiting for this server to answer.
      void repairTables(fwCtx, false).then((done) => done && this.log(`firewall: ${done}`), (e: Error) => this.log(`firewall: ${e.message}`));
      // With a cluster store: this host's lease kept alive, and the other hosts' endpoints followed (in the background).
      // Their sandboxes' names answer here too (overlay-names.ts).
      if (this.ctx.clusterStore) {
        this.overlay = watchOverlay(this.ctx, {
          log: (l) => this.log(l),
          onChange: (ids) => {
            const w = this.overlay;
            // A change: only its sandboxes' endpoints (not a walk over the cluster's); a snapshot: all of them.
            if (w) this.reconciler.setRemote(remoteChanges(ids ? [...ids].flatMap((id) => w.endpointsOf(id)) : w.endpoints.values(), w.hostId, ids), !ids);
          },
        });
      }
      this.control = await listenControl(socketPath(dirs), (req) => this.handle(req), () => this.onStopRequest(), (e) => this.log(`control: ${e.message}`));
    } catch (e) {
      await this.stop().catch(() => {}); // the error that matters is e
      throw e;
    }
    this.log(`listening; attached to ${this.attachments.size} sandbox(es)`);
  }

  /** Detaches from every sandbox, closes the control socket, lets go of the lock. Safe to call twice. */
  async stop(): Promise<void> {
    this.tablesWatch?.close();
    this.tablesWatch = undefined;
    this.overlay?.close();
    this.overlay = undefined;
    this.podRoutes?.close();
    this.podRoutes = undefined;
    closeClusterStore(this.ctx);
    // Not waited for: close() waits for every connection to end, and a client may keep one (control.ts requestKept).
    this.control?.close();
    this.control = undefined;
    for (const id of [...this.attachments.keys()]) await this.detach(id, true); // a restarted server rewrites the rules
    await this.listenHost([]);
    this.relays.close();
    this.forwarder.close();
    this.queries.datagrams.close();
    if (this.lockFd >= 0) {
      const fd = this.lockFd;
      this.lockFd = -1;
      await unlink(socketPath(this.ctx.dirs)).catch(() => {});
      await releaseInstance(this.ctx.dirs, fd);
    }
  }

  get attachedCount(): number {
    return this.attachments.size;
  }

  /** Reads the state and attaches/detaches to match (reconcile.ts). */
  sync(ids?: string[], gone = false): Promise<ControlReply> {
    return this.reconciler.sync(ids, gone).then((r) => {
      // A network leasing its subnet from a cluster store (a CNI node's pod CIDR) is followed from here.
      this.podRoutes?.follow(this.reconciler.localNetworks);
      return r;
    });
  }

  private async handle(req: ControlRequest): Promise<ControlReply & { stop?: boolean }> {
    if (req.op === 'ping') return { ok: true, attached: this.attachments.size };
    if (req.op === 'stats') return { ok: true, attached: this.attachments.size, forwarder: this.forwarder.stats, datagrams: this.queries.datagrams.stats, memory: memory() };
    if (req.op === 'sync') return this.sync(req.ids, req.gone).catch((e: Error) => ({ ok: false, error: e.message }));
    if (req.op === 'stop') return { ok: true, stop: true };
    return { ok: false, error: `unknown op ${String((req as { op: unknown }).op)}` };
  }

  // ---- Attacher (reconcile.ts) ----------------------------------------------------

  get count(): number {
    return this.attachments.size;
  }

  attachedIds(): Iterable<string> {
    return this.attachments.keys();
  }

  update(id: string, sb: SandboxRecord, upstreams: string[]): boolean {
    const att = this.attachments.get(id);
    if (!att) return false;
    att.sandbox = sb;
    att.upstreams = upstreams;
    return true;
  }

  async attach(sb: SandboxRecord, upstreams: string[]): Promise<void> {
    const att = attachSteps(sb, upstreams, this.queries);
    await this.serve(att);
    this.attachments.set(sb.id, att);
  }

  /** Makes an attachment's sockets and adds its UDP socket to the batched set; nothing is left if either fails. */
  private async serve(att: Attachment): Promise<void> {
    await runSteps(att.steps, this.runner);
    try {
      this.queries.datagrams.add(att);
    } catch (e) {
      await removeSteps(att.steps, this.runner).catch(() => {}); // the error that matters is e
      throw e;
    }
  }

  async listenHost(networks: NetworkRecord[]): Promise<string[]> {
    const want = new Map(networks.filter(hostDnsNetwork).map((n) => [hostListenKey(n), n]));
    for (const [key, att] of [...this.hostListeners]) {
      if (want.has(key)) continue;
      this.hostListeners.delete(key);
      await removeSteps(att.steps, this.runner).catch((e: Error) => this.log(`${att.sandbox.name}: ${e.message}`));
      this.log(`stopped listening for ${att.sandbox.name}`);
    }
    const errors: string[] = [];
    for (const [key, n] of want) {
      if (this.hostListeners.has(key)) continue;
      const att = hostListenSteps(this.ctx.host, n, this.queries);
      try {
        await this.serve(att);
        this.hostListeners.set(key, att);
      } catch (e) {
        errors.push(`names for the host on network ${n.name} (${n.gateway}:53): ${(e as Error).message}`);
      }
    }
    return errors;
  }

  relay(records: ReadonlyMap<string, SandboxRecord | undefined>, all: boolean): Promise<Map<string, string>> {
    return this.relays.follow(records, all);
  }

  async detach(id: string, keepRules: boolean): Promise<void> {
    const att = this.attachments.get(id);
    if (!att) return;
    this.attachments.delete(id);
    try {
      // A runtime's namespace (CNI) outlives the sandbox: its rules are taken away, not left to go with it.
      await removeSteps(detachSteps(att, keepRules && !att.sandbox.netnsPath), this.runner);
    } catch (e) {
      this.log(`detach ${att.sandbox.name}: ${(e as Error).message}`);
    }
    this.log(`detached ${att.sandbox.name}`);
  }
}
