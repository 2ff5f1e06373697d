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
import type { PortBinding } from '../docker/types.js';
import { withContext } from './context.js';

/** The lines `docker port` prints for these bindings; with `want` (80, 80/tcp, 53/udp) only that port's host side. Pure. */
export function portLines(name: string, ports: readonly PortBinding[], want?: string): string[] {
  const sorted = [...ports].sort((a, b) => a.containerPort - b.containerPort || a.proto.localeCompare(b.proto) || a.hostPort - b.hostPort);
  if (want === undefined) return sorted.map((p) => `${p.containerPort}/${p.proto} -> ${p.hostIp}:${p.hostPort}`);
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(want);
  const key = m ? `${Number(m[1])}/${m[2] ?? 'tcp'}` : want;
  const lines = sorted.filter((p) => `${p.containerPort}/${p.proto}` === key).map((p) => `${p.hostIp}:${p.hostPort}`);
  if (!lines.length) throw notFound(`No public port '${key}' published for ${name}`);
  return lines;
}

export const port = withContext<'port'>(async (ctx, { args }, io) => {
  const [ref, want] = args as [string, string | undefined];
  const sb = await usingState(ctx, (s) => findSandbox(s, ref), { checkTables: false });
  for (const line of portLines(sb.name, sb.ports, want)) io.out(line);
  return 0;
});
