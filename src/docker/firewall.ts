// Applying nsnet's nftables elements on the host, creating the table the
// first time it is needed (and again after a reboot or `nft flush ruleset`).
import { KernelError } from '../kernel/errors.js';
import { nftApply, nftList } from '../kernel/nftables.js';
import type { Netns } from '../kernel/netns.js';
import { withLock } from '../state/lock.js';
import { TABLE, skeleton } from '../nft/table.js';
import path from 'node:path';
import type { Context } from './context.js';

const missing = (e: unknown) => e instanceof KernelError && e.code === 'ENOENT';

async function tableExists(host: Netns): Promise<boolean> {
  try {
    await nftList(host, `table ip ${TABLE}`);
    await nftList(host, `table bridge ${TABLE}`);
    return true;
  } catch (e) {
    if (missing(e)) return false;
    throw e;
  }
}

/** Creates nsnet's tables if they are missing; serialized so two callers never write the rules twice. */
export async function ensureTables(ctx: Context): Promise<void> {
  await withLock(path.join(ctx.dirs.runDir, 'nft.lock'), async () => {
    if (await tableExists(ctx.host)) return;
    await nftApply(ctx.host, `add table ip ${TABLE}\ndelete table ip ${TABLE}\nadd table bridge ${TABLE}\ndelete table bridge ${TABLE}\n${skeleton()}`,
      { what: `creating nftables tables ip ${TABLE} and bridge ${TABLE}` });
  });
}

/** Adds elements (one transaction), creating the tables first if needed. */
export async function addElements(ctx: Context, text: string, what: string): Promise<void> {
  if (!text) return;
  try {
    await nftApply(ctx.host, text, { what });
  } catch (e) {
    if (!missing(e)) throw e;
    await ensureTables(ctx);
    await nftApply(ctx.host, text, { what });
  }
}

/** Deletes elements; ones already gone are fine (teardown after a crash, a flushed ruleset). */
export async function deleteElements(ctx: Context, text: string, what: string): Promise<void> {
  if (!text) return;
  try {
    await nftApply(ctx.host, text, { what });
  } catch (e) {
    if (!missing(e)) throw e;
    // One of them was missing, and the batch is all-or-nothing: retry one by one.
    for (const line of text.split('\n').filter(Boolean)) {
      await nftApply(ctx.host, line, { what }).catch((err: unknown) => {
        if (!missing(err)) throw err;
      });
    }
  }
}
