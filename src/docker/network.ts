// Networks, the pure part: validating `nsnet network create`, choosing the
// subnet and bridge name (a macvlan network's own part: macvlan.ts), and
// rendering `network ls` / `network inspect` the way Docker does. The impure
// part (the bridge, its address, the firewall elements) is in networks.ts.
import { chooseSubnet, formatIpv4Block, parseIpv4Block, subnetConflict } from '../net/subnet-pool.js';
import { planPool } from '../net/ipam.js';
import { chooseUla64, ipv6Overlap, parseIpv6Block, planPool6 } from '../net/ip6.js';
import { asInvalid, conflict, invalidArg } from './errors.js';
import { checkIfName } from '../kernel/link.js';
import { macvlanOverlap, MACVLAN_OPTIONS, planMacvlan } from './macvlan.js';
import { bridgeNameFor, checkName, newId } from './names.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

export const DEFAULT_BRIDGE = 'nsnet0';

/**
 * The local bridge network that gives overlay sandboxes their way out
 * (Docker's docker_gwbridge; gwbridge.ts): made on first use, with Docker's
 * three options for it. Its bridge device has the same name (14 characters:
 * within IFNAMSIZ). Made by hand first (`network create ... nsnet_gwbridge`),
 * as Docker users pre-create docker_gwbridge, it is used as it is.
 */
export const GWBRIDGE = 'nsnet_gwbridge';
export const GWBRIDGE_OPTIONS: Readonly<Record<string, string>> = {
  'com.docker.network.bridge.name': GWBRIDGE,
  'com.docker.network.bridge.enable_icc': 'false',
  'com.docker.network.bridge.enable_ip_masquerade': 'true',
};

/** Is this the overlay sandboxes' way-out network? (by name, as libnetwork finds docker_gwbridge) */
export const isGwbridge = (n: { name: string; driver: string }): boolean => n.name === GWBRIDGE && n.driver === 'bridge';

/** Options nsnet understands; Docker accepts others silently, nsnet warns. */
export const KNOWN_OPTIONS = [
  'com.docker.network.driver.mtu',
  'com.docker.network.bridge.enable_icc',
  'com.docker.network.bridge.enable_ip_masquerade',
  'com.docker.network.bridge.name',
  'com.nsnet.network.host_dns',
] as const;

/**
 * nsnet's own option (docs/dns.md "Names for the host"): the DNS server also
 * answers the network's names on its gateway address, port 53, to the host only.
 */
export const HOST_DNS_OPTION = 'com.nsnet.network.host_dns';

export interface NetworkCreateRequest {
  name: string;
  driver?: string;
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  /** --aux-address NAME=IP: addresses IPAM never hands out. */
  auxAddresses?: Record<string, string>;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
  /** Traffic to this range is not masqueraded (CNI clusterCIDR: pods on other nodes, reached by routes). */
  clusterCidr?: string;
  /** --ipv6: dual stack; `subnet6` (the IPv6 --subnet) or a /64 of the host's ULA /48 (`ulaGlobalId`, networks.ts keeps it). */
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  ulaGlobalId?: string;
}

export function boolOption(options: Record<string, string>, key: string, dflt: boolean): boolean {
  const v = options[key];
  if (v === undefined) return dflt;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw invalidArg(`invalid value for ${key}: "${v}": expected true or false`);
}

/**
 * Plans a user-defined network (bridge or macvlan): validated, with its
 * subnet, gateway and (bridge) bridge name or (macvlan) parent chosen.
 * `reserved` are prefixes already in use on the host (on-link routes,
 * addresses, nameservers) that a *default* subnet must avoid. A macvlan
 * parent's existence is the caller's to check (it reads the kernel).
 */
export function planNetwork(req: NetworkCreateRequest, state: State, reserved: string[]): { network: NetworkRecord; warnings: string[] } {
  asInvalid(() => checkName('network', req.name));
  const driver = req.driver ?? 'bridge';
  if (driver !== 'bridge' && driver !== 'macvlan') {
    if (driver === 'host' || driver === 'null') throw invalidArg(`only one instance of "${driver}" network is allowed`);
    throw invalidArg(`plugin "${driver}" not found: nsnet supports the bridge and macvlan drivers`);
  }
  if (state.networks.some((n) => n.name === req.name)) throw conflict(`network with name ${req.name} already exists`);
  const options = req.options ?? {};
  const known: readonly string[] = driver === 'macvlan' ? MACVLAN_OPTIONS : KNOWN_OPTIONS;
  const warnings = Object.keys(options)
    .filter((k) => !known.includes(k))
    .map((k) => `WARNING: option ${k} is not used by nsnet`);
  const id = newId();
  // macvlan: the parent and mode first, so a bad option is reported before the subnet.
  const mv = driver === 'macvlan' ? planMacvlan(id, !!req.internal, options) : undefined;
  if (mv?.warning) warnings.push(mv.warning);

  // One address space for every network with a subnet, as Docker's default IPAM.
  const ipNets = state.networks.filter((n) => n.subnet && (n.driver === 'bridge' || n.driver === 'macvlan'));
  if (!req.subnet && (req.gateway || req.ipRange || (req.auxAddresses && Object.keys(req.auxAddresses).length))) {
    throw invalidArg(req.gateway ? 'invalid config: a gateway needs a --subnet' : req.ipRange ? 'invalid config: --ip-range needs a --subnet' : 'invalid config: --aux-address needs a --subnet');
  }
  const want = (subnet: string) => ({ subnet, ...(req.gateway && { gateway: req.gateway }), ...(req.ipRange && { ipRange: req.ipRange }),
    ...(req.auxAddresses && { aux: req.auxAddresses }) });
  let subnet = req.subnet;
  if (subnet) {
    // Validate the text first, so a malformed subnet is reported as such.
    asInvalid(() => planPool(want(subnet!)));
    if (mv) {
      const same = macvlanOverlap(subnet, mv.parent, ipNets);
      if (same) throw conflict(same);
    }
    const clash = asInvalid(() => subnetConflict(subnet!, ipNets.map((n) => ({ name: n.name, subnet: n.subnet! }))));
    if (clash) throw conflict(clash);
  } else {
    subnet = asInvalid(() => chooseSubnet({ allocated: ipNets.map((n) => n.subnet!), reserved }));
  }
  const pool = asInvalid(() => planPool(want(subnet!)));
  const common = {
    id, name: req.name, created: new Date().toISOString(), builtin: false, internal: !!req.internal,
    labels: req.labels ?? {}, subnet: pool.subnet, gateway: pool.gateway,
    ...(pool.ipRange && { ipRange: pool.ipRange }), ...(pool.aux && { auxAddresses: pool.aux }),
    ...planIpv6(req, state),
  };
  if (mv) {
    return { network: { ...common, driver: 'macvlan', options: { ...options, parent: mv.parent, macvlan_mode: mv.mode },
      parent: mv.parent, macvlanMode: mv.mode, ...(mv.ownParent && { ownParent: true }) }, warnings };
  }

  const bridges = state.networks.filter((n) => n.driver === 'bridge');
  const bridge = options['com.docker.network.bridge.name'] ?? bridgeNameFor(id);
  asInvalid(() => checkIfName(bridge));
  const taken = bridges.find((n) => n.bridge === bridge);
  if (taken) throw conflict(`bridge name ${bridge} is already used by network ${taken.name}`);
  let mtu: number | undefined;
  const mtuText = options['com.docker.network.driver.mtu'];
  if (mtuText !== undefined) {
    mtu = Number(mtuText);
    if (!/^\d+$/.test(mtuText) || mtu < 68 || mtu > 65535) throw invalidArg(`invalid MTU "${mtuText}": must be 68-65535`);
  }
  const clusterCidr = req.clusterCidr === undefined ? undefined : asInvalid(() => formatIpv4Block(parseIpv4Block(req.clusterCidr!)));
  const network: NetworkRecord = {
    ...common,
    driver: 'bridge',
    options,
    bridge,
    ...(mtu && { mtu }),
    icc: boolOption(options, 'com.docker.network.bridge.enable_icc', true),
    masquerade: boolOption(options, 'com.docker.network.bridge.enable_ip_masquerade', true),
    ...(boolOption(options, HOST_DNS_OPTION, false) && { hostDns: true }),
    ...(clusterCidr && { clusterCidr }),
  };
  return { network, warnings };
}

/** A dual-stack network's IPv6 fields (none without --ipv6): its subnet checked against the other networks', or one of the ULA pool. */
function planIpv6(req: NetworkCreateRequest, state: State): Pick<NetworkRecord, 'enableIPv6' | 'subnet6' | 'gateway6'> {
  if (!req.ipv6) {
    if (req.subnet6) throw invalidArg(`invalid config: IPv6 subnet ${req.subnet6} needs --ipv6`);
    return {};
  }
  if (!req.subnet6 && req.gateway6) throw invalidArg('invalid config: an IPv6 gateway needs an IPv6 --subnet');
  const taken = state.networks.filter((n) => n.subnet6);
  let subnet6 = req.subnet6;
  if (subnet6) {
    const b = asInvalid(() => parseIpv6Block(subnet6!));
    const clash = taken.find((n) => ipv6Overlap(parseIpv6Block(n.subnet6!), b));
    if (clash) throw conflict(`invalid pool request: Pool overlaps with other one on this address space (network ${clash.name}: ${clash.subnet6})`);
  } else {
    subnet6 = asInvalid(() => chooseUla64(req.ulaGlobalId!, taken.map((n) => n.subnet6!)));
  }
  const pool = asInvalid(() => planPool6({ subnet: subnet6!, ...(req.gateway6 && { gateway: req.gateway6 }) }));
  return { enableIPv6: true, subnet6: pool.subnet, gateway6: pool.gateway };
}

/**
 * The three networks Docker has from the start: bridge (the default bridge), host, none.
 * `ipv6`: the default bridge is dual stack (the config file's ipv6 and fixed-cidr-v6, or a
 * ULA /64; `file` names the config in errors).
 */
export function builtinNetworks(state: State, reserved: string[], ipv6?: { subnet6?: string; ulaGlobalId?: string; file: string }): NetworkRecord[] {
  const now = new Date().toISOString();
  const subnet = chooseSubnet({ allocated: state.networks.filter((n) => n.driver === 'bridge').map((n) => n.subnet!), reserved });
  const pool = planPool({ subnet });
  let dual: ReturnType<typeof planIpv6> = {};
  if (ipv6) {
    try {
      dual = planIpv6({ name: 'bridge', ipv6: true, ...(ipv6.subnet6 && { subnet6: ipv6.subnet6 }), ...(ipv6.ulaGlobalId && { ulaGlobalId: ipv6.ulaGlobalId }) }, state);
    } catch (e) {
      throw Object.assign(e as Error, { message: `${ipv6.file}: fixed-cidr-v6: ${(e as Error).message}` });
    }
  }
  return [
    {
      id: newId(), name: 'bridge', driver: 'bridge', created: now, builtin: true, internal: false,
      options: {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': DEFAULT_BRIDGE,
        'com.docker.network.driver.mtu': '1500',
      },
      labels: {}, bridge: DEFAULT_BRIDGE, subnet: pool.subnet, gateway: pool.gateway, icc: true, masquerade: true,
      defaultBridge: true, ...dual,
    },
    { id: newId(), name: 'host', driver: 'host', created: now, builtin: true, internal: false, options: {}, labels: {} },
    { id: newId(), name: 'none', driver: 'null', created: now, builtin: true, internal: false, options: {}, labels: {} },
  ];
}

/** `docker network inspect` JSON for one network. */
export function inspectNetwork(n: NetworkRecord, sandboxes: SandboxRecord[]): object {
  const containers: Record<string, object> = {};
  for (const s of sandboxes) {
    for (const e of s.endpoints) {
      if (e.networkId !== n.id) continue;
      containers[s.id] = {
        // An overlay sandbox's way out is libnetwork's endpoint "gateway_" + the sandbox id's first 12 (default_gateway.go).
        Name: e.gwbridge ? `gateway_${s.id.slice(0, 12)}` : s.name,
        EndpointID: e.endpointId,
        MacAddress: e.mac,
        IPv4Address: `${e.ip}/${e.prefixlen}`,
        IPv6Address: e.ip6 && n.subnet6 ? `${e.ip6}/${n.subnet6.split('/')[1]}` : '',
      };
    }
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: !!n.enableIPv6,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: [...(n.subnet ? [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange && { IPRange: n.ipRange }),
        ...(n.auxAddresses && { AuxiliaryAddresses: n.auxAddresses }) }] : []),
      ...(n.subnet6 ? [{ Subnet: n.subnet6, Gateway: n.gateway6 }] : [])],
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}
