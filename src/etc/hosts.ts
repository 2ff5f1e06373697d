// A sandbox's /etc/hosts and /etc/hostname, as Docker 20.10 writes a container's.
//
// Mirrors moby/libnetwork (20.10) `etchosts/etchosts.go` (`defaultContent`, `Record.WriteTo`:
// "%s\t%s\n", `Build`) and `sandbox_dns_unix.go` (`buildHostsFile`, `updateHostsFile`), plus
// moby `daemon/container_operations.go` `buildSandboxOptions`, which hands libnetwork the
// --add-host entries first and the --link entries after them. docker-behaviour.md §12.4, §13.
//
// The file, in order:
//   1. the six default lines (localhost and the ip6-* names);
//   2. one line per --add-host, as given;
//   3. one line per --link: `<ip>\t<alias> <hostname> [<name>]` (the container's name only when
//      the alias differs from it), so the linked container is reachable by all three;
//   4. one line per address of the sandbox itself, added as each endpoint joins (eth0 first):
//      `<ip>\t<hostname>`, or `<ip>\t<fqdn> <short>` when there is a domain.
// A none sandbox has no address, so no line 4. A host-mode sandbox gets the host's file as is
// (`hostModeHosts`). This file is how default-bridge containers find each other: that network
// has no embedded DNS server.
//
// nsnet puts the files at /etc/netns/NAME/hosts and /etc/netns/NAME/hostname; `ip netns exec`
// bind-mounts them over /etc, so `docker exec web cat /etc/hosts` becomes
// `ip netns exec web cat /etc/hosts`.
//
// Pure.
import { isIP } from '../net/ip.js';

/** A --link to another container on the default bridge. */
export interface HostsLink {
  /** The linked container's name (a leading `/`, as Docker stores names, is ignored). */
  name: string;
  /** The name it is linked as (`--link name:alias`); defaults to `name`. */
  alias?: string;
  /** Its IPv4 address on the default bridge. */
  ip: string;
  /** Its hostname (Docker's default: `defaultHostname(id)`). */
  hostname?: string;
}

/** An --add-host entry (`--add-host host:ip`, with host-gateway already resolved). */
export interface ExtraHost {
  host: string;
  ip: string;
}

export interface SandboxHostsOptions {
  hostname: string;
  domainname?: string;
  /** The sandbox's own addresses, eth0 first; empty for none. */
  addresses: string[];
  links?: HostsLink[];
  extra?: ExtraHost[];
  /** False when the sandbox has IPv6 disabled: IPv6 lines are left out (current moby `BuildNoIPv6`). Default true, as 20.10. */
  ipv6?: boolean;
}

// libnetwork's `defaultContent`, with its spellings (`fe00::0`, not `fe00::`).
const DEFAULT_RECORDS: ReadonlyArray<readonly [ip: string, names: string]> = [
  ['127.0.0.1', 'localhost'],
  ['::1', 'localhost ip6-localhost ip6-loopback'],
  ['fe00::0', 'ip6-localnet'],
  ['ff00::0', 'ip6-mcastprefix'],
  ['ff02::1', 'ip6-allnodes'],
  ['ff02::2', 'ip6-allrouters'],
];

function checkIp(ip: string, what: string): void {
  if (isIP(ip) === 0) throw new Error(`${what}: "${ip}" is not an IP address`);
}

/** The names of the sandbox's own line: hostname and domainname joined, plus the short name if dotted. */
function ownNames(hostname: string, domainname: string | undefined): string {
  // As 20.10 `updateHostsFile`: the user may give an FQDN as the hostname or split it across
  // --hostname and --domainname; either way the FQDN comes first, then the bare name.
  const fqdn = domainname ? `${hostname}.${domainname}` : hostname;
  const dot = fqdn.indexOf('.');
  return dot < 0 ? fqdn : `${fqdn} ${fqdn.slice(0, dot)}`;
}

function linkNames(link: HostsLink): string {
  const name = link.name.replace(/^\//, '');
  const alias = link.alias ?? name;
  const names = [alias];
  if (link.hostname) names.push(link.hostname);
  // Docker: "only add the name if alias isn't equal to the name".
  if (alias !== name) names.push(name);
  return names.join(' ');
}

function renderRecords(records: Array<readonly [string, string]>, ipv6: boolean): string {
  return records
    .filter(([ip]) => ipv6 || isIP(ip) !== 6)
    .map(([ip, names]) => `${ip}\t${names}\n`)
    .join('');
}

/** The sandbox's /etc/hosts (bridge, user-defined and none modes). */
export function sandboxHosts(o: SandboxHostsOptions): string {
  const records: Array<readonly [string, string]> = [...DEFAULT_RECORDS];
  for (const e of o.extra ?? []) {
    checkIp(e.ip, `--add-host ${e.host}`);
    records.push([e.ip, e.host]);
  }
  for (const l of o.links ?? []) {
    checkIp(l.ip, `--link ${l.name}`);
    records.push([l.ip, linkNames(l)]);
  }
  if (o.addresses.length > 0 && !o.hostname) throw new Error('a sandbox with addresses needs a hostname');
  for (const ip of o.addresses) {
    checkIp(ip, 'sandbox address');
    records.push([ip, ownNames(o.hostname, o.domainname)]);
  }
  return renderRecords(records, o.ipv6 ?? true);
}

/**
 * A host-mode sandbox's /etc/hosts: the host's file unchanged. With --add-host, Docker builds
 * the defaults plus those entries instead (no own-address line: the sandbox has no endpoint
 * address), so a name in the host's file can be overridden.
 */
export function hostModeHosts(hostFile: string, extra: ExtraHost[] = []): string {
  if (extra.length === 0) return hostFile;
  return sandboxHosts({ hostname: '', addresses: [], extra });
}

/** /etc/hostname: the hostname and a newline (Docker writes no domain here). */
export function hostnameFile(hostname: string): string {
  if (!/^\S+$/.test(hostname)) throw new Error(`hostname "${hostname}" must be non-empty, without spaces`);
  return `${hostname}\n`;
}
