// nsnet's config file, as Docker's daemon.json, for what nsnet decides once
// per host: the default bridge's IPv6 (`ipv6`, `fixed-cidr-v6`) and the
// cluster store of overlay networks (`cluster-store`): the same keys as
// Docker's. The IPv6 keys are read when the built-in networks are made (first
// use of a state directory, usingState), so it applies to the default bridge
// from its creation on, as daemon.json applies from a daemon's start.
//
//   /etc/nsnet/daemon.json   (nsnet --root DIR: DIR/daemon.json; NSNET_CONFIG=FILE overrides both)
//   { "ipv6": true, "fixed-cidr-v6": "2001:db8:1::/64" }
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NsnetError } from './errors.js';

export interface DaemonConfig {
  /** `ipv6`: the default bridge is dual stack. */
  ipv6?: boolean;
  /** `fixed-cidr-v6`: its IPv6 subnet (absent with ipv6: a /64 of the host's ULA pool, as `network create --ipv6`). */
  fixedCidrV6?: string;
  /** `cluster-store`: etcd://HOST:2379[,HOST:2379...] (read by the CLI, src/cli/cluster-config.ts). */
  clusterStore?: string;
  /** `cluster-advertise`: this host's underlay address or interface for overlay networks (src/docker/overlay-host.ts). */
  clusterAdvertise?: string;
}

/** The keys nsnet reads; any other is refused, as Docker refuses directives it does not know. */
const KEYS = ['ipv6', 'fixed-cidr-v6', 'cluster-store', 'cluster-advertise'] as const;

/** Where the config file is: NSNET_CONFIG, else beside a --root state, else /etc/nsnet/daemon.json. */
export function daemonConfigPath(env: NodeJS.ProcessEnv, root?: string): string {
  return env.NSNET_CONFIG || (root ? path.join(root, 'daemon.json') : '/etc/nsnet/daemon.json');
}

/** The config from its text (pure); errors name the file. */
export function parseDaemonConfig(text: string, file: string): DaemonConfig {
  const bad = (why: string) => new NsnetError('InvalidArgument', `${file}: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (unknown.length) throw bad(`the following directives don't match any configuration option nsnet reads: ${unknown.join(', ')} (it reads ${KEYS.join(', ')})`);
  if (o.ipv6 !== undefined && typeof o.ipv6 !== 'boolean') throw bad(`"ipv6" must be true or false, not ${JSON.stringify(o.ipv6)}`);
  const cidr = o['fixed-cidr-v6'];
  if (cidr !== undefined && (typeof cidr !== 'string' || !cidr.includes(':'))) throw bad(`"fixed-cidr-v6" must be an IPv6 subnet like "2001:db8:1::/64", not ${JSON.stringify(cidr)}`);
  if (cidr !== undefined && o.ipv6 !== true) throw bad('"fixed-cidr-v6" needs "ipv6": true');
  const store = o['cluster-store'];
  if (store !== undefined && typeof store !== 'string') throw bad(`"cluster-store" must be a string (etcd://HOST:2379[,HOST:2379...]), not ${JSON.stringify(store)}`);
  const advertise = o['cluster-advertise'];
  if (advertise !== undefined && (typeof advertise !== 'string' || !advertise)) throw bad(`"cluster-advertise" must be an IPv4 address or an interface name, not ${JSON.stringify(advertise)}`);
  return {
    ...(o.ipv6 === true && { ipv6: true }),
    ...(cidr !== undefined && { fixedCidrV6: cidr as string }),
    ...(store && { clusterStore: store }),
    ...(advertise && { clusterAdvertise: advertise as string }),
  };
}

/** The config file's settings; none when it does not exist. */
export function readDaemonConfig(file: string | undefined): DaemonConfig {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new NsnetError('InvalidArgument', `${file}: ${(e as Error).message}`);
  }
  return parseDaemonConfig(text, file);
}
