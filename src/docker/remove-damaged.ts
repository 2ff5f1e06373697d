// Removing a sandbox whose record is damaged or missing (`nsnet rm -f NAME`),
// by name, from what can still be found: what its text still says, its
// namespace and the kernel objects named after it. The rare path: it may
// read every record.
import { existsSync } from 'node:fs';
import { isNotFound } from '../kernel/errors.js';
import { linkDel, linkGet } from '../kernel/link.js';
import { NETNS_RUN_DIR, netnsDel } from '../kernel/netns.js';
import { portElements } from '../nft/table.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import type { Context } from './context.js';
import { removeSandboxFiles } from './files.js';
import { deleteElements } from './firewall.js';
import { processAlive } from './proc.js';
import { addressesInUse, bitmapSubnets, damagedHoldings } from './repair.js';
import type { State } from './types.js';

/**
 * Removes a sandbox whose record is damaged or missing, by name, from what
 * can still be found: its process (if the text still names it), its port
 * claims and their DNAT elements, its host veths, its namespace, its
 * /etc/netns dir, its id index entry; then the bitmaps of the networks it
 * may have been on are rebuilt from the records left. Returns its id, if known.
 */
export async function removeDamaged(ctx: Context, s: State, d: DamagedRecord): Promise<string | undefined> {
  const h = await damagedHoldings(d);
  // A record too damaged to say its id: the id index still does (one read per sandbox: the rare path).
  h.id ??= (await s.sandboxes.idsNaming(d.name))[0];
  if (h.sal.pid && h.sal.pidStart && processAlive(h.sal.pid, h.sal.pidStart)) {
    try {
      process.kill(h.sal.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (h.id && ctx.dns?.release) await ctx.dns.release([h.id]).catch(() => {});
  if (h.id) {
    for (const [proto, port] of s.ports.list()) {
      const mine = (await s.ports.get(proto, port)).filter((c) => c.sandboxId === h.id);
      if (!mine.length) continue;
      await deleteElements(ctx, portElements('delete', mine.map((c) => ({ proto, hostIp: c.hostIp, hostPort: port, ip: '', port: 0 }))), `unpublishing ports of sandbox ${d.name}`);
      await s.ports.release(h.id, [{ proto, hostPort: port }]);
    }
  }
  for (const e of h.sal.endpoints) {
    if (!e.hostVeth) continue;
    try {
      await linkDel(ctx.host, await linkGet(ctx.host, e.hostVeth));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  if (existsSync(`${NETNS_RUN_DIR}/${d.name}`)) {
    await netnsDel(d.name, { for: `sandbox ${d.name}` }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
  await removeSandboxFiles(ctx.etcNetns, d.name);
  s.sandboxes.deleteDamaged(d.name, h.id);
  // Its addresses go back: the bitmaps that may have held one are rebuilt without it (all of them if nothing is known).
  for (const [id, sub] of bitmapSubnets(ctx, s)) {
    const mayHold = h.networkIds.has(id) || h.addresses.some((n) => n >= sub.base && n < sub.base + sub.size) || (!h.networkIds.size && !h.addresses.length);
    if (mayHold) s.addresses.replace(id, sub.base, sub.size, await addressesInUse(s, id, sub.base, sub.size));
  }
  return h.id;
}
