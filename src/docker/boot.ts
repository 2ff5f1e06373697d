// Start of day: the first nsnet command after a reboot tidies what the reboot
// left behind. /run (nsnet's runDir, the sandbox records, /run/netns) is a
// tmpfs and comes back empty, but /etc/netns is on disk: each sandbox's
// /etc/netns/NAME (resolv.conf, hosts, hostname) would stay forever.
//
// "After a reboot" is told cheaply: <runDir>/boot holds the kernel's boot id
// (/proc/sys/kernel/random/boot_id, new at every boot). Every command reads
// both (two small reads, ~0.06 ms measured); only when they differ (the file is gone,
// or runDir is not a tmpfs and kept an old id) is there work to do.
//
// Only directories nsnet marked (files.ts sandboxEtcMark) are removed, and
// only when no sandbox record and no /run/netns/NAME namespace has that name,
// checked under the state lock so a sandbox being created meanwhile is safe.
//
//   ls /etc/netns/.nsnet          the marks: one empty file per directory nsnet made
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NETNS_RUN_DIR } from '../kernel/netns.js';
import { withLock } from '../state/lock.js';
import type { Context } from './context.js';
import { MARKS_DIR, removeSandboxFiles } from './files.js';

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Runs once per boot (at the first command): removes the /etc/netns
 * directories nsnet made for sandboxes that no longer exist. Returns their
 * names (empty on every other command).
 */
export async function startOfDay(ctx: Pick<Context, 'dirs' | 'etcNetns'>): Promise<string[]> {
  const marker = path.join(ctx.dirs.runDir, 'boot');
  const boot = read(BOOT_ID) ?? '';
  if (read(marker) === boot) return [];
  return withLock(path.join(ctx.dirs.runDir, 'lock'), async () => {
    if (read(marker) === boot) return []; // another command did it while we waited
    const removed = await removeStale(ctx);
    mkdirSync(ctx.dirs.runDir, { recursive: true });
    writeFileSync(marker, boot);
    return removed;
  });
}

/** The marked /etc/netns directories with neither a sandbox record nor a namespace: removed, with their marks. */
async function removeStale(ctx: Pick<Context, 'dirs' | 'etcNetns'>): Promise<string[]> {
  let marks: string[];
  try {
    marks = readdirSync(path.join(ctx.etcNetns, MARKS_DIR));
  } catch {
    return []; // no /etc/netns/.nsnet: nothing nsnet made
  }
  const removed: string[] = [];
  for (const name of marks) {
    // A sandbox's record (even a damaged one) or its namespace keeps its files.
    if (existsSync(path.join(ctx.dirs.runDir, 'sandboxes', `${name}.json`))) continue;
    if (existsSync(path.join(NETNS_RUN_DIR, name))) continue;
    await removeSandboxFiles(ctx.etcNetns, name);
    removed.push(name);
  }
  return removed;
}

