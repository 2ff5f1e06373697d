// What a compose file becomes once read (model.ts reads it): the project, its
// networks and its services, each already validated and normalised.
import type { Env } from './interpolate.js';

export interface ComposeNetwork {
  /** The key under `networks:` ("default" for the implicit one). */
  key: string;
  /** The network's real name: `<project>_<key>`, or `name:`. */
  name: string;
  /** `driver:`: bridge (the default) or macvlan. */
  driver: 'bridge' | 'macvlan';
  external: boolean;
  internal: boolean;
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  /** `ipam.config[0].aux_addresses`: addresses IPAM never hands out (--aux-address). */
  auxAddresses?: Record<string, string>;
  /** enable_ipv6: dual stack, with the IPv6 ipam.config entry's subnet and gateway if there is one. */
  enableIPv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export interface ServiceNetwork {
  key: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
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
