// What a `ps` or `network ls` template sees for each row: Docker's
// placeholders (docker/cli formatter ContainerContext and NetworkContext),
// all strings, `.Label "k"` a method, and the column titles `table` uses.
// `{{json .}}` (and `--format json`) prints these fields, keys sorted as
// Docker's marshalling sorts them.
//
// Pure.
import { ago, apiPorts, psPorts, quotedCommand, statusText } from '../docker/sandbox-view.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { struct } from './template/exec.js';

/** Go's time.Time String(): "2021-03-10 00:15:05 +0100 CET" (UTC here: nsnet keeps times in UTC). */
export function goTime(iso: string, fraction: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = d.getUTCMilliseconds();
  const frac = fraction && ms ? `.${p(ms, 3).replace(/0+$/, '')}` : '';
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** Docker's `.Labels`: k=v pairs joined by commas (sorted here; Docker's order is a map's). */
const joinLabels = (labels: Record<string, string> | undefined) =>
  Object.keys(labels ?? {}).sort().map((k) => `${k}=${labels![k]}`).join(',');

/** The networks a sandbox is on, by name and id, as Docker's NetworkSettings.Networks has them (host and none included). */
export function sandboxNetworks(sb: SandboxRecord, networks: readonly NetworkRecord[]): { name: string; id: string; ip?: string }[] {
  if (sb.mode === 'host' || sb.mode === 'none') {
    const n = networks.find((x) => x.name === sb.mode);
    return [{ name: sb.mode, id: n?.id ?? '' }];
  }
  // As inspect's NetworkSettings.Networks (Docker's ps reads that): an overlay sandbox's way out on nsnet_gwbridge is not listed.
  return sb.endpoints.filter((e) => !e.gwbridge)
    .map((e) => ({ name: networks.find((n) => n.id === e.networkId)?.name ?? e.overlay?.network ?? e.networkId, id: e.networkId, ip: e.ip }));
}

export const PS_FIELD_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
  IPAddresses: 'IP ADDRESSES',
};

/** One `ps` row as a template sees it. `now` is the clock the durations are measured on. */
export function psContext(sb: SandboxRecord, status: SandboxRecord['status'], networks: readonly NetworkRecord[], o: { noTrunc: boolean; now: number }) {
  const nets = sandboxNetworks(sb, networks);
  return struct(
    'sandbox row',
    {
      Command: quotedCommand(sb, o.noTrunc),
      CreatedAt: goTime(sb.created, false),
      ID: o.noTrunc ? sb.id : sb.id.slice(0, 12),
      IPAddresses: nets.filter((n) => n.ip).map((n) => `${n.name}/${n.ip}`),
      Image: '',
      Labels: joinLabels(sb.labels),
      LocalVolumes: '0',
      Mounts: '',
      Names: sb.name,
      Networks: sb.mode === 'container' ? '' : nets.map((n) => n.name).sort().join(','),
      Ports: psPorts(sb),
      RunningFor: ago(sb.created, o.now),
      Size: '0B',
      State: status === 'creating' ? 'created' : status,
      Status: statusText(sb, status, o.now),
    },
    { Label: (k: string) => sb.labels?.[k] ?? '' },
  );
}

/**
 * `compose ps` column titles: Docker Compose v2's ContainerContext headers
 * (cmd/formatter/container.go), and NETWORKS for the column nsnet shows in
 * IMAGE's place.
 */
export const COMPOSE_PS_FIELD_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Name: 'NAME',
  Names: 'NAMES',
  Project: 'PROJECT',
  Service: 'SERVICE',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Networks: 'NETWORKS',
  IPAddress: 'IP ADDRESS',
};

/** Compose's default table, with the networks where Compose has the image. */
export const COMPOSE_PS_TABLE = 'table {{.Name}}\t{{.Networks}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';

/** One `compose ps` row as a template (and `--format json`) sees it: Compose v2's fields, plus nsnet's IPAddress. */
export function composePsContext(sb: SandboxRecord, status: SandboxRecord['status'], o: { project: string; service: string; networks: string[]; noTrunc: boolean; now: number }) {
  return struct(
    'compose row',
    {
      Command: quotedCommand(sb, o.noTrunc),
      CreatedAt: goTime(sb.created, false),
      ExitCode: sb.exitCode ?? 0,
      Health: '',
      ID: o.noTrunc ? sb.id : sb.id.slice(0, 12),
      IPAddress: sb.endpoints[0]?.ip ?? '',
      Image: '',
      Labels: joinLabels(sb.labels),
      LocalVolumes: '0',
      Mounts: '',
      Name: sb.name,
      Names: sb.name,
      Networks: o.networks.join(','),
      Ports: psPorts(sb),
      Project: o.project,
      Publishers: apiPorts(sb).map((p) => ({ URL: p.IP, TargetPort: p.PrivatePort, PublishedPort: p.PublicPort, Protocol: p.Type })),
      RunningFor: ago(sb.created, o.now),
      Service: o.service,
      Size: '0B',
      State: status === 'creating' ? 'created' : status,
      Status: statusText(sb, status, o.now),
    },
    { Label: (k: string) => sb.labels?.[k] ?? '' },
  );
}

export const NETWORK_FIELD_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

/** `docker network ls`'s default table: NETWORK ID, NAME, DRIVER, SCOPE. */
export const NETWORK_LS_HEADERS = ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'];

/** One row of the default `network ls` table. */
export const networkLsRow = (n: NetworkRecord, noTrunc: boolean): string[] => [noTrunc ? n.id : n.id.slice(0, 12), n.name, n.driver, n.scope ?? 'local'];

/** One `network ls` row as a template sees it. */
export function networkContext(n: NetworkRecord, noTrunc: boolean) {
  return struct(
    'network row',
    {
      CreatedAt: goTime(n.created, true),
      Driver: n.driver,
      ID: noTrunc ? n.id : n.id.slice(0, 12),
      IPv6: String(!!n.enableIPv6),
      Internal: String(n.internal),
      Labels: joinLabels(n.labels),
      Name: n.name,
      Scope: n.scope ?? 'local',
    },
    { Label: (k: string) => n.labels[k] ?? '' },
  );
}

/** Docker's order for `network ls`: by name, digits compared as numbers (sortorder.NaturalLess). */
export function naturalLess(a: string, b: string): boolean {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    const pd = /^\d/.test(p);
    const qd = /^\d/.test(q);
    if (pd && qd) {
      const pn = p.replace(/^0+/, '');
      const qn = q.replace(/^0+/, '');
      if (pn.length !== qn.length) return pn.length < qn.length;
      if (pn !== qn) return pn < qn;
      return p.length < q.length; // equal values: fewer leading zeros first
    }
    return p < q;
  }
  return x.length < y.length;
}

export const byNaturalName = <T extends { name: string }>(a: T, b: T) => (naturalLess(a.name, b.name) ? -1 : naturalLess(b.name, a.name) ? 1 : 0);
