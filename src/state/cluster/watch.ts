// Watching a prefix of the cluster store, by revision: every change after the
// revision a read was made at, in order, across reconnects.
//
// etcd numbers every change with the store's revision. A watch started at
// revision R+1 after a read at R sees exactly what the read could not; when the
// stream breaks (a member stopped, the network gone), it is opened again - on
// the next member - from the revision after the last one delivered, so nothing
// is lost or seen twice. Only when etcd has compacted those revisions away
// (the watch is cancelled with compact_revision) is the prefix read again:
// `onSnapshot` then gets the whole current set, as at the start.
import { ClusterStoreError, decodeKv, prefixEnd, b64, type EtcdGateway, type KeyValue } from './etcd-gateway.js';

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value ('' for a delete). */
  value: string;
  modRevision: string;
}

export interface PrefixWatchOptions {
  /** The whole set under the prefix and the revision it was read at: first, and again after a compaction. */
  onSnapshot(kvs: KeyValue[], revision: string): void;
  /** Changes after the snapshot, in revision order (one call per etcd watch response). */
  onEvents(events: WatchEvent[], revision: string): void;
  /** The stream broke or could not be opened again (it keeps retrying until close()). */
  onError?(e: Error): void;
  /** Wait before opening it again (default 500 ms). */
  retryMs?: number;
}

export interface PrefixWatch {
  /** The last revision delivered (snapshot or events). */
  readonly revision: string;
  close(): void;
}

interface WatchMessage {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: { type?: 'PUT' | 'DELETE'; kv?: Parameters<typeof decodeKv>[0] }[];
  };
  error?: { message?: string };
}

/** Decodes a watch response's events (pure). */
export function watchEvents(m: WatchMessage): WatchEvent[] {
  return (m.result?.events ?? []).map((e) => {
    const kv = decodeKv(e.kv ?? {});
    return { type: e.type === 'DELETE' ? 'delete' : 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision };
  });
}

/**
 * Reads every key under `prefix`, then follows its changes until close().
 * Resolves once the first snapshot was delivered and the watch is open.
 */
export async function watchPrefix(gw: EtcdGateway, prefix: string, o: PrefixWatchOptions): Promise<PrefixWatch> {
  let revision = '0';
  let closed = false;
  let stream: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = o.retryMs ?? 500;

  const snapshot = async () => {
    const r = await gw.range(prefix, { prefix: true });
    revision = r.revision;
    o.onSnapshot(r.kvs, r.revision);
  };

  const open = async (): Promise<void> => {
    const from = (BigInt(revision) + 1n).toString();
    const body = { create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: from } };
    let restart = false;
    stream = await gw.stream('watch', body, (raw) => {
      const m = raw as WatchMessage;
      if (m.error) return o.onError?.(new ClusterStoreError(gw.store, `watching ${prefix}*: ${m.error.message}`));
      const res = m.result;
      if (!res) return;
      if (res.canceled) {
        // Compacted past our revision: read it all again, then watch from there.
        restart = !!res.compact_revision;
        stream?.close();
        if (!closed) o.onError?.(new ClusterStoreError(gw.store, `watching ${prefix}*: cancelled (${res.cancel_reason || (res.compact_revision ? `compacted at ${res.compact_revision}` : 'by the server')})`));
        schedule(restart);
        return;
      }
      const events = watchEvents(m);
      if (!events.length) return;
      revision = events[events.length - 1]!.modRevision;
      o.onEvents(events, revision);
    }, (e) => {
      if (closed) return;
      o.onError?.(e ?? new Error('watch stream ended'));
      schedule(false);
    });
  };

  const schedule = (resnapshot: boolean) => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      (resnapshot ? snapshot().then(open) : open()).catch((e: Error) => {
        o.onError?.(e);
        schedule(resnapshot);
      });
    }, retryMs);
  };

  await snapshot();
  await open();
  return {
    get revision() {
      return revision;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stream?.close();
    },
  };
}
