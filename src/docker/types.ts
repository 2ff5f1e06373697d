// The records nsnet keeps about networks and sandboxes (src/state/store.ts
// writes them). Field names follow Docker's API where Docker has one.
import type { Stores } from '../state/store.js';
import type { PortSpec } from './ports.js';

export type Driver = 'bridge' | 'host' | 'null' | 'macvlan' | 'overlay';

/** How macvlans of one parent reach each other (docs/macvlan.md); Docker's -o macvlan_mode. */
export type MacvlanMode = 'bridge' | 'vepa' | 'private' | 'passthru';

export interface NetworkRecord {
  id: string; // 64 hex
  name: string;
  driver: Driver;
  created: string; // ISO time
  /** bridge, host and none, created by nsnet itself on first use. */
  builtin: boolean;
  /** 'global': an overlay network, kept in the cluster store (overlay.ts), never in this host's networks.json. Absent: 'local'. */
  scope?: 'global';
  internal: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
  // bridge driver only:
  bridge?: string;
  // bridge and macvlan drivers:
  subnet?: string;
  /** macvlan: the router on the parent's LAN, not an address of the host. */
  gateway?: string;
  ipRange?: string;
  /** --aux-address NAME=IP: addresses IPAM never hands out. */
  auxAddresses?: Record<string, string>;
  // overlay driver only (docs/overlay.md):
  /** The VXLAN network identifier. */
  vni?: number;
  // macvlan driver only (docs/macvlan.md):
  /** The lower device the sandboxes' macvlans are made on (-o parent=ens4). */
  parent?: string;
  macvlanMode?: MacvlanMode;
  /** The parent is nsnet's own (--internal: a bridge with no ports, dm-<id>), made and removed with the network. */
  ownParent?: boolean;
  mtu?: number;
  icc?: boolean;
  masquerade?: boolean;
  /**
   * Dual stack (--ipv6, docs/ipv6.md): the network's IPv6 subnet and the
   * bridge's IPv6 address, beside `subnet`/`gateway` (IPv4). Sandboxes get
   * an address of it each (EndpointRecord.ip6); IPv4-only networks have none.
   */
  enableIPv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  /** The default bridge: no aliases, no embedded DNS, --link works. */
  defaultBridge?: boolean;
  /** Traffic to this range is not masqueraded (a CNI network's clusterCIDR: pods on other nodes). */
  clusterCidr?: string;
  /** com.nsnet.network.host_dns=true: the DNS server answers this network's names to the host, on the gateway (docs/dns.md). */
  hostDns?: boolean;
}

export interface EndpointRecord {
  networkId: string;
  endpointId: string; // 64 hex
  ifname: string; // eth0, eth1, ... inside the sandbox
  hostVeth: string; // veth<7 hex>; "" on a macvlan network (no host end)
  ip: string;
  prefixlen: number;
  mac: string;
  gateway: string;
  aliases: string[];
  staticIp: boolean;
  /**
   * The sandbox's global IPv6 address on a dual-stack network (its prefix
   * length and gateway are the network's subnet6/gateway6). The claim lives
   * here, in the record, under the state lock: the next address is the
   * lowest one no endpoint of the network holds (docs/ipv6.md).
   */
  ip6?: string;
  /** ip6 was asked for (--ip6, compose ipv6_address): inspect's IPAMConfig shows it. */
  staticIp6?: boolean;
  /**
   * An endpoint on an overlay network (docs/overlay.md): what this host needs
   * of the network, kept here because overlay networks are in the cluster
   * store, not networks.json, so removing the sandbox needs no store read.
   */
  overlay?: OverlayJoin;
  /**
   * The endpoint on nsnet_gwbridge that an overlay sandbox gets for its way
   * out (gwbridge.ts, Docker's gateway_ endpoint on docker_gwbridge): it
   * carries the default route and the published ports, registers no names,
   * and `inspect` of the sandbox does not list it (Docker's does not either).
   */
  gwbridge?: true;
}

/** An overlay endpoint's network and host side: enough to rebuild its plan (overlay-endpoint.ts). */
export interface OverlayJoin {
  /** The network's name and subnet (the network's id is EndpointRecord.networkId). */
  network: string;
  subnet: string;
  vni: number;
  /** This host's id in the store (hosts/<id>) and its underlay address and device, as when it joined. */
  host: string;
  hostAddress: string;
  underlay: string;
  /** The overlay MTU: the underlay's minus 50. */
  mtu: number;
}

export type NetworkMode = 'bridge' | 'host' | 'none' | 'container';

export interface PortBinding extends PortSpec {
  /** The sandbox address the DNAT goes to. */
  ip: string;
  /** A dual-stack sandbox's IPv6 address: where the binding's IPv6 DNAT goes (absent: IPv4 only). */
  ip6?: string;
}

export type SandboxStatus = 'creating' | 'created' | 'running' | 'exited' | 'removing';

export interface SandboxRecord {
  id: string;
  name: string;
  created: string;
  status: SandboxStatus;
  mode: NetworkMode;
  /** The network name given at create (bridge mode), "host", "none" or "container:<name>". */
  networkMode: string;
  /** container: mode - the sandbox whose network namespace this one joins. */
  containerOf?: string;
  /** Ids of the sandboxes that join this one's namespace (container: mode). */
  joinedBy?: string[];
  /** The named network namespace (/run/netns/NAME); none in host and container: modes. */
  netns?: string;
  /**
   * A namespace nsnet did not make and never deletes (a CNI runtime's:
   * /run/netns/NAME or /proc/PID/ns/net), instead of `netns`; with its inode,
   * so nothing attaches to a later namespace found at the same path.
   */
  netnsPath?: string;
  netnsInode?: number;
  /** A CNI attachment: the runtime's container id and interface name (src/cni). */
  cni?: { containerId: string; ifname: string; noDefaultRoute?: boolean };
  hostname: string;
  endpoints: EndpointRecord[];
  ports: PortBinding[];
  links: { name: string; alias: string }[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: { host: string; ip: string }[];
  /** --pid container:<name> */
  pidMode?: string;
  command?: string[];
  /** -P: every exposed port published (HostConfig.PublishAllPorts). */
  publishAll?: boolean;
  /** --expose ports and the published ones' container ports, as Docker's Config.ExposedPorts keys ("80/tcp"). */
  exposed?: string[];
  /** run -e, as KEY=VALUE: what `nsnet start` runs the command with again. */
  env?: string[];
  /** run -w: likewise. */
  workdir?: string;
  /** --label: metadata, as Docker's container labels (compose keeps its project and service here). */
  labels?: Record<string, string>;
  /** While "creating": the nsnet process creating it (pid, /proc/PID/stat start time); a later command undoes the create if it is gone. */
  createdBy?: { pid: number; start: string };
  pid?: number;
  /** /proc/PID/stat start time, to tell our process from a reused pid. */
  pidStart?: string;
  /** A detached main process's supervisor, which writes its exit file (native/spawn.cc). */
  supervisor?: { pid: number; start: string };
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
}

/** What a locked section of the Docker layer works on (src/state/store.ts). */
export type State = Stores<NetworkRecord, SandboxRecord>;
