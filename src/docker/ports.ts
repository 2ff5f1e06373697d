// Published ports: `-p [hostIp:][hostPort:]containerPort[/tcp|udp]`, as
// `docker run -p` parses them (docker/go-connections nat.ParsePortSpec).
//
//   -p 8080:80            every host address, host port 8080 -> sandbox port 80/tcp
//   -p 127.0.0.1:8080:80  only the host's 127.0.0.1
//   -p 53:53/udp          UDP
//   -p 80                 an ephemeral host port (from ip_local_port_range)
//   -p 127.0.0.1::80      an ephemeral port on 127.0.0.1
//   -p 8000-8001:80-81    ranges of equal length
import { isIPv4 } from '../net/ip.js';

export interface PortSpec {
  proto: 'tcp' | 'udp';
  hostIp: string; // "0.0.0.0" for every address
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
  const parts = rest.split(':');
  if (parts.length > 3) throw new Error(`invalid port specification: "${spec}" (IPv6 host addresses are not supported)`);
  const containerText = parts.pop()!;
  const hostPortText = parts.pop() ?? '';
  const hostIp = parts.pop() ?? '0.0.0.0';
  if (!isIPv4(hostIp)) throw new Error(`invalid IP address in port specification: ${hostIp}`);
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

/** Docker's display form: "0.0.0.0:8080->80/tcp". */
export function formatPort(p: PortSpec): string {
  return `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`;
}

/** Two bindings that would claim the same host port (0.0.0.0 overlaps every address). */
export function portsClash(a: PortSpec, b: PortSpec): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort &&
    (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0');
}
