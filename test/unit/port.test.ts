// `nsnet port`: docker port's lines, from a sandbox's bindings (the docker port reference's examples).
import { expect, test } from 'vitest';
import { portLines } from '../../src/cli/port.js';
import { portMap } from '../../src/docker/sandbox-view.js';
import type { PortBinding, SandboxRecord } from '../../src/docker/types.js';

const b = (containerPort: number, hostPort: number, proto: 'tcp' | 'udp' = 'tcp', hostIp = '0.0.0.0'): PortBinding =>
  ({ proto, hostIp, hostPort, containerPort, ip: '172.18.0.2' });
// NetworkSettings.Ports of a bridge sandbox with these bindings (and 443/tcp only exposed), as docker port reads it.
const sandbox = (bindings: PortBinding[], ip6?: string): SandboxRecord => ({
  id: 'a'.repeat(64), name: 'test', created: '2021-03-10T00:00:00Z', status: 'running', mode: 'bridge', networkMode: 'bridge', hostname: 'test',
  endpoints: [{ networkId: 'b'.repeat(64), endpointId: 'c'.repeat(64), ifname: 'eth0', hostVeth: 'veth1', ip: '172.18.0.2', prefixlen: 16, mac: '02:42:ac:12:00:02', gateway: '172.18.0.1', aliases: [], staticIp: false, ...(ip6 && { ip6 }) }],
  // A dual-stack sandbox's bindings on every address carry its IPv6 address (their ip6 DNAT).
  ports: ip6 ? bindings.map((p) => (p.hostIp === '0.0.0.0' ? { ...p, ip6 } : p)) : bindings, links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], exposed: ['443/tcp', ...bindings.map((p) => `${p.containerPort}/${p.proto}`)],
});
const ports = portMap(sandbox([b(9876, 1234), b(7890, 4321), b(53, 5353, 'udp'), b(80, 8080, 'tcp', '127.0.0.1')]));

test.each([
  [undefined, ['53/udp -> 0.0.0.0:5353', '80/tcp -> 127.0.0.1:8080', '7890/tcp -> 0.0.0.0:4321', '9876/tcp -> 0.0.0.0:1234']],
  ['7890/tcp', ['0.0.0.0:4321']],
  ['7890', ['0.0.0.0:4321']], // tcp when no protocol is given
  ['53/udp', ['0.0.0.0:5353']],
])('port %s', (want, lines) => {
  expect(portLines('test', ports, want)).toEqual(lines);
});

test.each([['7890/udp', "No public port '7890/udp' published for test"], ['53', "No public port '53/tcp' published for test"], ['x', "No public port 'x' published for test"]])(
  'port %s: not published', (want, message) => {
    expect(() => portLines('test', ports, want)).toThrow(message);
  });

test('a port only exposed has no line, and asking for it is an error (as docker port)', () => {
  expect(ports['443/tcp']).toBeNull();
  expect(() => portLines('test', ports, '443')).toThrow("No public port '443/tcp' published for test");
});

test('a sandbox answering on IPv6 lists the [::] side too (Docker 20.10 prints it as net.JoinHostPort does)', () => {
  const dual = portMap(sandbox([b(80, 8080)], 'fd00::2'));
  expect(portLines('test', dual)).toEqual(['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  expect(portLines('test', dual, '80')).toEqual(['0.0.0.0:8080', '[::]:8080']);
  expect(portLines('test', portMap(sandbox([b(80, 8080)])))).toEqual(['80/tcp -> 0.0.0.0:8080']);
});
