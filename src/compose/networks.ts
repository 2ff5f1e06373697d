// One entry of a compose file's `networks:`, read into a ComposeNetwork:
// a bridge or macvlan network named `<project>_<key>` unless `name:` or
// `external:` says otherwise, with at most one ipam.config entry per family
// (an IPv6 one needs enable_ipv6: true, as `network create --ipv6`). A
// macvlan network's `driver_opts` are Docker's -o options (`parent`,
// `macvlan_mode`), checked when the network is made, as
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
  const ipv6 = bool(n.enable_ipv6, `${path}.enable_ipv6`);
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
    ...(ipv6 && { enableIPv6: true }),
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
  const seen = new Set<string>();
  configs.forEach((raw, i) => {
    const p = `${path}.ipam.config[${i}]`;
    const c = mapping(raw, p);
    const subnet = optScalar(c.subnet, `${p}.subnet`);
    const ipRange = optScalar(c.ip_range, `${p}.ip_range`);
    const gateway = optScalar(c.gateway, `${p}.gateway`);
    const aux = keyValues(c.aux_addresses, `${p}.aux_addresses`, {});
    warnUnknownKeys(c, IPAM_CONFIG_KEYS, p, warn);
    // The entry's family: its subnet's (or gateway's, range's) address.
    const family = (subnet ?? gateway ?? ipRange ?? '').includes(':') ? 'IPv6' : 'IPv4';
    if (seen.has(family)) throw new ComposeError(`${p}: a second ${family} entry: nsnet networks take one subnet per family`);
    seen.add(family);
    if (family === 'IPv4') {
      if (subnet) out.subnet = subnet;
      if (ipRange) out.ipRange = ipRange;
      if (gateway) out.gateway = gateway;
      if (Object.keys(aux).length) out.auxAddresses = aux;
      return;
    }
    if (!ipv6) throw new ComposeError(`${p}: an IPv6 subnet needs enable_ipv6: true on the network`);
    if (Object.keys(aux).length) throw new ComposeError(`${p}.aux_addresses: not supported on an IPv6 subnet`);
    if (ipRange) throw new ComposeError(`${p}.ip_range: not supported on an IPv6 subnet (sandboxes take the lowest free address of the subnet)`);
    if (!subnet) throw new ComposeError(`${p}: an IPv6 gateway needs its subnet`);
    out.subnet6 = subnet;
    if (gateway) out.gateway6 = gateway;
  });
  return out;
}
