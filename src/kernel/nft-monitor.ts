// nftables events: what `nft monitor` prints. The kernel multicasts every
// committed change (a table, chain, rule, set or element added or deleted,
// then 'newgen' closing the transaction) to the namespace's NFNLGRP_NFTABLES
// netlink group; nsnet listens there to notice, within milliseconds, that
// someone flushed the ruleset or deleted one of its tables.
//
//   ip netns exec NS nft monitor
//
// Events are per namespace: a watcher hears only the namespace it was opened
// in. A flush shows as 'deltable' (after the 'del*' of what the table held)
// for every table. If the kernel could not queue events fast enough they are
// lost, and the batch carries { type: 'overrun' }: then re-check everything.
// 'newgen' says who committed the change: comm ('nft', 'node') and the pid of
// the committing thread (for nsnet's own changes a throwaway thread that is
// gone by then, so not process.pid).
//
// Be aware: the watcher does not keep Node's event loop alive (ref() makes it
// do so); close it when done, as nothing else stops its reader thread. An
// exception thrown by onEvents is an uncaught exception, as in an event listener.
//
// Man pages: nft(8) (monitor), netlink(7).
import { native, type NativeNftEvent, type NativeNftMonitor } from '../native.js';
import { attempt } from './errors.js';
import type { Netns } from './netns.js';

export type NftEvent = NativeNftEvent;
export type NftMonitor = NativeNftMonitor;

/**
 * Watches nftables changes in `ns`: `onEvents` gets each batch (what the kernel
 * had queued at once) on the JS thread, until `close()`. Events committed after
 * the promise settles are never missed (the subscription is in place by then).
 * `rcvbuf` sizes the socket's receive buffer (default 4 MiB).
 * Equivalent to: `ip netns exec NS nft monitor`
 */
export function nftMonitor(ns: Netns, onEvents: (events: NftEvent[]) => void, o: { rcvbuf?: number; for?: string } = {}): Promise<NftMonitor> {
  return attempt(`watching nftables events in ${ns}`, `ip netns exec ${ns.name ?? '?'} nft monitor`,
    () => native().nftMonitor(ns.fd, onEvents, o.rcvbuf === undefined ? {} : { rcvbuf: o.rcvbuf }), o.for);
}
