// The Docker layer's door to the cluster store: opened on first use from the
// context's setting, once per context, closed with it. The store's code
// (src/state/cluster) is imported here only, and only when a command needs
// it, so single-host commands never load it.
import type { ClusterStore } from '../state/cluster/cluster-store.js';
import type { Context } from './context.js';
import { NsnetError } from './errors.js';

const open = new WeakMap<Context, ClusterStore>();

/** Said when an overlay operation runs without a store. */
export const NO_CLUSTER_STORE =
  'overlay networks need a cluster store: --cluster-store etcd://HOST:2379[,HOST:2379...], NSNET_CLUSTER_STORE, or "cluster-store" in /etc/nsnet/daemon.json';

/** The context's cluster store, opened (not contacted: the first call is). Throws when none is configured or its URL is bad. */
export async function clusterStore(ctx: Context): Promise<ClusterStore> {
  const have = open.get(ctx);
  if (have) return have;
  if (!ctx.clusterStore) throw new NsnetError('Unavailable', NO_CLUSTER_STORE);
  const { ClusterStore } = await import('../state/cluster/cluster-store.js');
  let store: ClusterStore;
  try {
    store = new ClusterStore(ctx.clusterStore.url);
  } catch (e) {
    throw new NsnetError('InvalidArgument', `${(e as Error).message} (from ${ctx.clusterStore.from})`, { cause: e });
  }
  open.set(ctx, store);
  return store;
}

/** Closes the context's store if it was opened (its kept-alive connections). */
export function closeClusterStore(ctx: Context): void {
  open.get(ctx)?.close();
  open.delete(ctx);
}
