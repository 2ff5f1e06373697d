// How sandboxes look to users: `nsnet inspect` (Docker-shaped JSON) and
// `nsnet ps` rows. Pure.
import { bindingHostIps, displayablePorts, type ApiPort } from './ports.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import { salvageRecord } from './salvage.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './types.js';

function networkOf(s: { networks: NetworkRecord[] }, id: string): NetworkRecord | undefined {
  return s.networks.find((n) => n.id === id);
}

/** Go's zero time.Time, as Docker prints a time that never happened. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's State.Status words: created, running, exited, removing (nsnet's "creating" is Docker's "created"). */
const dockerStatus = (status: SandboxRecord['status']) => (status === 'creating' ? 'created' : status);


/** Docker's nat.PortMap: "80/tcp" -> the host addresses and ports bound to it, null for a port only exposed. */
export type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/**
 * NetworkSettings.Ports: every exposed port, with the host addresses and
 * ports that reach it (bindingHostIps says which answer), or null for one
 * only exposed. Only a sandbox with a namespace and a bridge endpoint has
 * bindings; host, none, container: and macvlan-only sandboxes have none, as in Docker.
 */
export function portMap(sb: SandboxRecord): PortMap {
  const ports: PortMap = {};
  // A sandbox only on macvlan networks has none either (no veth: Docker's macvlan driver reports no ports).
  if (sb.mode !== 'bridge' || (sb.endpoints.length && sb.endpoints.every((e) => !e.hostVeth))) return ports;
  for (const key of sb.exposed ?? []) ports[key] = null;
  for (const p of sb.ports) {
    const list = (ports[`${p.containerPort}/${p.proto}`] ??= []);
    for (const hostIp of bindingHostIps(p.hostIp, !!p.ip6)) list.push({ HostIp: hostIp, HostPort: String(p.hostPort) });
  }
  return Object.fromEntries(Object.keys(ports).sort().map((k) => [k, ports[k]!])); // Go marshals a map's keys sorted
}

/** Docker's API port list (what `docker ps` reads) from NetworkSettings.Ports. */
export function apiPorts(sb: SandboxRecord): ApiPort[] {
  return Object.entries(portMap(sb)).flatMap(([key, bindings]) => {
    const [port, type] = key.split('/') as [string, string];
    if (!bindings) return [{ IP: '', PrivatePort: Number(port), PublicPort: 0, Type: type }];
    return bindings.map((b) => ({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type }));
  });
}

/** `ps` PORTS: Docker 20.10's text ("0.0.0.0:8080->80/tcp, 443/tcp"). */
export const psPorts = (sb: SandboxRecord) => displayablePorts(apiPorts(sb));

/** Where a sandbox's files are, for inspect's paths. */
export interface SandboxPaths {
  /** /etc/netns (the per-namespace /etc files live under it). */
  etcNetns: string;
  /** The file a detached command's output goes to (process.ts logFile). */
  logPath: string;
}

/** An endpoint's IPv6 fields in `inspect`: its address on a dual-stack network, the subnet's length, the bridge's IPv6 address. */
function ipv6Settings(e: EndpointRecord, n: NetworkRecord | undefined) {
  const on = !!(e.ip6 && n?.subnet6);
  return {
    IPv6Gateway: on ? n!.gateway6 ?? '' : '',
    GlobalIPv6Address: on ? e.ip6! : '',
    GlobalIPv6PrefixLen: on ? Number(n!.subnet6!.split('/')[1]) : 0,
  };
}

/**
 * `docker inspect` JSON for one sandbox, with the keys and value types Docker
 * 20.10 prints (docs/cli.md, "inspect"); `status` is the live one (see
 * process.ts). Keys of what nsnet has no counterpart for (image layers,
 * mounts' storage, cgroup limits) are left out rather than faked.
 */
export function inspectSandbox(sb: SandboxRecord, owner: SandboxRecord | undefined, allNetworks: NetworkRecord[],
  status: SandboxRecord['status'], paths: SandboxPaths): object {
  const s = { networks: allNetworks };
  const networks: Record<string, object> = {};
  for (const e of sb.endpoints) {
    // The way out of an overlay sandbox: `network inspect nsnet_gwbridge` shows it (as Docker's docker_gwbridge).
    if (e.gwbridge) continue;
    const n = networkOf(s, e.networkId);
    networks[n?.name ?? e.overlay?.network ?? e.networkId] = {
      IPAMConfig: e.staticIp || e.staticIp6 ? { ...(e.staticIp && { IPv4Address: e.ip }), ...(e.staticIp6 && { IPv6Address: e.ip6 }) } : null,
      Links: null,
      Aliases: n?.defaultBridge ? null : [...e.aliases, sb.id.slice(0, 12)],
      NetworkID: e.networkId,
      EndpointID: e.endpointId,
      Gateway: e.gateway,
      IPAddress: e.ip,
      IPPrefixLen: e.prefixlen,
      ...ipv6Settings(e, n),
      MacAddress: e.mac,
      DriverOpts: null,
    };
  }
  // host and none: Docker lists the network with empty addresses.
  if (sb.mode === 'host' || sb.mode === 'none') {
    const n = allNetworks.find((x) => x.name === sb.mode);
    networks[sb.mode] = {
      IPAMConfig: null, Links: null, Aliases: null, NetworkID: n?.id ?? '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
    };
  }
  // Docker fills the top-level fields from the default bridge's endpoint only.
  const dflt = sb.endpoints.find((e) => networkOf(s, e.networkId)?.defaultBridge);
  const running = status === 'running';
  const etc = (file: string) => (owner?.netns ? `${paths.etcNetns}/${owner.netns}/${file}` : `/etc/${file}`);
  const exposed = sb.exposed ?? [];
  return {
    Id: sb.id,
    Created: sb.created,
    Path: sb.command?.[0] ?? '',
    Args: sb.command?.slice(1) ?? [],
    State: {
      Status: dockerStatus(status),
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? sb.pid ?? 0 : 0,
      ExitCode: sb.exitCode ?? 0,
      Error: '',
      StartedAt: sb.startedAt ?? ZERO_TIME,
      FinishedAt: sb.finishedAt ?? ZERO_TIME,
    },
    Image: '', // no image: a sandbox runs the host's programs
    ResolvConfPath: etc('resolv.conf'),
    HostnamePath: etc('hostname'),
    HostsPath: etc('hosts'),
    LogPath: paths.logPath,
    Name: `/${sb.name}`,
    RestartCount: 0,
    Driver: '', // no storage driver: the host's file system
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      NetworkMode: sb.mode === 'container' ? `container:${sb.containerOf}` : sb.networkMode,
      PortBindings: Object.fromEntries(sb.ports.map((p) => [`${p.containerPort}/${p.proto}`, [{ HostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, HostPort: String(p.hostPort) }]])),
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      Dns: sb.dns,
      DnsOptions: sb.dnsOptions,
      DnsSearch: sb.dnsSearch,
      ExtraHosts: sb.extraHosts.length ? sb.extraHosts.map((h) => `${h.host}:${h.ip}`) : null,
      Links: sb.links.length ? sb.links.map((l) => `/${l.name}:/${sb.name}/${l.alias}`) : null,
      PidMode: sb.pidMode ?? '',
      PublishAllPorts: !!sb.publishAll,
    },
    Mounts: [],
    Config: {
      Hostname: sb.hostname,
      Domainname: '',
      User: '',
      ...(exposed.length && { ExposedPorts: Object.fromEntries(exposed.map((k) => [k, {}])) }), // omitempty, as Docker's
      Env: null, // the environment is given to each run/exec, not kept
      Cmd: sb.command ?? null,
      Image: '',
      WorkingDir: '',
      Entrypoint: null,
      Labels: sb.labels ?? {},
    },
    NetworkSettings: {
      // Docker 20.10 sets Bridge only from dockerd's -b option (daemon/network.go
      // updateEndpointNetworkSettings: BridgeConfig.Iface), "" by default and for every user-defined network.
      Bridge: '',
      SandboxID: owner?.id ?? '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: portMap(sb),
      SandboxKey: owner?.netns ? `/run/netns/${owner.netns}` : owner?.netnsPath ?? (sb.mode === 'host' ? '/proc/1/ns/net' : ''),
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: dflt?.endpointId ?? '',
      Gateway: dflt?.gateway ?? '',
      GlobalIPv6Address: dflt?.ip6 ?? '',
      GlobalIPv6PrefixLen: dflt ? ipv6Settings(dflt, networkOf(s, dflt.networkId)).GlobalIPv6PrefixLen : 0,
      IPAddress: dflt?.ip ?? '',
      IPPrefixLen: dflt?.prefixlen ?? 0,
      IPv6Gateway: dflt ? ipv6Settings(dflt, networkOf(s, dflt.networkId)).IPv6Gateway : '',
      MacAddress: dflt?.mac ?? '',
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

/**
 * Docker 20.10's `docker ps` columns, each where Docker has it; nsnet has no
 * image, so the second column (Docker's IMAGE) is the network the sandbox was
 * created on: a script that cuts columns by position finds the rest where
 * Docker puts them.
 */
export const PS_HEADERS = ['CONTAINER ID', 'NETWORK', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];

/** One `nsnet ps` row. */
export function psRow(sb: SandboxRecord, status: SandboxRecord['status'], noTrunc: boolean, now = Date.now()): string[] {
  return [
    noTrunc ? sb.id : sb.id.slice(0, 12),
    sb.networkMode,
    quotedCommand(sb, noTrunc),
    ago(sb.created, now),
    statusText(sb, status, now),
    psPorts(sb),
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
  return [noTrunc ? id : id.slice(0, 12), network, '', '', damagedStatus(d.name), '', d.name];
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
