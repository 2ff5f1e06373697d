// A sandbox's network namespace: made with only lo, up; everything else of
// the sandbox (eth0, its address and routes) lives in it, and deleting it
// takes them all, far faster than deleting each link (docs/netns.md).
//
//   ip netns add web; ip -n web link set lo up
//   ip netns del web
import { isNotFound } from '../kernel/errors.js';
import { linkGet, linkSet, linkSetCommand } from '../kernel/link.js';
import { sysctlSet, sysctlSetCommand } from '../kernel/sysctl.js';
import { netnsAdd, netnsAddCommand, netnsDel, netnsDelCommand, netnsOpen, NETNS_RUN_DIR, type Netns } from '../kernel/netns.js';
import { conflict } from './errors.js';
import type { Step } from './plan.js';
import type { SandboxRecord } from './types.js';

/**
 * Set in every sandbox namespace as it is made. Most networks are IPv4
 * only (a dual-stack endpoint turns IPv6 on for its own interface:
 * endpoint.ts ipv6EndpointSteps, docs/ipv6.md), and Docker disables IPv6 on the interfaces of an IPv4-only network
 * (moby libnetwork/osl setInterfaceIPv6: "if IPv6 isn't disabled, the
 * interface will be put into IPv6 multicast groups"): an eth0 with IPv6 on
 * gets a link-local address, runs DAD, joins multicast groups and solicits
 * routers, and the bridge floods every one of those packets to every other
 * sandbox - work for the whole host that grows with the number of
 * sandboxes (measured in docs/bench/analysis.md). Set as the namespace's
 * default, so eth0, eth1 ... are born with it; lo keeps ::1. Not for a
 * sandbox born with dual-stack endpoints only: SANDBOX_IPV6_SYSCTLS.
 */
export const SANDBOX_SYSCTLS: Record<string, string> = { 'net.ipv6.conf.default.disable_ipv6': '1' };

/**
 * Instead, for a sandbox born with only dual-stack endpoints (born6,
 * modes/none.ts): its interfaces are born with IPv6 on, taking no router
 * advertisements (no router solicitations either) and running no duplicate
 * address detection, so no RS/DAD packet reaches the bridge and eth0 needs no
 * sysctl write of its own (endpoint.ts ipv6EndpointSteps adds its address):
 * written by the thread that makes the namespace, before eth0 exists, this
 * costs no extra thread per sandbox (a write for eth0 did: ~0.25 ms of CPU,
 * docs/bench/ipv6.md). Its MLD reports stay off the bridge (nft/table.ts
 * MLD_QUIET_GROUP). An IPv4-only network connected later switches the
 * default back off first (ipv6OffByDefaultStep), as Docker leaves IPv6 off on
 * such a network's interfaces.
 */
export const SANDBOX_IPV6_SYSCTLS: Record<string, string> = {
  'net.ipv6.conf.default.accept_ra': '0', 'net.ipv6.conf.default.accept_dad': '0', 'net.ipv6.conf.default.disable_ipv6': '0',
};

/**
 * Before an interface without IPv6 is made in a live sandbox's namespace
 * (network connect): the namespace's default back to IPv6 off, in case it
 * was born with IPv6 on (SANDBOX_IPV6_SYSCTLS); a no-op otherwise. A rare
 * path: one thread into the namespace.
 */
export function ipv6OffByDefaultStep(ns: SandboxNs, forWhom: string): Step {
  const key = 'net.ipv6.conf.default.disable_ipv6';
  return {
    title: `keeping IPv6 off on interfaces made from now on in netns ${ns.name}`,
    equivalent: [sysctlSetCommand(ns.name, key, 1)],
    do: async () => sysctlSet(await ns.get(), key, 1, { for: forWhom }),
  };
}

/**
 * A sandbox's namespace for the steps of one plan: the one its first step
 * makes, or the existing one, opened on first use. Steps that work inside it
 * wait for it; the plan's caller closes it.
 */
export class SandboxNs {
  #ns: Promise<Netns> | undefined;
  /**
   * `name`: under /run/netns (and how commands and titles show it). `path`:
   * a namespace someone else made (a CNI runtime's), opened by that path.
   */
  constructor(readonly name: string, readonly path?: string) {}

  /** The namespace, once made (or opened) and lo is up. */
  get(): Promise<Netns> {
    this.#ns ??= netnsOpen(this.path ? { path: this.path } : { name: this.name });
    return this.#ns;
  }

  made(ns: Promise<Netns>): void {
    this.#ns = ns;
    ns.catch(() => {}); // awaited by the step that made it
  }

  async close(): Promise<void> {
    const ns = this.#ns;
    this.#ns = undefined;
    await (await ns?.catch(() => undefined))?.close();
  }
}

/**
 * The step that makes the sandbox's namespace (lo up), undone by deleting it.
 * `ipv6`: its interfaces are all dual-stack ones (SANDBOX_IPV6_SYSCTLS instead).
 */
export function namespaceStep(ns: SandboxNs, forWhom: string, o: { ipv6?: boolean } = {}): Step {
  const sysctls = o.ipv6 ? SANDBOX_IPV6_SYSCTLS : SANDBOX_SYSCTLS;
  return {
    title: `creating network namespace ${ns.name}`,
    equivalent: [...netnsAddCommand(ns.name, sysctls), linkSetCommand(ns.name, 'lo', { up: true })],
    // The steps after it that need it wait for it (SandboxNs.get); the others run beside it.
    overlap: true,
    do: async () => {
      ns.made((async () => {
        const n = await netnsAdd(ns.name, { for: forWhom, sysctls });
        await linkSet(n, 1, { up: true, for: forWhom }); // lo is ifindex 1 in a new namespace
        return n;
      })());
      await ns.get();
    },
    undo: {
      title: `deleting network namespace ${ns.name}`,
      equivalent: [netnsDelCommand(ns.name)],
      do: async () => {
        await ns.close();
        await netnsDel(ns.name, { for: forWhom });
      },
    },
  };
}

/**
 * The namespace a sandbox's plan works on: its own (/run/netns/NAME), the
 * runtime's (netnsPath: named after it when it is under /run/netns, so the
 * equivalent `ip -n NAME` commands work), or none (host, container: modes).
 */
export function sandboxNs(sb: SandboxRecord): SandboxNs | undefined {
  if (sb.netnsPath) {
    const under = sb.netnsPath.startsWith(`${NETNS_RUN_DIR}/`) && sb.netnsPath.slice(NETNS_RUN_DIR.length + 1);
    return new SandboxNs(under && !under.includes('/') ? under : sb.netnsPath, sb.netnsPath);
  }
  return sb.netns ? new SandboxNs(sb.netns) : undefined;
}

/**
 * The step for a namespace the runtime made (CNI): opened, never made or
 * deleted (no undo), `ifname` checked free (the spec: ADD fails when the
 * interface exists), lo brought up (127.0.0.11 lives on it).
 */
export function runtimeNamespaceStep(ns: SandboxNs, ifname: string, forWhom: string): Step {
  return {
    title: `opening the runtime's network namespace ${ns.path ?? ns.name}`,
    equivalent: [linkSetCommand(ns.name, 'lo', { up: true })],
    do: async () => {
      const n = await ns.get();
      const exists = await linkGet(n, ifname).then(() => true, (e: unknown) => {
        if (isNotFound(e)) return false;
        throw e;
      });
      if (exists) throw conflict(`interface ${ifname} already exists in network namespace ${ns.path ?? ns.name}`);
      await linkSet(n, 1, { up: true, for: forWhom }); // lo is ifindex 1 in every namespace
    },
  };
}
