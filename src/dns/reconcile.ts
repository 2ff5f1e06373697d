// Keeping the server in step with nsnet's state: the server keeps no state of
// its own. On start, and whenever the CLI says "sync" on the control socket,
// it reads the state and attaches to (or detaches from) sandboxes to match.
// Killed and restarted, it re-attaches to every live sandbox. The same
// records say which published ports it relays from [::1] (port-relay.ts).
//
// Which sandboxes it attaches to: those with a namespace of their own on a
// user-defined bridge, macvlan or overlay network (Docker gives the default
// bridge no embedded DNS). Sandboxes on other hosts (overlay networks) are
// known by name only, from the cluster store (setRemote).
import { readState, type StoreDirs } from '../state/store.js';
import { servesEmbeddedDns } from '../docker/embedded-dns.js';
import { overlayNetworkRecord } from '../docker/overlay-endpoint.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { hostResolvConf } from '../docker/host.js';
import type { ControlReply } from './control.js';
import type { NameIndexer } from './names.js';
import { parseResolvConf } from '../etc/resolv-conf.js';
import { sandboxUpstreams } from '../etc/sandbox-resolv-conf.js';

/** What reconciling acts on (server.ts): the attached sandboxes, and how to attach and detach. */
export interface Attacher {
  /** The ids of the sandboxes attached to now. */
  attachedIds(): Iterable<string>;
  /** Attached already: its record and upstreams are updated in place and true returned. */
  update(id: string, sb: SandboxRecord, upstreams: string[]): boolean;
  attach(sb: SandboxRecord, upstreams: string[]): Promise<void>;
  /** `keepRules`: leave the port-53 redirect (the sandbox is being removed: attach.ts detachSteps). */
  detach(id: string, keepRules: boolean): Promise<void>;
  readonly count: number;
  /** Listens on the gateways of `networks` that have host_dns (host-listen.ts), and nowhere else; returns what failed. */
  listenHost(networks: NetworkRecord[]): Promise<string[]>;
  /**
   * Relays the [::1] bindings of the sandboxes in `records` (undefined: gone; `all`: every
   * sandbox) as their records say (port-relay.ts); returns what failed, by sandbox id.
   */
  relay(records: ReadonlyMap<string, SandboxRecord | undefined>, all: boolean): Promise<Map<string, string>>;
}

export class Reconciler {
  /** Every sandbox the server knows of, by id (user networks or not: names.ts decides who sees whom). */
  private readonly known = new Map<string, SandboxRecord>();
  private networks: NetworkRecord[] = [];
  /** Overlay networks of the sandboxes here (they are in the cluster store, not networks.json), from their endpoints. */
  private readonly overlayNets = new Map<string, NetworkRecord>();
  /** Sandboxes on other hosts, for their names on the overlay networks they share with sandboxes here (setRemote). */
  private readonly remote = new Map<string, SandboxRecord>();
  private syncing: Promise<ControlReply> = Promise.resolve({ ok: true });

  constructor(private readonly dirs: StoreDirs, private readonly names: NameIndexer, private readonly attacher: Attacher,
    private readonly log: (line: string) => void) {}

  /**
   * Reads the state and attaches/detaches to match it. Calls are serialized.
   * `ids`: the sandboxes the caller changed; only their failures fail the call.
   * `gone`: the caller is removing them.
   */
  sync(ids?: string[], gone = false): Promise<ControlReply> {
    this.syncing = this.syncing.then(() => this.reconcile(ids, gone), () => this.reconcile(ids, gone));
    return this.syncing;
  }

  /**
   * Sandboxes on other hosts changed (the cluster store's watcher,
   * overlay-watch.ts): each id with its record (names only: never attached
   * to), or undefined when gone; `all`: these are all of them.
   */
  setRemote(changes: Map<string, SandboxRecord | undefined>, all = false): void {
    const apply = (): ControlReply => {
      const changed = new Set(changes.keys());
      const wasRemote = new Set(this.remote.keys());
      if (all) {
        for (const id of this.remote.keys()) if (!changes.has(id)) changed.add(id);
        this.remote.clear();
      }
      for (const id of changed) {
        const r = changes.get(id);
        if (r) {
          this.remote.set(id, r);
          this.known.set(id, r);
        } else if (wasRemote.has(id)) {
          this.remote.delete(id);
          this.known.delete(id);
        }
        // Else a sandbox of this host (the watcher saw its own endpoint come or go): its record is sync's business.
      }
      this.names.update(this.allNetworks(), this.known, changed);
      return { ok: true };
    };
    this.syncing = this.syncing.then(apply, apply);
  }

  /** This host's networks (networks.json) as last read. */
  get localNetworks(): readonly NetworkRecord[] {
    return this.networks;
  }

  private allNetworks(): NetworkRecord[] {
    return this.overlayNets.size ? [...this.networks, ...this.overlayNets.values()] : this.networks;
  }

  /**
   * Without ids (at start, or when asked): reads every sandbox and
   * reconciles all of them. With ids: reads only those sandboxes, so a
   * change costs the same with 10 sandboxes as with 1000.
   */
  private async reconcile(ids: string[] | undefined, gone: boolean): Promise<ControlReply> {
    // Reads only; no lock needed (state files are replaced atomically).
    const state = await readState<NetworkRecord, SandboxRecord>(this.dirs);
    const records = new Map<string, SandboxRecord | undefined>();
    // `gone`: the caller is removing these; their records may not be gone yet.
    if (ids) for (const id of ids) records.set(id, gone ? undefined : await state.sandboxes.byId(id));
    else for (const sb of await state.sandboxes.all()) records.set(sb.id, sb);
    // networks.json damaged: keep the networks known so far rather than drop the sandboxes of those that can't be read.
    if (state.networksDamaged) this.log(`sync: ${state.networksDamaged.message}`);
    const networks = state.networksDamaged && this.networks.length ? this.networks : state.networks;
    if (!ids) {
      this.known.clear();
      for (const [id, r] of this.remote) this.known.set(id, r);
    }
    for (const [id, sb] of records) {
      if (sb) this.known.set(id, sb);
      else this.known.delete(id);
      // Kept once seen (a network with no sandbox left here registers no names).
      for (const e of sb?.endpoints ?? []) if (e.overlay && !this.overlayNets.has(e.networkId)) this.overlayNets.set(e.networkId, overlayNetworkRecord(e.networkId, e.gateway, e.overlay));
    }
    this.networks = networks;
    const all = this.allNetworks();
    const userNets = new Set(all.filter(servesEmbeddedDns).map((n) => n.id));
    const wants = (sb: SandboxRecord | undefined): sb is SandboxRecord =>
      !!sb && (!!sb.netns || !!sb.netnsPath) && !sb.containerOf && sb.endpoints.some((e) => userNets.has(e.networkId));
    const consider = ids ?? [...new Set([...this.known.keys(), ...this.attacher.attachedIds()])];
    const hostConf = parseResolvConf(await hostResolvConf());
    const errors: string[] = [];
    // The names index follows from memory (no file is read for it), only what changed. Before the
    // attaches: a sandbox's first query (a restarted server's sockets answer at once) finds its names.
    this.names.update(all, this.known, ids);
    // Per network, not per sandbox: the host's listeners follow the networks. Their failures (the port
    // taken by another server) are the business of a caller that changed networks (ids absent or empty).
    const hostErrors = await this.attacher.listenHost(this.networks);
    for (const e of hostErrors) this.log(`sync: ${e}`);
    if (!ids?.length) errors.push(...hostErrors);
    // Published ports on [::1] follow the records read (any network: the default bridge's too).
    for (const [, e] of await this.attacher.relay(records, !ids)) {
      this.log(`sync: ${e}`);
      errors.push(e);
    }
    for (const id of consider) {
      const sb = this.known.get(id);
      if (!wants(sb)) {
        await this.attacher.detach(id, gone); // a sandbox being removed takes its rules with its namespace
        continue;
      }
      const upstreams = sandboxUpstreams({ host: hostConf, mode: 'user-network', dns: sb.dns });
      if (this.attacher.update(id, sb, upstreams)) continue;
      try {
        await this.attacher.attach(sb, upstreams);
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
    const attached = this.attacher.count;
    return errors.length ? { ok: false, error: errors.join('; '), attached } : { ok: true, attached };
  }
}
