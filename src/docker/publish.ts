// Published ports (-p, -P): a host port claimed in the state, and a DNAT map
// element in nsnet's table that sends it to the sandbox:
//
//   nft add element ip nsnet ports { tcp . 8080 : 172.18.0.2 . 80 }
//   nft add element ip6 nsnet ports { tcp . 8080 : 2001:db8:1::2 . 80 }   (a dual-stack sandbox)
//   nft list map ip nsnet ports; nft list map ip6 nsnet ports
//
// and, for a dual-stack sandbox's bindings that take the host's ::1, a
// listener on [::1]:8080 in the resident nsnet process that relays to the
// sandbox's IPv6 address (IPv6 has no route_localnet: src/dns/port-relay.ts).
//   ss -ltnp 'sport = :8080'
import { closeSync } from 'node:fs';
import { socketBind } from '../kernel/socket.js';
import { portElements } from '../nft/table.js';
import type { Context } from './context.js';
import { asInvalid, conflict, invalidArg } from './errors.js';
import { elementsStep, portRules } from './firewall.js';
import { localPortRange } from './host.js';
import { formatPort, loopbackRelays, parsePublish, portsClash, type PortSpec } from './ports.js';
import type { Step } from './plan.js';
import type { PortBinding, SandboxRecord, State } from './types.js';

/** -p specs, and with -P every --expose port on an ephemeral host port. */
function portSpecs(publish: string[], publishAll: boolean, expose: string[]): PortSpec[] {
  const specs: PortSpec[] = [];
  for (const p of publish) specs.push(...asInvalid(() => parsePublish(p)));
  if (publishAll) {
    for (const e of expose) {
      const [port, proto] = e.split('/');
      specs.push(...asInvalid(() => parsePublish(e.includes(':') ? e : `${port}${proto ? `/${proto}` : ''}`)).map((x) => ({ ...x, hostPort: 0 })));
    }
  }
  return specs;
}

/**
 * Resolves -p / -P into bindings to `ip` (and `ip6`, a dual-stack sandbox's:
 * a binding on every address or an IPv6 one takes IPv6 too), claiming the
 * host ports, refusing ones already published.
 */
export async function planPorts(ctx: Context, s: State, req: { publish?: string[]; publishAll?: boolean; expose?: string[] },
  ip: string, sandboxId: string, ip6?: string): Promise<PortBinding[]> {
  const specs = portSpecs(req.publish ?? [], !!req.publishAll, req.expose ?? []);
  // No proxy to IPv4: an IPv6 host address (::1 too, relayed) can only go to an IPv6 address of the sandbox.
  const v6Only = specs.find((p) => p.hostIp.includes(':'));
  if (v6Only && !ip6) throw invalidArg(`cannot publish on ${formatPort(v6Only)}: the sandbox has no IPv6 address (its network needs --ipv6)`);
  const out: PortBinding[] = [];
  const taken = async (p: PortSpec) =>
    [...(await s.ports.get(p.proto, p.hostPort)).map((c) => ({ ...c, containerPort: 0 })), ...out].some((o) => portsClash(o, p));
  // A host process listening on the port would never see its traffic again: refuse it, as Docker does.
  // A binding on every address of a dual-stack sandbox takes [::] as well.
  const free = async (p: PortSpec) => {
    for (const address of p.hostIp === '0.0.0.0' && ip6 ? ['0.0.0.0', '::'] : [p.hostIp]) {
      const probe = await socketBind(ctx.host, { type: p.proto, address, port: p.hostPort }).catch((e: unknown) => e);
      if (probe instanceof Error) {
        if ((probe as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
        // A host with IPv6 off has no [::] to take.
        if (address === '::' && p.hostIp !== '::' && (probe as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') continue;
        throw probe;
      }
      closeSync((probe as { fd: number }).fd);
    }
    return true;
  };
  let range: [number, number] | undefined;
  for (const spec of specs) {
    let p = { ...spec };
    if (p.hostPort === 0) {
      // An ephemeral port: the lowest one of the kernel's range that nobody holds.
      range ??= await localPortRange(ctx.host);
      let port = range[0];
      while (port <= range[1] && ((await taken({ ...p, hostPort: port })) || !(await free({ ...p, hostPort: port })))) port++;
      if (port > range[1]) throw conflict('no free host port left in net.ipv4.ip_local_port_range');
      p = { ...p, hostPort: port };
    } else if ((await taken(p)) || !(await free(p))) {
      throw conflict(`Bind for ${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort} failed: port is already allocated`);
    }
    const v6 = ip6 && (p.hostIp === '0.0.0.0' || p.hostIp.includes(':'));
    out.push({ ...p, ip, ...(v6 && { ip6 }) });
  }
  for (const p of out) await s.ports.add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, sandboxId });
  return out;
}

/** The step that publishes a sandbox's ports (host-side map elements), undone by unpublishing them. */
export function portsStep(ctx: Context, sb: SandboxRecord): Step {
  const step = elementsStep(ctx, `publishing ${sb.ports.length} port(s)`, (op) => portElements(op, portRules(sb.ports)), `unpublishing ports of sandbox ${sb.name}`);
  return {
    ...step,
    overlap: true, // beside the DNS server's attach
    // May run after a removal answered (removals.ts): the host ports stay claimed until it has.
    ...(step.undo && { undo: { ...step.undo, deferrable: true } }),
  };
}

/**
 * The step that has the resident process (`nsnet dns`) listen on [::1] for the sandbox's
 * bindings that take the host's ::1, and relay them to its IPv6 address (ports.ts
 * loopbackRelays, src/dns/port-relay.ts); none without such a binding or a DNS client. The
 * server reads them from the sandbox's record whenever it syncs that sandbox. `synced`: the
 * plan's DNS step (embedded-dns.ts) syncs it already, so this step only shows what that sync
 * opens, and that step's undo (its release) closes them. Otherwise (the default bridge with
 * IPv6) it asks for the sync itself, starting the server if none runs (as the firewall's
 * watcher is started: firewall.ts), and its undo lets go.
 */
export function relayStep(ctx: Context, sb: SandboxRecord, synced: boolean): Step | undefined {
  const relays = loopbackRelays(sb.ports);
  const dns = ctx.dns;
  if (!relays.length || !dns) return undefined;
  const list = relays.map((r) => `[::1]:${r.hostPort}/${r.proto}`).join(', ');
  const shown = relays.map((r) => `# nsnet dns listens on [::1]:${r.hostPort} (${r.proto}) and relays to [${r.ip6}]:${r.containerPort}`);
  const say = (gone: boolean) => dns.command?.([sb.id], gone) ?? `# nsnet dns: ${gone ? 'release' : 'sync'} ${sb.id}`;
  const undo = { title: `closing ${list} of sandbox ${sb.name}` };
  if (synced) {
    return {
      title: `relaying ${list} to sandbox ${sb.name} (with the DNS server's attach: IPv6 has no route_localnet)`,
      equivalent: shown,
      do: async () => {},
      undo: { ...undo, equivalent: ['# with the DNS server\'s detach'], do: async () => {} },
    };
  }
  return {
    title: `relaying ${list} to sandbox ${sb.name} (IPv6 has no route_localnet)`,
    equivalent: [...shown, say(false)],
    overlap: true,
    do: () => dns.sync(true, [sb.id]),
    ...(dns.release && { undo: { ...undo, equivalent: [say(true)], do: () => dns.release!([sb.id]) } }),
  };
}
