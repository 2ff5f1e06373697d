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

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return s <= 1 ? 'Less than a second ago' : `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute ago' : `${m} minutes ago`;
  const h = Math.round(m / 60);
  return h === 1 ? 'About an hour ago' : h < 48 ? `${h} hours ago` : `${Math.round(h / 24)} days ago`;
}

function statusText(sb: SandboxRecord, status: SandboxRecord['status']): string {
  switch (status) {
    case 'running': return `Up ${ago(sb.startedAt ?? sb.created).replace(/ ago$/, '').replace('Less than a second', 'Less than a second')}`;
    case 'exited': return sb.exitCode !== undefined ? `Exited (${sb.exitCode}) ${ago(sb.finishedAt ?? sb.created)}` : 'Exited';
    case 'creating': return 'Creating';
    case 'removing': return 'Removal In Progress';
    default: return 'Created';
  }
}

export const PS_HEADERS = ['SANDBOX ID', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NETWORK', 'NAMES'];

/** One `nsnet ps` row. */
export function psRow(sb: SandboxRecord, status: SandboxRecord['status'], noTrunc: boolean): string[] {
  const cmd = sb.command ? sb.command.join(' ') : '';
  const shown = noTrunc || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`;
  return [
    noTrunc ? sb.id : sb.id.slice(0, 12),
    cmd ? `"${shown}"` : '',
    ago(sb.created),
    statusText(sb, status),
    sb.ports.map(formatPort).join(', '),
    sb.networkMode,
    sb.name,
  ];
}

/** `nsnet ps --format json`: one object per sandbox. */
export function psJson(sb: SandboxRecord, status: SandboxRecord['status']): object {
  return {
    ID: sb.id.slice(0, 12),
    Names: sb.name,
    Command: sb.command ? sb.command.join(' ') : '',
    CreatedAt: sb.created,
    State: status,
    Status: statusText(sb, status),
    Ports: sb.ports.map(formatPort).join(', '),
    Networks: sb.networkMode,
    IPAddress: sb.endpoints[0]?.ip ?? '',
  };
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
