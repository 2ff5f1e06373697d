// A host's membership of the cluster: an etcd lease, renewed while the host
// lives, that its endpoint records hang on. A host that stops renewing (it
// crashed, lost the network) loses the lease after its TTL, etcd deletes its
// keys, and every other host sees the deletes through its watch (watch.ts) and
// drops the host's forwarding entries.
//
// Short-lived commands share the lease: hosts/<id> names it, so `nsnet run`
// finds it there rather than granting one per command; a long-lived process
// on the host (keepHostLease) renews it.
import { ClusterStoreError, txnOps, type EtcdGateway } from './etcd-gateway.js';
import { keys, parseHost, type HostRecord } from './keys.js';

/** Default lease TTL, seconds: a dead host's endpoints go within this (Docker's overlay used its serf/gossip timeouts, ~30 s). */
export const HOST_LEASE_TTL = 30;

/**
 * The host's live lease: the one hosts/<id> names if it is still alive (and
 * the host's address unchanged), else a new one, recorded there. Returns the
 * host record.
 */
export async function joinCluster(gw: EtcdGateway, host: { id: string; address: string }, ttl = HOST_LEASE_TTL): Promise<HostRecord> {
  const key = keys.host(host.id);
  for (let attempt = 0; attempt < 5; attempt++) {
    const kv = await gw.get(key);
    if (kv) {
      const rec = parseHost(key, kv.value);
      if (rec.address === host.address && (await gw.leaseKeepAlive(rec.lease)) > 0) return rec;
    }
    const lease = await gw.leaseGrant(ttl);
    const rec: HostRecord = { id: host.id, address: host.address, lease: lease.id };
    // Only over what was read: of two commands joining at once, one lease wins and the other uses it.
    const compare = kv ? [txnOps.modIs(key, kv.modRevision)] : [txnOps.absent(key)];
    const r = await gw.txn(compare, [txnOps.put(key, JSON.stringify(rec), lease.id)], [], `joining host ${host.id} to the cluster`);
    if (r.succeeded) return rec;
    await gw.leaseRevoke(lease.id);
  }
  throw new ClusterStoreError(gw.store, `joining host ${host.id}: hosts/${host.id} keeps changing`);
}

export interface LeaseKeeper {
  stop(): void;
}

/**
 * Renews `lease` every third of its TTL until stop(). When it is found
 * expired (the host was cut off longer than the TTL), `onExpired` runs: the
 * caller joins again and writes its endpoints back.
 */
export function keepHostLease(gw: EtcdGateway, rec: HostRecord, ttl: number, o: { onExpired(): void; onError?(e: Error): void }): LeaseKeeper {
  let stopped = false;
  const tick = async () => {
    try {
      const left = await gw.leaseKeepAlive(rec.lease);
      if (left <= 0 && !stopped) {
        stopped = true;
        clearInterval(timer);
        o.onExpired();
      }
    } catch (e) {
      o.onError?.(e as Error);
    }
  };
  const timer = setInterval(() => void tick(), Math.max(200, (ttl * 1000) / 3));
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
