// One entry of a compose file's `networks:`, read into a ComposeNetwork:
// a bridge network named `<project>_<key>` unless `name:` or `external:` says
// otherwise, with at most one IPv4 subnet (nsnet's networks are IPv4 only).
import { bool, ComposeError, isMap, keyValues, mapping, optScalar, warnUnknownKeys } from './read-values.js';
import type { ComposeNetwork } from './types.js';

const NETWORK_KEYS = new Set(['name', 'driver', 'driver_opts', 'external', 'internal', 'ipam', 'labels', 'attachable', 'enable_ipv4', 'enable_ipv6']);

/** The entry `networks.<key>`; `project` names the network unless `name:` or `external:` does. */
export function readNetwork(project: string, key: string, raw: unknown, warn: (m: string) => void): ComposeNetwork {
  const path = `networks.${key}`;
  const n = mapping(raw, path);
  warnUnknownKeys(n, NETWORK_KEYS, path, warn);
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
  const ipam = mapping(n.ipam, `${path}.ipam`);
  const ipamDriver = optScalar(ipam.driver, `${path}.ipam.driver`);
  if (ipamDriver !== undefined && ipamDriver !== 'default') throw new ComposeError(`${path}.ipam.driver: only the "default" IPAM driver is supported`);
  const configs = ipam.config === undefined || ipam.config === null ? [] : ipam.config;
  if (!Array.isArray(configs)) throw new ComposeError(`${path}.ipam.config must be a list`);
  if (configs.length > 1) throw new ComposeError(`${path}.ipam.config: nsnet networks take one IPv4 subnet`);
  if (configs.length === 1) {
    const c = mapping(configs[0], `${path}.ipam.config[0]`);
    const subnet = optScalar(c.subnet, `${path}.ipam.config[0].subnet`);
    const ipRange = optScalar(c.ip_range, `${path}.ipam.config[0].ip_range`);
    const gateway = optScalar(c.gateway, `${path}.ipam.config[0].gateway`);
    if (subnet) out.subnet = subnet;
    if (ipRange) out.ipRange = ipRange;
    if (gateway) out.gateway = gateway;
  }
  return out;
}
