// Removing a sandbox whose record is damaged or missing (`nsnet rm -f NAME`),
// by name, from what can still be found: what its text still says, its
// namespace and the kernel objects named after it. The rare path: it may
// read every record. What it removes is the undos of the steps that would
// have made those objects (the same builders a create uses), so
// `rm -f --dry-run` prints them.
import { existsSync } from 'node:fs';
import { linkDel, linkDelCommand, linkGet } from '../kernel/link.js';
import { NETNS_RUN_DIR } from '../kernel/netns.js';
import { window6 } from '../net/ip6.js';
import type { PortClaim } from '../state/port-claims.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import type { Context } from './context.js';
import { dnsStep } from './embedded-dns.js';
import { filesStep } from './files.js';
import { namespaceStep, SandboxNs } from './namespace.js';
import { removalOf, runRemoval, type Action } from './plan.js';
import { killAction, processAlive } from './proc.js';
import { portsStep } from './publish.js';
import { addresses6InUse, addressesInUse, bitmapSubnets, damagedHoldings } from './repair.js';
import type { SandboxRecord, State } from './types.js';

/** Deleting a host-side veth left by a sandbox whose namespace is gone or unknown. */
function hostVethDel(ctx: Context, name: string): Action {
  return {
    title: `deleting veth ${name}`,
    equivalent: [linkDelCommand(ctx.host.name, name)],
    do: async () => linkDel(ctx.host, await linkGet(ctx.host, name)),
  };
}

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
  const claims: PortClaim[] = [];
  if (h.id) {
    for (const [proto, port] of s.ports.list()) claims.push(...(await s.ports.get(proto, port)).filter((c) => c.sandboxId === h.id));
  }
  // What is known of it, as a record, for the same steps that make a sandbox; their undos remove it.
  // Whether its ports had IPv6 DNATs is not known: delete those too (a delete needs only the key, and one
  // that is not there is skipped), or an ip6 DNAT would outlive it and reach the next sandbox given its address.
  const known = { id: h.id ?? '', name: d.name, joinedBy: [], ports: claims.map((c) => ({ ...c, ip: '', ip6: '::', containerPort: 0 })) } as unknown as SandboxRecord;
  const ns = new SandboxNs(d.name);
  const alive = !!(h.sal.pid && h.sal.pidStart && processAlive(h.sal.pid, h.sal.pidStart));
  // In the order a removal goes: its process, its ports, its veths, then the undos of the
  // steps a create would have run for its DNS names, files and namespace.
  await runRemoval([
    ...(alive ? [killAction(d.name, () => h.sal.pid)] : []),
    ...(claims.length ? removalOf([portsStep(ctx, known)]) : []),
    ...h.sal.endpoints.flatMap((e) => (e.hostVeth ? [hostVethDel(ctx, e.hostVeth)] : [])).reverse(),
    ...removalOf([
      ...(existsSync(`${NETNS_RUN_DIR}/${d.name}`) ? [namespaceStep(ns, `sandbox ${d.name}`)] : []),
      filesStep(ctx, d.name, undefined),
      ...(h.id && ctx.dns?.release ? [dnsStep(ctx, known, ns)] : []),
    ]),
  ], ctx);
  for (const c of claims) await s.ports.release(h.id!, [{ proto: c.proto, hostPort: c.hostPort }]);
  s.sandboxes.deleteDamaged(d.name, h.id);
  // Its addresses go back: the bitmaps that may have held one are rebuilt without it (all of them if nothing is known).
  for (const [id, sub] of bitmapSubnets(ctx, s)) {
    const mayHold = h.networkIds.has(id) || h.addresses.some((n) => n >= sub.base && n < sub.base + sub.size) || (!h.networkIds.size && !h.addresses.length);
    if (mayHold) s.addresses.replace(id, sub.base, sub.size, await addressesInUse(s, id, sub.base, sub.size));
  }
  // The IPv6 bitmaps likewise (by the network ids it names, or every one if it names none).
  for (const id of s.addresses6.ids()) {
    const net = (s.networksDamaged ? s.salvaged : s.networks).find((n) => n.id === id);
    if (net?.subnet6 && (h.networkIds.has(id) || !h.networkIds.size)) s.addresses6.replace(id, 0, window6(net.subnet6), await addresses6InUse(s, id));
  }
  return h.id;
}
