// The firewall watcher (the DNS server, a long-lived process, runs it):
//
// `nft flush ruleset` (firewall-cmd --reload, iptables-restore, a distribution's
// nftables service) deletes nsnet's tables along with everyone's. A long-lived
// nsnet process (the DNS server) listens to the kernel's nftables events (the
// NFNLGRP_NFTABLES netlink group, what `nft monitor` shows) and puts the tables
// back at once. Events arrive per transaction, ending with a NEWGEN:
// - a table of nsnet's deleted (or any event lost to an overrun): check, and
//   rebuild if the tables are not the ones nsnet built;
// - a rule, chain or set of nsnet's deleted while the table stays (`nft flush
//   table ip nsnet`, `nft delete rule ...`): nsnet never does that itself (it
//   only adds and deletes elements, or replaces whole tables), so rebuild.
//
//   nft monitor tables chains rules      what the watcher sees
import { nftMonitor, type NftEvent } from '../kernel/nft-monitor.js';
import { TABLE } from '../nft/table.js';
import type { Context } from './context.js';

export interface TablesWatch {
  close(): void;
}

const ours = (ev: NftEvent) => ev.table === TABLE && (ev.family === 'ip' || ev.family === 'ip6' || ev.family === 'bridge');

/**
 * Watches nftables events and restores nsnet's tables after a flush. `repair`
 * runs the check and rebuild under the state lock (the caller's usingState),
 * returning what it repaired; repairs never overlap, and a burst of events
 * costs one repair.
 */
export async function watchTables(ctx: Context, repair: (force: boolean) => Promise<string | undefined>, log: (line: string) => void): Promise<TablesWatch> {
  let pending: { force: boolean } | undefined;
  let running = false;
  let txn = { check: false, force: false };
  const kick = async () => {
    if (running || !pending) return;
    running = true;
    const { force } = pending;
    pending = undefined;
    try {
      const done = await repair(force);
      if (done) log(`firewall: ${done}`);
    } catch (e) {
      log(`firewall: repair failed: ${(e as Error).message}`);
    } finally {
      running = false;
      void kick();
    }
  };
  const want = (force: boolean) => {
    pending = { force: force || !!pending?.force };
    void kick();
  };
  const onEvents = (events: NftEvent[]) => {
    for (const ev of events) {
      if (ev.type === 'error') {
        // The reader thread stopped (its socket failed): check now, and listen again shortly.
        log('firewall: the nftables event watcher stopped; restarting it');
        want(false);
        setTimeout(() => void listen(), 1000).unref();
      } else if (ev.type === 'overrun') want(false);
      else if (ev.type === 'newgen') {
        if (txn.check || txn.force) want(txn.force && !txn.check);
        txn = { check: false, force: false };
      } else if (ours(ev)) {
        if (ev.type === 'deltable') txn.check = true;
        else if (ev.type === 'delrule' || ev.type === 'delchain' || ev.type === 'delset') txn.force = true;
      }
    }
  };
  let closed = false;
  let monitor: { close(): void } | undefined;
  const listen = async () => {
    if (closed) return;
    monitor?.close();
    monitor = await nftMonitor(ctx.host, onEvents).catch((e: Error) => {
      log(`firewall: cannot watch nftables events: ${e.message}`);
      return undefined;
    });
  };
  await listen();
  return {
    close() {
      closed = true;
      monitor?.close();
    },
  };
}
