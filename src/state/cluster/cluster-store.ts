// The cluster store's operations for overlay networks: what the overlay driver
// calls. Each is a read and one etcd transaction built from keys.ts; the
// decisions (next VNI, lowest free address) are the pure functions there.
//
// Opened only when a cluster store is configured (src/cli loads this module
// on demand): single-host use never loads it.
import { randomBytes } from 'node:crypto';
import { ClusterStoreError, EtcdGateway, txnOps, type GatewayOptions, type KeyValue } from './etcd-gateway.js';
import { joinCluster, keepHostLease, HOST_LEASE_TTL, type LeaseKeeper } from './host-lease.js';
import {
  encodeClaim, encodePodCidr, endpointKeyParts, keys, lastSegment, nextAddress, nextPodCidr, nextVni, parseAddressClaim, parseEndpoint, parseNetwork,
  parsePodCidr, planOverlayPool,
  type AddressClaim, type HostRecord, type OverlayEndpoint, type OverlayNetwork, type PodCidrLease,
} from './keys.js';
import { parseStoreUrl } from './store-url.js';
import { watchPrefix, type PrefixWatch, type WatchEvent } from './watch.js';

export interface CreateOverlay {
  name: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  /** Default: 64 random hex digits, as Docker's ids. */
  id?: string;
}

export interface EndpointWatch {
  /** Every endpoint of the network now (first, and again if the watch had to re-read after a compaction). */
  onSnapshot(endpoints: OverlayEndpoint[]): void;
  /** An endpoint written (new or changed). */
  onPut(ep: OverlayEndpoint): void;
  /** An endpoint removed (rm, or its host's lease expired): the sandbox id. */
  onDelete(sandbox: string): void;
  onError?(e: Error): void;
}

/** What a watch of every network's endpoints hears (ClusterStore.watchAllEndpoints). */
export interface AllEndpointsWatch {
  /** Every endpoint of every network now (first, and again after a compaction). */
  onSnapshot(endpoints: OverlayEndpoint[]): void;
  onPut(ep: OverlayEndpoint): void;
  onDelete(network: string, sandbox: string): void;
  onError?(e: Error): void;
}

const TXN_ATTEMPTS = 64;

export class ClusterStore {
  readonly gw: EtcdGateway;

  constructor(url: string, o: GatewayOptions = {}) {
    this.gw = new EtcdGateway(parseStoreUrl(url), o);
  }

  /** The store as configured (`etcd://h1:2379,...`): errors name it. */
  get url(): string {
    return this.gw.store;
  }

  close(): void {
    this.gw.close();
  }

  // ---- networks ---------------------------------------------------------------

  async listNetworks(): Promise<OverlayNetwork[]> {
    return (await this.gw.range(keys.networks, { prefix: true })).kvs.map((kv) => parseNetwork(kv.key, kv.value));
  }

  /** By exact id, exact name, or unique id prefix (as Docker looks networks up). */
  async findNetwork(ref: string): Promise<OverlayNetwork | undefined> {
    const nets = await this.listNetworks();
    const exact = nets.find((n) => n.id === ref) ?? nets.find((n) => n.name === ref);
    if (exact) return exact;
    const byPrefix = nets.filter((n) => n.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  /**
   * Creates an overlay network every host sees: its record, its name, its
   * subnet and a VNI of its own, all in one transaction. A name already taken
   * fails (Docker's message); a VNI or subnet taken meanwhile by another host
   * is chosen again.
   */
  async createNetwork(o: CreateOverlay): Promise<OverlayNetwork> {
    const id = o.id ?? randomBytes(32).toString('hex');
    for (let attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
      const [nets, vnis] = await Promise.all([this.listNetworks(), this.gw.range(keys.vnis, { prefix: true, keysOnly: true })]);
      if (nets.some((n) => n.name === o.name)) throw nameTaken(o.name);
      const pool = planOverlayPool({ ...(o.subnet !== undefined && { subnet: o.subnet }), ...(o.gateway !== undefined && { gateway: o.gateway }) }, nets);
      const net: OverlayNetwork = {
        id, name: o.name, driver: 'overlay', subnet: pool.subnet, gateway: pool.gateway,
        vni: nextVni(vnis.kvs.map((kv) => Number(lastSegment(kv.key)))),
        internal: o.internal === true, labels: o.labels ?? {}, created: new Date().toISOString(),
      };
      const claims = [keys.network(id), keys.networkName(net.name), keys.vni(net.vni), keys.subnet(net.subnet)];
      const r = await this.gw.txn(
        claims.map(txnOps.absent),
        [txnOps.put(claims[0]!, JSON.stringify(net)), ...claims.slice(1).map((k) => txnOps.put(k, id))],
        [txnOps.range(claims[1]!)],
        `creating overlay network ${o.name}`,
      );
      if (r.succeeded) return net;
      const byName = r.ranges[0]?.[0];
      if (byName && byName.value !== id) throw nameTaken(o.name);
      if (byName) return parseNetwork(claims[0]!, (await this.gw.get(claims[0]!))!.value); // our own earlier attempt landed
      // Lost a VNI or subnet race: read again and choose again.
    }
    throw new ClusterStoreError(this.url, `creating overlay network ${o.name}: gave up after ${TXN_ATTEMPTS} attempts (VNIs and subnets keep being taken)`);
  }

  /** Removes a network and its name, VNI and subnet claims; refused while any endpoint is on it. */
  async removeNetwork(net: OverlayNetwork): Promise<void> {
    const eps = await this.gw.range(keys.endpoints(net.id), { prefix: true, keysOnly: true });
    if (eps.kvs.length) throw inUse(`error while removing network: network ${net.name} id ${net.id} has active endpoints (${eps.kvs.map((kv) => lastSegment(kv.key)).join(', ')})`);
    await this.gw.txn(
      [],
      [...[keys.network(net.id), keys.networkName(net.name), keys.vni(net.vni), keys.subnet(net.subnet)].map(txnOps.del), txnOps.delPrefix(keys.addresses(net.id))],
      [],
      `removing overlay network ${net.name}`,
    );
  }

  // ---- addresses --------------------------------------------------------------

  /**
   * Hands out an address of `net`: the lowest free one (or `ip`, when asked
   * for), claimed by a transaction that fails if any host claimed it first;
   * on a lost race, the next lowest. `lease`: the claim goes with that etcd
   * lease (a host's), else it stays until released.
   */
  async claimAddress(net: OverlayNetwork, o: { host: string; sandbox?: string; ip?: string; lease?: string }): Promise<string> {
    const owner = randomBytes(8).toString('hex');
    const prefix = keys.addresses(net.id);
    let claimed: KeyValue[] = (await this.gw.range(prefix, { prefix: true, keysOnly: true })).kvs;
    for (let attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
      const ip = o.ip ?? nextAddress(net, claimed.map((kv) => lastSegment(kv.key)));
      const key = keys.address(net.id, ip);
      const claim: AddressClaim = { ip, owner, host: o.host, ...(o.sandbox && { sandbox: o.sandbox }) };
      // Lost: the claims as they are now (keys only) and who holds this one, in the same round trip.
      const r = await this.gw.txn(
        [txnOps.absent(key)],
        [txnOps.put(key, encodeClaim(claim), o.lease)],
        [txnOps.range(prefix, { prefix: true, keysOnly: true }), txnOps.range(key)],
        `claiming an address of overlay network ${net.name}`,
      );
      if (r.succeeded) return ip;
      claimed = r.ranges[0] ?? [];
      const mine = r.ranges[1]?.[0];
      if (mine && parseAddressClaim(key, mine.value).owner === owner) return ip; // a repeated transaction: ours landed
      if (o.ip) throw inUse(`overlay network ${net.name}: address ${ip} is already in use`);
    }
    throw new ClusterStoreError(this.url, `claiming an address of overlay network ${net.name}: gave up after ${TXN_ATTEMPTS} lost races`);
  }

  async releaseAddress(net: Pick<OverlayNetwork, 'id'>, ip: string): Promise<void> {
    await this.gw.delete(keys.address(net.id, ip));
  }

  async listAddresses(net: Pick<OverlayNetwork, 'id'>): Promise<AddressClaim[]> {
    return (await this.gw.range(keys.addresses(net.id), { prefix: true })).kvs.map((kv) => parseAddressClaim(kv.key, kv.value));
  }

  // ---- hosts and endpoints ----------------------------------------------------

  /** This host's record and live lease (joinCluster); `keep` renews it from a long-lived process. */
  join(host: { id: string; address: string }, ttl = HOST_LEASE_TTL): Promise<HostRecord> {
    return joinCluster(this.gw, host, ttl);
  }

  keep(rec: HostRecord, ttl: number, o: { onExpired(): void; onError?(e: Error): void }): LeaseKeeper {
    return keepHostLease(this.gw, rec, ttl, o);
  }

  /** Publishes an endpoint under its host's lease (it goes when the lease does). */
  async putEndpoint(ep: OverlayEndpoint, lease: string): Promise<void> {
    await this.gw.put(keys.endpoint(ep.network, ep.sandbox), JSON.stringify(ep), lease);
  }

  async removeEndpoint(network: string, sandbox: string): Promise<void> {
    await this.gw.delete(keys.endpoint(network, sandbox));
  }

  async listEndpoints(network: string): Promise<OverlayEndpoint[]> {
    return (await this.gw.range(keys.endpoints(network), { prefix: true })).kvs.map((kv) => parseEndpoint(kv.key, kv.value));
  }

  /** Follows a network's endpoints: the set now, then each change (resuming by revision after a reconnect). */
  watchEndpoints(network: string, w: EndpointWatch): Promise<PrefixWatch> {
    const decode = (kvs: { key: string; value: string }[]) => kvs.map((kv) => parseEndpoint(kv.key, kv.value));
    return watchPrefix(this.gw, keys.endpoints(network), {
      onSnapshot: (kvs) => w.onSnapshot(decode(kvs)),
      onEvents: (events: WatchEvent[]) => {
        for (const e of events) {
          if (e.type === 'delete') w.onDelete(lastSegment(e.key));
          else w.onPut(parseEndpoint(e.key, e.value));
        }
      },
      ...(w.onError && { onError: w.onError }),
    });
  }

  /** Follows every network's endpoints (a host's watcher: one stream, whatever the number of networks). */
  watchAllEndpoints(w: AllEndpointsWatch): Promise<PrefixWatch> {
    const decode = (kvs: { key: string; value: string }[]) => kvs.map((kv) => parseEndpoint(kv.key, kv.value));
    return watchPrefix(this.gw, keys.allEndpoints, {
      onSnapshot: (kvs) => w.onSnapshot(decode(kvs)),
      onEvents: (events: WatchEvent[]) => {
        for (const e of events) {
          if (e.type === 'delete') {
            const k = endpointKeyParts(e.key);
            w.onDelete(k.network, k.sandbox);
          } else w.onPut(parseEndpoint(e.key, e.value));
        }
      },
      ...(w.onError && { onError: w.onError }),
    });
  }
}

export interface PodCidrWatch {
  /** Every lease of the cluster range now (first, and again after a compaction). */
  onSnapshot(leases: PodCidrLease[]): void;
  onPut(lease: PodCidrLease): void;
  /** A lease gone (its host's etcd lease expired, or it was given up): the node's CIDR. */
  onDelete(cidr: string): void;
  onError?(e: Error): void;
}

/**
 * A CNI node's pod CIDR (docs/cni.md, "Pod CIDRs from etcd"), flannel's
 * subnet lease: podcidrs/<cluster>/<cidr> = {host, hostAddress}, under the
 * host's etcd lease. Its own methods, not ClusterStore's: single-host CNI and
 * overlay networks never need them.
 */
export class PodCidrs {
  constructor(private readonly store: ClusterStore) {}

  async list(cluster: string): Promise<PodCidrLease[]> {
    return (await this.store.gw.range(keys.podCidrs(cluster), { prefix: true })).kvs.map((kv) => parsePodCidr(kv.key, kv.value));
  }

  /**
   * This host's CIDR of `cluster`: the one it holds already (looked up by its
   * host id: a restarted node keeps its CIDR), else the lowest free block,
   * taken by a transaction that fails if another node took it first (then the
   * next one, after reading again). Written under `lease`, with `hostAddress`.
   */
  async lease(cluster: string, o: { host: string; hostAddress: string; lease: string; prefixLen: number }): Promise<PodCidrLease> {
    const prefix = keys.podCidrs(cluster);
    let kvs = (await this.store.gw.range(prefix, { prefix: true })).kvs;
    for (let attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
      const leases = kvs.map((kv) => parsePodCidr(kv.key, kv.value));
      const mine = leases.find((l) => l.host === o.host);
      const cidr = mine?.cidr ?? nextPodCidr(cluster, o.prefixLen, leases.map((l) => l.cidr));
      const want: PodCidrLease = { cidr, host: o.host, hostAddress: o.hostAddress };
      const key = keys.podCidr(cluster, cidr);
      const kv = kvs.find((k) => k.key === key);
      // Ours already: written again only when the node's address or the lease changed.
      if (mine && kv && mine.hostAddress === o.hostAddress && kv.lease === o.lease) return mine;
      const r = await this.store.gw.txn(
        [mine && kv ? txnOps.modIs(key, kv.modRevision) : txnOps.absent(key)],
        [txnOps.put(key, encodePodCidr(want), o.lease)],
        [txnOps.range(prefix, { prefix: true })],
        `leasing a pod CIDR of ${cluster} for host ${o.host}`,
      );
      if (r.succeeded) return want;
      kvs = r.ranges[0] ?? [];
    }
    throw new ClusterStoreError(this.store.url, `leasing a pod CIDR of ${cluster}: gave up after ${TXN_ATTEMPTS} lost races`);
  }

  /**
   * Holds `cidr` for this host again (at start, and after its etcd lease
   * expired and was granted anew): written under `lease` if no other host
   * has it. Returns the other host's lease when one does (the CIDR was
   * reclaimed while this host was cut off longer than the lease's TTL).
   */
  async reassert(cluster: string, cidr: string, o: { host: string; hostAddress: string; lease: string }): Promise<PodCidrLease | undefined> {
    const key = keys.podCidr(cluster, cidr);
    for (let attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
      const kv = await this.store.gw.get(key);
      if (kv) {
        const held = parsePodCidr(key, kv.value);
        if (held.host !== o.host) return held;
        if (held.hostAddress === o.hostAddress && kv.lease === o.lease) return undefined;
      }
      const want = encodePodCidr({ cidr, host: o.host, hostAddress: o.hostAddress });
      const r = await this.store.gw.txn([kv ? txnOps.modIs(key, kv.modRevision) : txnOps.absent(key)], [txnOps.put(key, want, o.lease)], [], `holding pod CIDR ${cidr} for host ${o.host}`);
      if (r.succeeded) return undefined;
    }
    throw new ClusterStoreError(this.store.url, `holding pod CIDR ${cidr}: ${key} keeps changing`);
  }

  /** Follows the cluster range's leases: the set now, then each change. */
  watch(cluster: string, w: PodCidrWatch): Promise<PrefixWatch> {
    return watchPrefix(this.store.gw, keys.podCidrs(cluster), {
      onSnapshot: (kvs) => w.onSnapshot(kvs.map((kv) => parsePodCidr(kv.key, kv.value))),
      onEvents: (events: WatchEvent[]) => {
        for (const e of events) {
          if (e.type === 'delete') w.onDelete(lastSegment(e.key).replace('_', '/'));
          else w.onPut(parsePodCidr(e.key, e.value));
        }
      },
      ...(w.onError && { onError: w.onError }),
    });
  }
}

/** A conflict with what the store holds (not a failure of the store): `conflict` marks it for the Docker layer. */
function inUse(message: string): Error {
  return Object.assign(new Error(message), { conflict: true });
}

function nameTaken(name: string): Error {
  return inUse(`network with name ${name} already exists`);
}
