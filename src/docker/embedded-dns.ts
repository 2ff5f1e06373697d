// The embedded DNS server's part in a sandbox's plan: the server (its own
// process, `nsnet dns`) binds 127.0.0.11 in the sandbox's namespace and DNATs
// port 53 there (src/dns); the plan's step asks it to, over its control socket,
// and its undo asks it to let go.
import type { Context } from './context.js';
import { isGwbridge } from './network.js';
import type { SandboxNs } from './namespace.js';
import type { Step } from './plan.js';
import type { NetworkRecord, SandboxRecord } from './types.js';

/**
 * User-defined networks (bridge, macvlan and overlay) have the embedded DNS
 * server; the default bridge, host and none don't, nor nsnet_gwbridge: its
 * endpoints are overlay sandboxes' ways out, whose names are their overlay
 * networks' (Docker's gwbridge endpoints resolve to nothing either).
 */
export function servesEmbeddedDns(n: NetworkRecord): boolean {
  return (n.driver === 'bridge' || n.driver === 'macvlan' || n.driver === 'overlay') && !n.defaultBridge && !isGwbridge(n);
}

/** Sandboxes on user-defined networks get the embedded DNS server (never the default bridge). */
export function usesEmbeddedDns(networks: NetworkRecord[], sb: SandboxRecord): boolean {
  // Overlay endpoints: their network is in the cluster store, not in `networks`.
  return sb.endpoints.some((e) => e.overlay || networks.some((n) => n.id === e.networkId && servesEmbeddedDns(n)));
}

/**
 * The step that has the DNS server attach to the sandbox, beside the rest of
 * the plan (a name resolves the moment create returns); undone by asking it
 * to let go (also for the sandboxes joined to it), which reports to
 * `released` whether the server heard it.
 */
export function dnsStep(ctx: Context, sb: SandboxRecord, ns: SandboxNs, released?: (ids: string[], heard: Promise<boolean>) => void): Step {
  const dns = ctx.dns!;
  const ids = [sb.id, ...(sb.joinedBy ?? [])];
  const say = (gone: boolean, list: string[]) => [dns.command?.(list, gone) ?? `# nsnet dns: ${gone ? 'release' : 'sync'} ${list.join(' ')}`];
  return {
    title: `attaching the embedded DNS server (127.0.0.11 in netns ${ns.name})`,
    equivalent: say(false, [sb.id]),
    overlap: true,
    do: async () => {
      // 127.0.0.0/8 is lo's address, which exists only once lo is up (else EADDRNOTAVAIL).
      await ns.get();
      await dns.sync(true, [sb.id]);
    },
    undo: {
      title: `detaching the embedded DNS server from ${sb.name}`,
      equivalent: say(true, ids),
      overlap: true,
      do: async () => {
        const heard = dns.release ? dns.release(ids).then(() => true, () => false) : Promise.resolve(false);
        released?.(ids, heard);
        await heard;
      },
    },
  };
}
