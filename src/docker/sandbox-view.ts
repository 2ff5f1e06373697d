// How sandboxes look to users: `nsnet inspect` (Docker-shaped JSON) and
// `nsnet ps` rows. Pure.
import { formatPort } from './ports.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import { salvageRecord } from './salvage.js';
import type { NetworkRecord, SandboxRecord } from './types.js';

function networkOf(s: { networks: NetworkRecord[] }, id: string): NetworkRecord | undefined {
  return s.networks.find((n) => n.id === id);
}

/** `docker inspect` JSON for one sandbox; `status` is the live one (see process.ts). */
export function inspectSandbox(sb: SandboxRecord, owner: SandboxRecord | undefined, allNetworks: NetworkRecord[],
  status: SandboxRecord['status'], etcNetns: string): object {
  const s = { networks: allNetworks };
  const networks: Record<string, object> = {};
  for (const e of sb.endpoints) {
    const n = networkOf(s, e.networkId);
    networks[n?.name ?? e.networkId] = {
      IPAMConfig: e.staticIp ? { IPv4Address: e.ip } : null,
      Links: null,
      Aliases: n?.defaultBridge ? null : [...e.aliases, sb.id.slice(0, 12)],
      NetworkID: e.networkId,
      EndpointID: e.endpointId,
      Gateway: e.gateway,
      IPAddress: e.ip,
      IPPrefixLen: e.prefixlen,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: e.mac,
      DriverOpts: null,
    };
  }
  // Docker fills the top-level fields from the default bridge's endpoint only.
  const dflt = sb.endpoints.find((e) => networkOf(s, e.networkId)?.defaultBridge);
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of sb.ports) {
    (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  const running = status === 'running';
  return {
    Id: sb.id,
    Created: sb.created,
    Path: sb.command?.[0] ?? '',
    Args: sb.command?.slice(1) ?? [],
    State: {
      Status: status,
      Running: running,
      Pid: running ? sb.pid ?? 0 : 0,
      ExitCode: sb.exitCode ?? 0,
      StartedAt: sb.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: sb.finishedAt ?? '0001-01-01T00:00:00Z',
    },
    Name: `/${sb.name}`,
    ResolvConfPath: owner?.netns ? `${etcNetns}/${owner.netns}/resolv.conf` : '/etc/resolv.conf',
    HostnamePath: owner?.netns ? `${etcNetns}/${owner.netns}/hostname` : '/etc/hostname',
    HostsPath: owner?.netns ? `${etcNetns}/${owner.netns}/hosts` : '/etc/hosts',
    HostConfig: {
      NetworkMode: sb.mode === 'container' ? `container:${sb.containerOf}` : sb.networkMode,
      PidMode: sb.pidMode ?? '',
      PortBindings: Object.fromEntries(sb.ports.map((p) => [`${p.containerPort}/${p.proto}`, [{ HostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, HostPort: String(p.hostPort) }]])),
      Links: sb.links.length ? sb.links.map((l) => `/${l.name}:/${sb.name}/${l.alias}`) : null,
      Dns: sb.dns,
      DnsSearch: sb.dnsSearch,
      DnsOptions: sb.dnsOptions,
      ExtraHosts: sb.extraHosts.length ? sb.extraHosts.map((h) => `${h.host}:${h.ip}`) : null,
    },
    Config: {
      Hostname: sb.hostname,
      Cmd: sb.command ?? null,
      Labels: sb.labels ?? {},
    },
    NetworkSettings: {
      SandboxID: owner?.id ?? '',
      SandboxKey: owner?.netns ? `/run/netns/${owner.netns}` : sb.mode === 'host' ? '/proc/1/ns/net' : '',
      Ports: ports,
      Gateway: dflt?.gateway ?? '',
      IPAddress: dflt?.ip ?? '',
      IPPrefixLen: dflt?.prefixlen ?? 0,
      MacAddress: dflt?.mac ?? '',
      EndpointID: dflt?.endpointId ?? '',
      Networks: networks,
    },
  };
}

/** Docker's units.HumanDuration: whole seconds and minutes, rounded hours, then days, weeks, months, years. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** `docker ps` CREATED (.RunningFor): "2 minutes ago". */
export function ago(iso: string, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - Date.parse(iso)))} ago`;
}

/** `docker ps` STATUS: "Up 2 minutes", "Exited (0) 2 minutes ago", "Created", as Docker's container state String(). */
export function statusText(sb: SandboxRecord, status: SandboxRecord['status'], now = Date.now()): string {
  switch (status) {
    case 'running': return `Up ${humanDuration(Math.max(0, now - Date.parse(sb.startedAt ?? sb.created)))}`;
    case 'exited': return sb.exitCode !== undefined ? `Exited (${sb.exitCode}) ${ago(sb.finishedAt ?? sb.created, now)}` : 'Exited';
    case 'creating': return 'Created';
    case 'removing': return 'Removal In Progress';
    default: return 'Created';
  }
}

/** Docker's quoted COMMAND column: at most 20 characters, the 20th an ellipsis, then strconv.Quote. */
export function quotedCommand(sb: SandboxRecord, noTrunc: boolean): string {
  const cmd = sb.command ? sb.command.join(' ') : '';
  const chars = [...cmd];
  const shown = noTrunc || chars.length <= 20 ? cmd : `${chars.slice(0, 19).join('')}…`;
  return cmd ? JSON.stringify(shown) : '';
}

export const PS_HEADERS = ['SANDBOX ID', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NETWORK', 'NAMES'];

/** One `nsnet ps` row. */
export function psRow(sb: SandboxRecord, status: SandboxRecord['status'], noTrunc: boolean): string[] {
  return [
    noTrunc ? sb.id : sb.id.slice(0, 12),
    quotedCommand(sb, noTrunc),
    ago(sb.created),
    statusText(sb, status),
    sb.ports.map(formatPort).join(', '),
    sb.networkMode,
    sb.name,
  ];
}

/** What ps says of a sandbox whose record is damaged. */
export const damagedStatus = (name: string) => `Damaged (see nsnet inspect ${name})`;

/** The id a damaged record still shows (its text, or the id index), if any. */
export function damagedId(d: DamagedRecord): string | undefined {
  return d.id ?? (d.text ? salvageRecord(d.text).id : undefined);
}

/** One `nsnet ps -a` row for a damaged record: its name, what id it still shows, and where to look. */
export function psDamagedRow(d: DamagedRecord, noTrunc: boolean): string[] {
  const id = damagedId(d) ?? '';
  const network = d.text ? salvageRecord(d.text).networkMode ?? '' : '';
  return [noTrunc ? id : id.slice(0, 12), '', '', damagedStatus(d.name), '', network, d.name];
}

/** `nsnet ps -a --format json` for a damaged record: State "damaged", and the file and its problem. */
export function psDamagedJson(d: DamagedRecord): object {
  return {
    ID: (damagedId(d) ?? '').slice(0, 12),
    Names: d.name,
    Command: '',
    CreatedAt: '',
    State: 'damaged',
    Status: damagedStatus(d.name),
    Ports: '',
    Networks: d.text ? salvageRecord(d.text).networkMode ?? '' : '',
    IPAddress: '',
    Problem: `${d.path}: ${d.problem}`,
  };
}
