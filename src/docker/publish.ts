// Published ports (-p, -P): a host port claimed in the state, and a DNAT map
// element in nsnet's table that sends it to the sandbox:
//
//   nft add element ip nsnet ports { tcp . 8080 : 172.18.0.2 . 80 }
//   nft list map ip nsnet ports
import { closeSync } from 'node:fs';
import { socketBind } from '../kernel/socket.js';
import { portElements } from '../nft/table.js';
import type { Context } from './context.js';
import { asInvalid, conflict } from './errors.js';
import { elementsStep, portRules } from './firewall.js';
import { localPortRange } from './host.js';
import { parsePublish, portsClash, type PortSpec } from './ports.js';
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

/** Resolves -p / -P into bindings to `ip`, claiming the host ports, refusing ones already published. */
export async function planPorts(ctx: Context, s: State, req: { publish?: string[]; publishAll?: boolean; expose?: string[] },
  ip: string, sandboxId: string): Promise<PortBinding[]> {
  const specs = portSpecs(req.publish ?? [], !!req.publishAll, req.expose ?? []);
  const out: PortBinding[] = [];
  const taken = async (p: PortSpec) =>
    [...(await s.ports.get(p.proto, p.hostPort)).map((c) => ({ ...c, containerPort: 0 })), ...out].some((o) => portsClash(o, p));
  // A host process listening on the port would never see its traffic again: refuse it, as Docker does.
  const free = async (p: PortSpec) => {
    const probe = await socketBind(ctx.host, { type: p.proto, address: p.hostIp, port: p.hostPort }).catch((e: unknown) => e);
    if (probe instanceof Error) {
      if ((probe as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
      throw probe;
    }
    closeSync((probe as { fd: number }).fd);
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
      throw conflict(`Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated`);
    }
    out.push({ ...p, ip });
  }
  for (const p of out) await s.ports.add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, sandboxId });
  return out;
}

/** The step that publishes a sandbox's ports (host-side map elements), undone by unpublishing them. */
export function portsStep(ctx: Context, sb: SandboxRecord): Step {
  return {
    ...elementsStep(ctx, `publishing ${sb.ports.length} port(s)`, (op) => portElements(op, portRules(sb.ports)), `unpublishing ports of sandbox ${sb.name}`),
    overlap: true, // beside the DNS server's attach
  };
}
