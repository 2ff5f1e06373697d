// A compose file, read as Compose reads its network part: the project, its
// networks and its services, validated and normalised, with every error
// naming the key that is wrong ("services.web.ports[1]: ...").
//
//   name: shop                    # or -p, COMPOSE_PROJECT_NAME, the directory's name
//   services:
//     web:                        # a sandbox named shop_web_1
//       command: python3 -m http.server 80
//       ports: ["8080:80"]
//       networks:
//         front: { aliases: [www] }
//         back:
//     db:
//       network_mode: service:web # or host, none, container:NAME
//   networks:
//     front:                      # a bridge network named shop_front
//     back: { internal: true }
//
// What Compose does and nsnet copies: services without `networks:` join
// `<project>_default`; the service name is an alias on each of its networks;
// `links`, `depends_on`, `network_mode: service:X` and `pid: service:X` order
// the services; networks are `<project>_<key>` unless `name:` or `external:`
// says otherwise. Keys with no network meaning (image, volumes, restart, ...)
// are accepted and ignored; unknown keys are ignored with a warning.
//
// Pure: the caller parses YAML and reads files (env_file) through `readFile`.
import { parsePublish } from '../docker/ports.js';
import { interpolateTree, parseDotEnv, type Env } from './interpolate.js';

export class ComposeError extends Error {
  override name = 'ComposeError';
}

export interface ComposeNetwork {
  /** The key under `networks:` ("default" for the implicit one). */
  key: string;
  /** The network's real name: `<project>_<key>`, or `name:`. */
  name: string;
  external: boolean;
  internal: boolean;
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export interface ServiceNetwork {
  key: string;
  aliases: string[];
  ipv4Address?: string;
  priority: number;
}

export interface ComposeService {
  name: string;
  /** The sandbox: `<project>_<service>_1`, or `container_name:`. */
  containerName: string;
  /** host, none, bridge, service:X or container:X; undefined when the service uses `networks`. */
  networkMode?: string;
  /** In the order Compose connects them: priority (highest first), then name. */
  networks: ServiceNetwork[];
  /** `-p` syntax, one entry per `ports:` item. */
  ports: string[];
  expose: string[];
  hostname?: string;
  mac?: string;
  /** Other services this one links to, with the alias the link gives. */
  links: { service: string; alias: string }[];
  /** `external_links`: sandboxes outside the project, `name[:alias]`. */
  externalLinks: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** `host:ip` */
  extraHosts: string[];
  /** host, service:X or container:X */
  pid?: string;
  /** entrypoint + command; undefined: the sandbox is created and nothing runs in it. */
  command?: string[];
  /** `KEY=VALUE` */
  environment: string[];
  workingDir?: string;
  /** Services that must be up first (depends_on, links, service: modes). */
  dependsOn: string[];
  labels: Record<string, string>;
}

export interface ComposeProject {
  name: string;
  /** Every network the file defines or implies, by key. */
  networks: ComposeNetwork[];
  /** In start order: each after what it depends on. */
  services: ComposeService[];
}

export interface LoadOptions {
  /** -p, or COMPOSE_PROJECT_NAME (the caller picks). */
  projectName?: string;
  /** The directory the project's name defaults to, and where env_file paths start. */
  projectDir: string;
  /** Process environment merged over the project's .env. */
  env: Env;
  readFile: (path: string) => string;
  warn: (message: string) => void;
}

// ---- keys ------------------------------------------------------------------

const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include', 'models']);

/** Service keys nsnet acts on. */
const SERVICE_KEYS = new Set([
  'command', 'entrypoint', 'environment', 'env_file', 'hostname', 'container_name', 'networks', 'network_mode',
  'ports', 'expose', 'links', 'external_links', 'dns', 'dns_search', 'dns_opt', 'extra_hosts', 'mac_address',
  'depends_on', 'working_dir', 'pid', 'labels', 'profiles',
]);

/** Compose's other service keys: about images, storage, resources, not the network. Accepted, ignored quietly. */
const SERVICE_KEYS_ELSEWHERE = new Set([
  'annotations', 'attach', 'blkio_config', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'configs',
  'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus',
  'cpuset', 'credential_spec', 'deploy', 'develop', 'device_cgroup_rules', 'devices', 'domainname', 'gpus',
  'group_add', 'healthcheck', 'image', 'init', 'ipc', 'isolation', 'label_file', 'logging', 'mem_limit',
  'mem_reservation', 'mem_swappiness', 'memswap_limit', 'oom_kill_disable', 'oom_score_adj', 'platform',
  'post_start', 'pre_stop', 'privileged', 'pull_policy', 'read_only', 'restart', 'runtime', 'scale', 'secrets',
  'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal', 'storage_opt', 'sysctls', 'tmpfs',
  'tty', 'ulimits', 'user', 'userns_mode', 'uts', 'volumes', 'volumes_from', 'extends', 'models', 'provider',
]);

const NETWORK_KEYS = new Set(['name', 'driver', 'driver_opts', 'external', 'internal', 'ipam', 'labels', 'attachable', 'enable_ipv4', 'enable_ipv6']);
const SERVICE_NETWORK_KEYS = new Set(['aliases', 'ipv4_address', 'ipv6_address', 'priority', 'mac_address', 'link_local_ips', 'driver_opts', 'gw_priority', 'interface_name']);

function unknownKeys(obj: Record<string, unknown>, known: Set<string>, path: string, warn: (m: string) => void, also?: Set<string>): void {
  for (const k of Object.keys(obj)) {
    if (known.has(k) || also?.has(k) || k.startsWith('x-')) continue;
    warn(`${path ? `${path}.` : ''}${k}: unknown key, ignored`);
  }
}

// ---- value readers: each names the key when the value has the wrong shape ----

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mapAt(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new ComposeError(`${path} must be a mapping`);
  return v;
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ComposeError(`${path} must be a string`);
}

function optScalar(v: unknown, path: string): string | undefined {
  return v === undefined || v === null ? undefined : scalar(v, path);
}

function bool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ComposeError(`${path} must be a boolean`);
}

/** A list of strings, or one string where Compose allows it (`dns: 1.1.1.1`). */
function strings(v: unknown, path: string, oneAllowed = false): string[] {
  if (v === undefined || v === null) return [];
  if (oneAllowed && !Array.isArray(v)) return [scalar(v, path)];
  if (!Array.isArray(v)) throw new ComposeError(`${path} must be a list`);
  return v.map((x, i) => scalar(x, `${path}[${i}]`));
}

/** `KEY=VALUE` pairs from a list (`- KEY=VALUE`, `- KEY`) or a mapping (`KEY: VALUE`, `KEY:`). */
function keyValues(v: unknown, path: string, env: Env, sep = '='): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const s = scalar(item, `${path}[${i}]`);
      const at = s.indexOf(sep);
      if (at < 0) {
        // `- KEY` alone: the value comes from the environment, or the key is left out.
        const fromEnv = env[s];
        if (fromEnv !== undefined) out[s] = fromEnv;
      } else {
        out[s.slice(0, at)] = s.slice(at + 1);
      }
    });
    return out;
  }
  for (const [k, val] of Object.entries(mapAt(v, path))) {
    if (val === null || val === undefined) {
      const fromEnv = env[k];
      if (fromEnv !== undefined) out[k] = fromEnv;
    } else {
      out[k] = scalar(val, `${path}.${k}`);
    }
  }
  return out;
}

/**
 * A command as Compose splits a string one (shell words: quotes and
 * backslashes, no variables or globbing); a list is taken as it is.
 */
export function shellWords(text: string, path = 'command'): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      // Inside double quotes a backslash escapes a quote, a backslash, $ and a backtick; single quotes keep all.
      let end = i + 1;
      while (end < text.length && text[end] !== c) end += c === '"' && text[end] === '\\' ? 2 : 1;
      if (end >= text.length) throw new ComposeError(`${path}: unterminated ${c === '"' ? 'double' : 'single'} quote`);
      let quoted = text.slice(i + 1, end);
      if (c === '"') quoted = quoted.replace(/\\(["\\$`])/g, '$1');
      cur += quoted;
      inWord = true;
      i = end;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function commandAt(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return shellWords(v, path);
  return strings(v, path);
}

// ---- project name ----------------------------------------------------------

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A directory name made into a project name, as Compose does: lower case, only [a-z0-9_-]. */
export function normalizeProjectName(dirName: string): string {
  return dirName.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

function checkProjectName(name: string, from: string): string {
  if (!PROJECT_NAME.test(name)) {
    throw new ComposeError(`${from}: invalid project name "${name}": must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit`);
  }
  return name;
}

// ---- networks --------------------------------------------------------------

function readNetwork(project: string, key: string, raw: unknown, warn: (m: string) => void): ComposeNetwork {
  const path = `networks.${key}`;
  const n = mapAt(raw, path);
  unknownKeys(n, NETWORK_KEYS, path, warn);
  const driver = optScalar(n.driver, `${path}.driver`) ?? 'bridge';
  if (driver !== 'bridge') throw new ComposeError(`${path}.driver: nsnet supports only the "bridge" driver, not "${driver}"`);
  if (bool(n.enable_ipv6, `${path}.enable_ipv6`)) throw new ComposeError(`${path}.enable_ipv6: nsnet networks are IPv4 only`);
  const ext = n.external;
  let external = false;
  let name = optScalar(n.name, `${path}.name`);
  if (isMap(ext)) {
    // The legacy `external: { name: x }`.
    external = true;
    name = optScalar(ext.name, `${path}.external.name`) ?? name;
  } else {
    external = bool(ext, `${path}.external`);
  }
  const out: ComposeNetwork = {
    key,
    name: name ?? (external ? key : `${project}_${key}`),
    external,
    internal: bool(n.internal, `${path}.internal`),
    options: keyValues(n.driver_opts, `${path}.driver_opts`, {}),
    labels: keyValues(n.labels, `${path}.labels`, {}),
  };
  if (external) {
    const extra = Object.keys(n).filter((k) => !['external', 'name'].includes(k) && !k.startsWith('x-'));
    if (extra.length) throw new ComposeError(`${path}: conflicting parameters "external" and "${extra[0]}" specified`);
    return out;
  }
  const ipam = mapAt(n.ipam, `${path}.ipam`);
  const ipamDriver = optScalar(ipam.driver, `${path}.ipam.driver`);
  if (ipamDriver !== undefined && ipamDriver !== 'default') throw new ComposeError(`${path}.ipam.driver: only the "default" IPAM driver is supported`);
  const configs = ipam.config === undefined || ipam.config === null ? [] : ipam.config;
  if (!Array.isArray(configs)) throw new ComposeError(`${path}.ipam.config must be a list`);
  if (configs.length > 1) throw new ComposeError(`${path}.ipam.config: nsnet networks take one IPv4 subnet`);
  if (configs.length === 1) {
    const c = mapAt(configs[0], `${path}.ipam.config[0]`);
    const subnet = optScalar(c.subnet, `${path}.ipam.config[0].subnet`);
    const ipRange = optScalar(c.ip_range, `${path}.ipam.config[0].ip_range`);
    const gateway = optScalar(c.gateway, `${path}.ipam.config[0].gateway`);
    if (subnet) out.subnet = subnet;
    if (ipRange) out.ipRange = ipRange;
    if (gateway) out.gateway = gateway;
  }
  return out;
}

// ---- services --------------------------------------------------------------

function readServiceNetworks(raw: unknown, path: string, warn: (m: string) => void): ServiceNetwork[] {
  const out: ServiceNetwork[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((k, i) => out.push({ key: scalar(k, `${path}[${i}]`), aliases: [], priority: 0 }));
  } else {
    for (const [key, v] of Object.entries(mapAt(raw, path))) {
      const p = `${path}.${key}`;
      const cfg = mapAt(v, p);
      unknownKeys(cfg, SERVICE_NETWORK_KEYS, p, warn);
      if (cfg.ipv6_address !== undefined) throw new ComposeError(`${p}.ipv6_address: nsnet networks are IPv4 only`);
      const ipv4 = optScalar(cfg.ipv4_address, `${p}.ipv4_address`);
      const priority = cfg.priority === undefined ? 0 : Number(cfg.priority);
      if (!Number.isInteger(priority)) throw new ComposeError(`${p}.priority must be an integer`);
      out.push({ key, aliases: strings(cfg.aliases, `${p}.aliases`), priority, ...(ipv4 && { ipv4Address: ipv4 }) });
    }
  }
  return out.sort((a, b) => b.priority - a.priority || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** `ports:` items, short (`"8080:80/udp"`, `80`) or long (`{target, published, host_ip, protocol}`), as -p strings. */
function readPorts(raw: unknown, path: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ComposeError(`${path} must be a list`);
  return raw.map((item, i) => {
    const p = `${path}[${i}]`;
    let spec: string;
    if (isMap(item)) {
      const target = optScalar(item.target, `${p}.target`);
      if (!target) throw new ComposeError(`${p}.target is required`);
      const published = optScalar(item.published, `${p}.published`) ?? '';
      const hostIp = optScalar(item.host_ip, `${p}.host_ip`);
      const proto = optScalar(item.protocol, `${p}.protocol`);
      if (item.mode !== undefined && item.mode !== 'host' && item.mode !== 'ingress') throw new ComposeError(`${p}.mode must be "host" or "ingress"`);
      spec = `${hostIp ? `${hostIp}:${published}:` : published ? `${published}:` : ''}${target}${proto ? `/${proto}` : ''}`;
    } else {
      spec = scalar(item, p);
    }
    try {
      parsePublish(spec);
    } catch (e) {
      throw new ComposeError(`${p}: ${(e as Error).message}`);
    }
    return spec;
  });
}

/** depends_on as a list of names or a mapping name -> { condition }. */
function readDependsOn(raw: unknown, path: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) return strings(raw, path);
  return Object.keys(mapAt(raw, path));
}

function readService(project: string, name: string, raw: unknown, o: LoadOptions): ComposeService {
  const path = `services.${name}`;
  const s = mapAt(raw, path);
  unknownKeys(s, SERVICE_KEYS, path, o.warn, SERVICE_KEYS_ELSEWHERE);
  const replicas = s.scale ?? (isMap(s.deploy) ? s.deploy.replicas : undefined);
  if (replicas !== undefined && Number(replicas) !== 1) o.warn(`${path}: nsnet creates one sandbox per service (scale/replicas ignored)`);

  // Environment: env_file entries first, `environment:` over them, as Compose.
  const env: Record<string, string> = {};
  for (const [i, f] of strings(s.env_file, `${path}.env_file`, true).entries()) {
    const file = f.startsWith('/') ? f : `${o.projectDir}/${f}`;
    try {
      // The same format as the project's .env file.
      Object.assign(env, parseDotEnv(o.readFile(file), file));
    } catch (e) {
      throw new ComposeError(`${path}.env_file[${i}]: ${(e as Error).message}`);
    }
  }
  Object.assign(env, keyValues(s.environment, `${path}.environment`, o.env));

  const networkMode = optScalar(s.network_mode, `${path}.network_mode`);
  if (networkMode !== undefined) {
    if (s.networks !== undefined) throw new ComposeError(`${path}: "network_mode" and "networks" cannot be combined`);
    if (!/^(host|none|bridge|service:.+|container:.+)$/.test(networkMode)) {
      throw new ComposeError(`${path}.network_mode: "${networkMode}" is not one of host, none, bridge, service:NAME, container:NAME`);
    }
  }
  const networks = networkMode === undefined
    ? (s.networks === undefined ? [{ key: 'default', aliases: [], priority: 0 }] : readServiceNetworks(s.networks, `${path}.networks`, o.warn))
    : [];
  const pid = optScalar(s.pid, `${path}.pid`);
  if (pid !== undefined && !/^(host|service:.+|container:.+)$/.test(pid)) throw new ComposeError(`${path}.pid: "${pid}" is not one of host, service:NAME, container:NAME`);

  const links = strings(s.links, `${path}.links`).map((l) => {
    const [service, alias] = l.split(':');
    return { service: service!, alias: alias || service! };
  });
  const entrypoint = commandAt(s.entrypoint, `${path}.entrypoint`);
  const cmd = commandAt(s.command, `${path}.command`);
  const command = entrypoint || cmd ? [...(entrypoint ?? []), ...(cmd ?? [])] : undefined;
  if (command && command.length === 0) throw new ComposeError(`${path}.command is empty`);

  const containerName = optScalar(s.container_name, `${path}.container_name`) ?? `${project}_${name}_1`;
  const hostname = optScalar(s.hostname, `${path}.hostname`);
  const mac = optScalar(s.mac_address, `${path}.mac_address`);
  const workingDir = optScalar(s.working_dir, `${path}.working_dir`);
  const serviceOf = (mode: string | undefined) => (mode?.startsWith('service:') ? [mode.slice('service:'.length)] : []);
  const extraHosts = isMap(s.extra_hosts)
    ? Object.entries(s.extra_hosts).map(([h, ip]) => `${h}:${scalar(ip, `${path}.extra_hosts.${h}`)}`)
    : strings(s.extra_hosts, `${path}.extra_hosts`).map((h) => (h.includes('=') ? h.replace('=', ':') : h));
  return {
    name,
    containerName,
    ...(networkMode !== undefined && { networkMode }),
    networks,
    ports: readPorts(s.ports, `${path}.ports`),
    expose: strings(s.expose, `${path}.expose`),
    ...(hostname !== undefined && { hostname }),
    ...(mac !== undefined && { mac }),
    links,
    externalLinks: strings(s.external_links, `${path}.external_links`),
    dns: strings(s.dns, `${path}.dns`, true),
    dnsSearch: strings(s.dns_search, `${path}.dns_search`, true),
    dnsOptions: strings(s.dns_opt, `${path}.dns_opt`),
    extraHosts,
    ...(pid !== undefined && { pid }),
    ...(command && { command }),
    environment: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(workingDir !== undefined && { workingDir }),
    dependsOn: [...new Set([...readDependsOn(s.depends_on, `${path}.depends_on`), ...links.map((l) => l.service), ...serviceOf(networkMode), ...serviceOf(pid)])],
    labels: keyValues(s.labels, `${path}.labels`, {}),
  };
}

/** Services in an order where each comes after what it depends on; names the cycle if there is one. */
function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out: ComposeService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: ComposeService, trail: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new ComposeError(`dependency cycle detected: ${[...trail, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.dependsOn) visit(byName.get(d)!, [...trail, s.name]);
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of services) visit(s, []);
  return out;
}

/**
 * Reads a compose document (already parsed from YAML) into a project.
 * `fileName` is only for messages.
 */
export function loadProject(doc: unknown, o: LoadOptions): ComposeProject {
  if (!isMap(doc)) throw new ComposeError('the compose file must be a mapping at the top level');
  unknownKeys(doc, TOP_KEYS, '', o.warn);
  const tree = interpolateTree(doc, o.env, '', o.warn) as Record<string, unknown>;
  if (tree.include !== undefined) o.warn('include: not supported by nsnet, ignored');

  const fromFile = optScalar(tree.name, 'name');
  const project = o.projectName !== undefined ? checkProjectName(o.projectName, 'project name')
    : fromFile !== undefined ? checkProjectName(fromFile, 'name')
    : normalizeProjectName(o.projectDir.split('/').filter(Boolean).pop() ?? '');
  if (!project) throw new ComposeError(`cannot derive a project name from the directory "${o.projectDir}": use -p NAME`);

  const rawServices = mapAt(tree.services, 'services');
  if (Object.keys(rawServices).length === 0) throw new ComposeError('no service defined in "services"');
  const rawNetworks = mapAt(tree.networks, 'networks');
  const networks = new Map<string, ComposeNetwork>();
  for (const [key, raw] of Object.entries(rawNetworks)) networks.set(key, readNetwork(project, key, raw, o.warn));
  if (!networks.has('default')) networks.set('default', { key: 'default', name: `${project}_default`, external: false, internal: false, options: {}, labels: {} });

  // Services with `profiles:` start only when one of their profiles is enabled (COMPOSE_PROFILES).
  const enabled = new Set((o.env.COMPOSE_PROFILES ?? '').split(',').map((p) => p.trim()).filter(Boolean));
  const all: ComposeService[] = [];
  for (const [name, raw] of Object.entries(rawServices)) {
    if (!/^[a-zA-Z0-9._-]+$/.test(name)) throw new ComposeError(`services.${name}: invalid service name: only [a-zA-Z0-9._-] are allowed`);
    const profiles = isMap(raw) ? strings(raw.profiles, `services.${name}.profiles`) : [];
    if (profiles.length && !profiles.some((p) => enabled.has(p) || enabled.has('*'))) continue;
    all.push(readService(project, name, raw, o));
  }

  const names = new Set(all.map((s) => s.name));
  const containers = new Map<string, string>();
  for (const s of all) {
    const path = `services.${s.name}`;
    for (const n of s.networks) {
      if (!networks.has(n.key)) throw new ComposeError(`service "${s.name}" refers to undefined network ${n.key}: invalid compose project`);
    }
    for (const d of s.dependsOn) {
      if (!names.has(d)) throw new ComposeError(`${path}: depends on undefined service "${d}"`);
    }
    const other = containers.get(s.containerName);
    if (other) throw new ComposeError(`${path}.container_name: "${s.containerName}" is already used by service "${other}"`);
    containers.set(s.containerName, s.name);
  }
  const used = new Set(all.flatMap((s) => s.networks.map((n) => n.key)));
  return { name: project, networks: [...networks.values()].filter((n) => used.has(n.key)), services: startOrder(all) };
}
