// `nsnet port SANDBOX [PORT[/PROTO]]`: a sandbox's published ports, as
// `docker port` prints them:
//
//   $ nsnet port web            $ nsnet port web 80
//   80/tcp -> 0.0.0.0:8080      0.0.0.0:8080
//
// Each line is a DNAT element of nsnet's table: `nft list map ip nsnet ports`.
import { notFound } from '../docker/errors.js';
import { findSandbox } from '../docker/lookup.js';
import { usingState } from '../docker/networks.js';
import { portMap, type PortMap } from '../docker/sandbox-view.js';
import { withContext } from './context.js';
import { naturalLess } from './list-context.js';

/** Go's net.JoinHostPort: an IPv6 address in brackets ("[::]:8080"). */
const joinHostPort = (ip: string, port: string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

const natural = (a: string, b: string) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0);

/**
 * The lines `docker port` prints for a sandbox's NetworkSettings.Ports, in
 * its order (natural sort of the lines); with `want` (80, 80/tcp, 53/udp)
 * only that port's host side. Pure.
 */
export function portLines(name: string, ports: PortMap, want?: string): string[] {
  if (want === undefined) {
    return Object.entries(ports).flatMap(([key, bs]) => (bs ?? []).map((b) => `${key} -> ${joinHostPort(b.HostIp, b.HostPort)}`)).sort(natural);
  }
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(want);
  const key = m ? `${Number(m[1])}/${m[2] ?? 'tcp'}` : want;
  const lines = (ports[key] ?? []).map((b) => joinHostPort(b.HostIp, b.HostPort)).sort(natural);
  if (!lines.length) throw notFound(`No public port '${key}' published for ${name}`);
  return lines;
}

export const port = withContext<'port'>(async (ctx, { args }, io) => {
  const [ref, want] = args as [string, string | undefined];
  const sb = await usingState(ctx, (s) => findSandbox(s, ref), { checkTables: false });
  for (const line of portLines(sb.name, portMap(sb), want)) io.out(line);
  return 0;
});
