// Published ports: `-p [hostIp:][hostPort:]containerPort[/tcp|udp]`, as
// `docker run -p` parses them (docker/go-connections nat.ParsePortSpec).
//
//   -p 8080:80            every host address, host port 8080 -> sandbox port 80/tcp
//   -p 127.0.0.1:8080:80  only the host's 127.0.0.1
//   -p [::]:8080:80       every IPv6 address of the host (a dual-stack sandbox)
//   -p [::1]:8080:80      only the host's ::1 (a dual-stack sandbox; relayed by nsnet dns, docs/ipv6.md)
//   -p 8080:80            also over IPv6 when the sandbox has an IPv6 address
//   -p 53:53/udp          UDP
//   -p 80                 an ephemeral host port (from ip_local_port_range)
//   -p 127.0.0.1::80      an ephemeral port on 127.0.0.1
//   -p 8000-8001:80-81    ranges of equal length
import { isIPv4, isIPv6 } from '../net/ip.js';
import { canonicalIpv6 } from '../net/ip6.js';

export interface PortSpec {
  proto: 'tcp' | 'udp';
  /** "0.0.0.0" for every address (both families for a dual-stack sandbox), "::" for every IPv6 one. */
  hostIp: string;
  /** 0: pick an ephemeral port. */
  hostPort: number;
  containerPort: number;
}

function port(text: string, spec: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new Error(`invalid port specification: "${spec}"`);
  }
  return Number(text);
}

function range(text: string, spec: string): [number, number] {
  const [a, b] = text.split('-');
  const lo = port(a!, spec);
  const hi = b === undefined ? lo : port(b, spec);
  if (hi < lo) throw new Error(`invalid port range: ${text}`);
  return [lo, hi];
}

/** Parses one -p value into one binding per port. */
export function parsePublish(spec: string): PortSpec[] {
  let rest = spec;
  let proto: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw new Error(`invalid proto: ${rest.slice(slash + 1)}`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  // As go-connections splitParts: the last two fields are the ports, everything before them the address.
  const parts = rest.split(':');
  const containerText = parts.pop()!;
  const hostPortText = parts.pop() ?? '';
  let hostIp = parts.length ? parts.join(':') : '0.0.0.0';
  const bracketed = /^\[.*\]$/.test(hostIp);
  if (bracketed) hostIp = hostIp.slice(1, -1); // [::1] as Docker writes an IPv6 address
  if (parts.length > 1 && !bracketed && !isIPv6(hostIp)) throw new Error(`invalid port specification: "${spec}"`); // 80:80:80:80
  if (isIPv6(hostIp)) hostIp = canonicalIpv6(hostIp);
  else if (!isIPv4(hostIp)) throw new Error(`invalid IP address in port specification: ${hostIp}`);
  if (!containerText) throw new Error(`no port specified: ${spec}<empty>`);
  const [cLo, cHi] = range(containerText, spec);
  let hLo = 0;
  let hHi = 0;
  if (hostPortText) {
    [hLo, hHi] = range(hostPortText, spec);
    if (hHi - hLo !== cHi - cLo && hLo !== hHi) {
      throw new Error(`invalid ranges specified for container and host ports: ${containerText} and ${hostPortText}`);
    }
  }
  const out: PortSpec[] = [];
  for (let c = cLo; c <= cHi; c++) {
    const hostPort = hHi === 0 ? 0 : hLo === hHi ? hLo : hLo + (c - cLo);
    out.push({ proto, hostIp, hostPort, containerPort: c });
  }
  return out;
}

/** A binding as the loopback relay needs it: where it listens ([::1]:hostPort) and where it relays to. */
export interface LoopbackRelay {
  proto: 'tcp' | 'udp';
  hostPort: number;
  /** The sandbox's IPv6 address. */
  ip6: string;
  containerPort: number;
}

/**
 * The bindings the resident nsnet process relays from [::1] (src/dns/port-relay.ts): IPv6 has
 * no route_localnet, so no DNAT can serve ::1 (docs/ipv6.md). Those that take the host's ::1
 * (every address, every IPv6 address, or ::1 itself) of a sandbox with an IPv6 address (`ip6`):
 * the relay goes to that address, as the ip6 DNAT does. A binding with no `ip6` (an IPv4-only
 * network) gets none: nsnet publishes such a sandbox on no IPv6 address at all (Docker's
 * userland proxy carries [::] to its IPv4 address; nsnet has no proxy there). Pure.
 */
export function loopbackRelays(ports: readonly (PortSpec & { ip6?: string | undefined })[]): LoopbackRelay[] {
  return ports.filter((p) => p.ip6 && (p.hostIp === '0.0.0.0' || p.hostIp === '::' || p.hostIp === '::1'))
    .map((p) => ({ proto: p.proto, hostPort: p.hostPort, ip6: p.ip6!, containerPort: p.containerPort }));
}

/** Docker's display form of one binding: "0.0.0.0:8080->80/tcp" (`ps` groups several: displayablePorts). */
export function formatPort(p: PortSpec): string {
  return `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`;
}

/**
 * `--expose 80`, `--expose 8000-8001/udp`: the port keys Docker's
 * Config.ExposedPorts holds ("80/tcp", "8000/udp", "8001/udp"), as
 * `docker run --expose` reads them (no host part).
 */
export function parseExpose(spec: string): string[] {
  if (spec.includes(':')) throw new Error(`invalid port format for --expose: ${spec}`);
  return parsePublish(spec).map((p) => `${p.containerPort}/${p.proto}`);
}

/**
 * The host addresses a published binding answers on, as the `HostIp`s
 * Docker's NetworkSettings.Ports lists. Docker 20.10 lists a 0.0.0.0 binding
 * twice, 0.0.0.0 and "::", because its userland proxy also listens on [::].
 * nsnet has no proxy: a binding is an nftables DNAT, so a connection to the
 * host over IPv6 reaches the sandbox only if the sandbox has an IPv6 address
 * (dual stack) for the `ip6` DNAT to go to (the binding's ip6). "::" is
 * listed only then, so scripts are never told of an address that does not
 * answer. A "::" or IPv6 binding is listed as it is. Pure.
 */
export function bindingHostIps(hostIp: string, sandboxHasIPv6: boolean): string[] {
  return hostIp === '0.0.0.0' && sandboxHasIPv6 ? ['0.0.0.0', '::'] : [hostIp];
}

/** One entry of Docker's API port list (types.Port), what `docker ps` shows: IP "" for a port only exposed. */
export interface ApiPort {
  IP: string;
  PrivatePort: number;
  PublicPort: number;
  Type: string;
}

/**
 * Docker 20.10's PORTS column (docker/cli formatter DisplayablePorts): sorted
 * by container port, address, host port, protocol; bindings whose host port
 * equals the container port grouped into ranges ("0.0.0.0:80-81->80-81/tcp"),
 * exposed-only ports likewise ("80/tcp", "8000-8001/udp"), then the other
 * bindings one by one ("0.0.0.0:8000->80/tcp"). An IPv6 address is printed
 * bare, as 20.10 does: ":::8080->80/tcp". Pure.
 */
export function displayablePorts(ports: readonly ApiPort[]): string {
  const sorted = [...ports].sort((a, b) =>
    a.PrivatePort - b.PrivatePort || (a.IP < b.IP ? -1 : a.IP > b.IP ? 1 : 0) || a.PublicPort - b.PublicPort || (a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0));
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const form = (key: string, g: { first: number; last: number }) => {
    const slash = key.lastIndexOf('/');
    const [ip, type] = [key.slice(0, Math.max(0, slash)), key.slice(slash + 1)];
    const range = g.first === g.last ? `${g.first}` : `${g.first}-${g.last}`;
    return `${ip ? `${ip}:${range}->${range}` : range}/${type}`;
  };
  for (const p of sorted) {
    let key = `/${p.Type}`;
    if (p.IP !== '') {
      if (p.PublicPort !== p.PrivatePort) {
        hostMappings.push(`${p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort }); // a Map keeps the order keys were first made, as Docker's groupMapKeys
      continue;
    }
    if (p.PrivatePort === g.last + 1) {
      g.last = p.PrivatePort;
      continue;
    }
    result.push(form(key, g));
    groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
  }
  for (const [key, g] of groups) result.push(form(key, g));
  return [...result, ...hostMappings].join(', ');
}

/**
 * Two bindings that would claim the same host port: 0.0.0.0 overlaps every
 * address (it may take IPv6 too), "::" every IPv6 one.
 */
export function portsClash(a: PortSpec, b: PortSpec): boolean {
  const v6 = (ip: string) => ip.includes(':');
  return a.proto === b.proto && a.hostPort === b.hostPort &&
    (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0'
      || (a.hostIp === '::' && v6(b.hostIp)) || (b.hostIp === '::' && v6(a.hostIp)));
}
