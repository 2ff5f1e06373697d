// One entry of a compose file's `services:`, read into a ComposeService: its
// sandbox's name, network mode or networks, ports, links, DNS settings,
// command and environment, and what it depends on.
import { parsePublish } from '../docker/ports.js';
import { parseDotEnv } from './interpolate.js';
import { ComposeError, isMap, keyValues, mapping, optScalar, scalar, stringList, warnUnknownKeys } from './read-values.js';
import { shellWords } from './shell-words.js';
import type { ComposeService, LoadOptions, ServiceNetwork } from './types.js';

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

const SERVICE_NETWORK_KEYS = new Set(['aliases', 'ipv4_address', 'ipv6_address', 'priority', 'mac_address', 'link_local_ips', 'driver_opts', 'gw_priority', 'interface_name']);

/** `command:` / `entrypoint:`: a string split as shell words, a list taken as it is. */
function commandWords(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return shellWords(v, path);
  return stringList(v, path);
}

function readServiceNetworks(raw: unknown, path: string, warn: (m: string) => void): ServiceNetwork[] {
  const out: ServiceNetwork[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((k, i) => out.push({ key: scalar(k, `${path}[${i}]`), aliases: [], priority: 0 }));
  } else {
    for (const [key, v] of Object.entries(mapping(raw, path))) {
      const p = `${path}.${key}`;
      const cfg = mapping(v, p);
      warnUnknownKeys(cfg, SERVICE_NETWORK_KEYS, p, warn);
      const ipv4 = optScalar(cfg.ipv4_address, `${p}.ipv4_address`);
      const ipv6 = optScalar(cfg.ipv6_address, `${p}.ipv6_address`);
      const priority = cfg.priority === undefined ? 0 : Number(cfg.priority);
      if (!Number.isInteger(priority)) throw new ComposeError(`${p}.priority must be an integer`);
      out.push({ key, aliases: stringList(cfg.aliases, `${p}.aliases`), priority, ...(ipv4 && { ipv4Address: ipv4 }), ...(ipv6 && { ipv6Address: ipv6 }) });
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
  if (Array.isArray(raw)) return stringList(raw, path);
  return Object.keys(mapping(raw, path));
}

/** The entry `services.<name>`. */
export function readService(project: string, name: string, raw: unknown, o: LoadOptions): ComposeService {
  const path = `services.${name}`;
  const s = mapping(raw, path);
  warnUnknownKeys(s, SERVICE_KEYS, path, o.warn, SERVICE_KEYS_ELSEWHERE);
  const replicas = s.scale ?? (isMap(s.deploy) ? s.deploy.replicas : undefined);
  if (replicas !== undefined && Number(replicas) !== 1) o.warn(`${path}: nsnet creates one sandbox per service (scale/replicas ignored)`);

  // Environment: env_file entries first, `environment:` over them, as Compose.
  const env: Record<string, string> = {};
  for (const [i, f] of stringList(s.env_file, `${path}.env_file`, true).entries()) {
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

  const links = stringList(s.links, `${path}.links`).map((l) => {
    const [service, alias] = l.split(':');
    return { service: service!, alias: alias || service! };
  });
  const entrypoint = commandWords(s.entrypoint, `${path}.entrypoint`);
  const cmd = commandWords(s.command, `${path}.command`);
  const command = entrypoint || cmd ? [...(entrypoint ?? []), ...(cmd ?? [])] : undefined;
  if (command && command.length === 0) throw new ComposeError(`${path}.command is empty`);

  const containerName = optScalar(s.container_name, `${path}.container_name`) ?? `${project}_${name}_1`;
  const hostname = optScalar(s.hostname, `${path}.hostname`);
  const mac = optScalar(s.mac_address, `${path}.mac_address`);
  const workingDir = optScalar(s.working_dir, `${path}.working_dir`);
  const serviceOf = (mode: string | undefined) => (mode?.startsWith('service:') ? [mode.slice('service:'.length)] : []);
  const extraHosts = isMap(s.extra_hosts)
    ? Object.entries(s.extra_hosts).map(([h, ip]) => `${h}:${scalar(ip, `${path}.extra_hosts.${h}`)}`)
    : stringList(s.extra_hosts, `${path}.extra_hosts`).map((h) => (h.includes('=') ? h.replace('=', ':') : h));
  return {
    name,
    containerName,
    ...(networkMode !== undefined && { networkMode }),
    networks,
    ports: readPorts(s.ports, `${path}.ports`),
    expose: stringList(s.expose, `${path}.expose`),
    ...(hostname !== undefined && { hostname }),
    ...(mac !== undefined && { mac }),
    links,
    externalLinks: stringList(s.external_links, `${path}.external_links`),
    dns: stringList(s.dns, `${path}.dns`, true),
    dnsSearch: stringList(s.dns_search, `${path}.dns_search`, true),
    dnsOptions: stringList(s.dns_opt, `${path}.dns_opt`),
    extraHosts,
    ...(pid !== undefined && { pid }),
    ...(command && { command }),
    environment: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(workingDir !== undefined && { workingDir }),
    dependsOn: [...new Set([...readDependsOn(s.depends_on, `${path}.depends_on`), ...links.map((l) => l.service), ...serviceOf(networkMode), ...serviceOf(pid)])],
    labels: keyValues(s.labels, `${path}.labels`, {}),
  };
}

