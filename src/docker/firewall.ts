// Applying nsnet's nftables elements on the host, creating the table the
// first time it is needed (and again after a reboot or `nft flush ruleset`).
import { KernelError } from '../kernel/errors.js';
import { nftApply, nftList } from '../kernel/nftables.js';
import type { Netns } from '../kernel/netns.js';
import { withLock } from '../state/lock.js';
import { TABLE, skeleton } from '../nft/table.js';
import path from 'node:path';
import type { Context } from './context.js';
import type { Step } from './plan.js';

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

/** The step that creates nsnet's tables, shown in a plan (--dry-run) when they don't exist yet. */
export async function tablesStep(ctx: Context): Promise<Step | undefined> {
  if (await tableExists(ctx.host)) return undefined;
  return {
    title: `creating nftables tables ip ${TABLE} and bridge ${TABLE} (first network on this host)`,
    equivalent: [`nft -f - <<'EOF'\n${skeleton()}EOF`],
    do: () => ensureTables(ctx),
  };
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

// ---- Living next to Docker ---------------------------------------------------
//
// Docker sets the policy of iptables' FORWARD chain (table ip filter, with the
// nf_tables backend) to drop. Every base chain on a hook must accept a packet
// for it to pass, so nsnet's accept in its own table is not enough: its
// networks' traffic would be dropped there. Docker reserves the DOCKER-USER
// chain, jumped to first from FORWARD, for rules like ours; nsnet puts one
// accept for traffic from and one for traffic to each of its bridges there
// (two rules per network, never per sandbox), marked with the comment
// "nsnet", and removes exactly those when the network goes.
//
//   nft list chain ip filter DOCKER-USER
const DOCKER_USER = 'chain ip filter DOCKER-USER';
const MARK = 'comment "nsnet"';

async function dockerUserExists(host: Netns): Promise<boolean> {
  try {
    await nftList(host, DOCKER_USER);
    return true;
  } catch (e) {
    if (missing(e)) return false;
    throw e;
  }
}

/** Lets a bridge's traffic through Docker's FORWARD policy, when Docker is there. */
export async function dockerForwardAccept(ctx: Context, bridge: string): Promise<boolean> {
  if (!(await dockerUserExists(ctx.host))) return false;
  const q = JSON.stringify(bridge);
  await nftApply(ctx.host, [
    `insert rule ip filter DOCKER-USER oifname ${q} accept ${MARK}`,
    `insert rule ip filter DOCKER-USER iifname ${q} accept ${MARK}`,
  ].join('\n'), { what: `letting ${bridge} through Docker's FORWARD chain (DOCKER-USER)` });
  return true;
}

/** Removes the DOCKER-USER rules of a bridge (found by bridge name and nsnet's comment). */
export async function dockerForwardRemove(ctx: Context, bridge: string): Promise<void> {
  if (!(await dockerUserExists(ctx.host))) return;
  const withHandles = await nftList(ctx.host, DOCKER_USER, { handles: true });
  const q = JSON.stringify(bridge);
  const handles = withHandles.split('\n')
    .filter((l) => l.includes(`ifname ${q} accept ${MARK}`))
    .map((l) => /# handle (\d+)/.exec(l)?.[1])
    .filter((h): h is string => !!h);
  if (handles.length) {
    await nftApply(ctx.host, handles.map((h) => `delete rule ip filter DOCKER-USER handle ${h}`).join('\n'),
      { what: `removing ${bridge} from DOCKER-USER` });
  }
}
