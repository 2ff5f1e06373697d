// `nsnet system reconcile`: nsnet's state is the truth, the kernel and the
// indexes are derived from it. This checks each derived thing and rebuilds
// what is missing or off, reporting every repair; the same checks run on
// their own where they are cheap (the firewall check in every command, the
// DNS server's watcher), this is the thorough one, on demand.
//
//   nsnet system reconcile --dry-run      what it would do, as ip/nft commands
import { nftList } from '../kernel/nftables.js';
import { TABLE } from '../nft/table.js';
import { checkTables } from './firewall.js';
import type { Context } from './context.js';
import { usingState } from './networks.js';
import { readableNetworks } from './repair.js';
import { reconcileState, type ReconcileReport } from './reconcile-state.js';

export type { ReconcileReport };

/**
 * Rebuilds nsnet's nftables tables from the state, always: an element deleted
 * by hand doesn't show in the cheap check, and the rebuild is one atomic
 * transaction. What changed is told by comparing the tables' contents before
 * and after (as JSON, without handles, set elements sorted).
 */
export function reconcileTables(ctx: Context): Promise<string | undefined> {
  return usingState(ctx, async (s) => {
    const before = ctx.dryRun ? '' : await tablesContent(ctx);
    const done = await checkTables(ctx, readableNetworks(ctx, s), () => s.sandboxes.all(), 'on request');
    if (ctx.dryRun || !done) return undefined;
    const after = await tablesContent(ctx);
    if (before === after) return undefined;
    return done.replace('(on request)', before ? '(their contents differed from the state)' : '(they were missing)');
  }, { checkTables: false });
}

/** nsnet's tables, normalized for comparison; '' if missing. */
async function tablesContent(ctx: Context): Promise<string> {
  const parts: string[] = [];
  for (const family of ['ip', 'ip6', 'bridge']) {
    try {
      const j = JSON.parse(await nftList(ctx.host, `table ${family} ${TABLE}`, { json: true })) as { nftables: Record<string, Record<string, unknown>>[] };
      for (const item of j.nftables) {
        const [kind, body] = Object.entries(item)[0]!;
        if (kind === 'metainfo') continue;
        const { handle: _h, elem, ...rest } = body;
        const elems = Array.isArray(elem) ? elem.map((e) => JSON.stringify(e)).sort() : [];
        parts.push(JSON.stringify({ kind, rest, elems }));
      }
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }
  return parts.join('\n');
}

/**
 * The state first (records are the truth: networks.json, address maps and
 * port claims are rebuilt from them and the kernel, damaged files kept
 * aside), then the firewall from the repaired state.
 */
export async function systemReconcile(ctx: Context): Promise<ReconcileReport> {
  const report = await reconcileState(ctx, { dryRun: !!ctx.dryRun });
  if (ctx.dryRun) for (const line of report.repaired) await ctx.observe?.({ title: line, equivalent: [], do: async () => {} });
  const tables = await reconcileTables(ctx);
  if (tables) report.repaired.push(tables);
  return report;
}

/**
 * The DNS server's watcher's repair (firewall.ts watchTables): the cheap
 * check, or with `force` a rebuild (rules of nsnet's were deleted from a
 * table that stayed). Over a damaged networks.json only missing tables are
 * rebuilt (from the networks still readable): a forced rebuild would drop
 * the elements of the networks it cannot read, opening them.
 */
export function repairTables(ctx: Context, force: boolean): Promise<string | undefined> {
  return usingState(ctx, (s) => {
    const why = force && !s.networksDamaged ? 'rules, chains or sets of nsnet were deleted' : undefined;
    return checkTables(ctx, readableNetworks(ctx, s), () => s.sandboxes.all(), why);
  }, { checkTables: false });
}
