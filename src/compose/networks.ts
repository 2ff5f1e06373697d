// One entry of a compose file's `networks:`, read into a ComposeNetwork:
// a bridge or macvlan network named `<project>_<key>` unless `name:` or
// `external:` says otherwise, with at most one IPv4 subnet (nsnet's networks
// are IPv4 only). A macvlan network's `driver_opts` are Docker's -o options
// (`parent`, `macvlan_mode`), checked when the network is made, as
// `nsnet network create -d macvlan -o ...` checks them:
//
//   networks:
//     lan:
//       driver: macvlan
//       driver_opts: { parent: ens4, macvlan_mode: bridge }
//       ipam:
//         config:
//           - subnet: 192.0.2.0/24
//             gateway: 192.0.2.1            # the LAN's router
//             ip_range: 192.0.2.64/27       # the sandboxes' slice
//             aux_addresses: { host: 192.0.2.64 }   # never handed out
import { bool, ComposeError, isMap, keyValues, mapping, optScalar, warnUnknownKeys } from './read-values.js';
import type { ComposeNetwork } from './types.js';

/** The drivers nsnet has (docker/network.ts planNetwork). */
const DRIVERS: readonly ComposeNetwork['driver'][] = ['bridge', 'macvlan'];

const NETWORK_KEYS = new Set(['name', 'driver', 'driver_opts', 'external', 'internal', 'ipam', 'labels', 'attachable', 'enable_ipv4', 'enable_ipv6']);

const IPAM_CONFIG_KEYS = new Set(['subnet', 'ip_range', 'gateway', 'aux_addresses']);

/** The entry `networks.<key>`; `project` names the network unless `name:` or `external:` does. */
export function readNetwork(project: string, key: string, raw: unknown, warn: (m: string) => void): ComposeNetwork {
  const path = `networks.${key}`;
  const n = mapping(raw, path);
  warnUnknownKeys(n, NETWORK_KEYS, path, warn);
  const driverText = optScalar(n.driver, `${path}.driver`) ?? 'bridge';
  const driver = DRIVERS.find((d) => d === driverText);
  if (!driver) throw new ComposeError(`${path}.driver: nsnet supports the "bridge" and "macvlan" drivers, not "${driverText}"`);
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
    driver,
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
    const aux = keyValues(c.aux_addresses, `${path}.ipam.config[0].aux_addresses`, {});
    warnUnknownKeys(c, IPAM_CONFIG_KEYS, `${path}.ipam.config[0]`, warn);
    if (subnet) out.subnet = subnet;
    if (ipRange) out.ipRange = ipRange;
    if (gateway) out.gateway = gateway;
    if (Object.keys(aux).length) out.auxAddresses = aux;
  }
  return out;
}
