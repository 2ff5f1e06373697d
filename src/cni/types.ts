// The CNI protocol's objects (SPEC.md 1.1, https://github.com/containernetworking/cni/blob/main/SPEC.md),
// as nsnet holds them inside: one shape, the 1.1.0 one. result.ts converts a
// Result to the cniVersion a configuration asks for (0.3.0 ... 1.1.0) and
// parses a prevResult of any of them back. Pure types.

export const CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof CNI_VERSIONS)[number];

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** SPEC.md "Error": the well-known codes; 100 and up are nsnet's own. */
export const CNI_ERR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
  /** nsnet: a kernel operation failed (errno and extack in details). */
  kernel: 100,
  /** nsnet: nsnet's state refused the request (conflict: name, address, port in use). */
  state: 101,
} as const;

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** runtimeConfig: what the runtime passes for the capabilities the plugin declares. */
export interface RuntimeConfig {
  portMappings?: PortMapping[];
  ips?: string[];
  mac?: string;
  aliases?: string[];
  /** GC: the attachments that must stay (libcni sends them at the top level of the config: env.ts validAttachments reads both). */
  'cni.dev/valid-attachments'?: { containerID: string; ifname: string }[];
  'cni.dev/attachments'?: { containerID: string; ifname: string }[];
  [k: string]: unknown;
}

export interface IpamConf {
  type: string;
  [k: string]: unknown;
}

/** The plugin's configuration on stdin: the plugin object of a conflist plus cniVersion and name. */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  // nsnet's keys (as the reference bridge plugin names them):
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  ipMasq?: boolean;
  mtu?: number;
  hairpinMode?: boolean;
  /** Traffic between pods inside this range is not masqueraded (pods across nodes). */
  clusterCIDR?: string;
  /** The cluster store a pod CIDR is leased from (ipam nsnet without a subnet, with clusterCIDR): etcd://HOST:2379[,...]. */
  clusterStore?: string;
  /** The prefix length of a leased pod CIDR (default 24). */
  podCIDRPrefixLen?: number;
  ipam?: IpamConf;
  dns?: Dns;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: RuntimeConfig;
  prevResult?: Result;
  args?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The environment a runtime calls a plugin with (CNI_*), parsed. */
export interface CniRequest {
  command: CniCommand;
  containerId: string;
  /** /run/netns/NAME, /proc/PID/ns/net, or '' (DEL with the namespace gone). */
  netns: string;
  ifname: string;
  /** CNI_ARGS: K=V;K=V (IgnoreUnknown, K8S_POD_NAME, ...). */
  args: Record<string, string>;
  /** CNI_PATH: where delegated plugins (IPAM) are looked up. */
  path: string[];
  config: NetConf;
}

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The namespace path for interfaces inside the container; absent on the host side. */
  sandbox?: string;
}

export interface IpConfig {
  /** CIDR: 10.88.0.5/16 */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the 1.1.0 shape (result.ts converts it to other versions). */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IpConfig[];
  routes?: Route[];
  dns?: Dns;
}

/** What the plugin's commands do to the system (src/cni/backend.ts implements it on nsnet's docker layer). */
export interface CniBackend {
  add(req: CniRequest): Promise<Result>;
  /** Idempotent: succeeds when nothing (or part) of what ADD made is left. */
  del(req: CniRequest): Promise<void>;
  /** Throws CniError when what ADD made (per req.config.prevResult) is not all there. */
  check(req: CniRequest): Promise<void>;
  /** Removes every attachment of this network not listed in runtimeConfig's valid-attachments. */
  gc(req: CniRequest): Promise<void>;
  /** Throws CniError(50|51) when ADD could not be served. */
  status(req: CniRequest): Promise<void>;
}

/** An error the plugin reports as the spec's error JSON on stdout, with a non-zero exit. */
export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = '') {
    super(msg);
    this.name = 'CniError';
  }
}
