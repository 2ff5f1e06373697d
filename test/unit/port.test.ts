// `nsnet port`: docker port's lines, from a sandbox's bindings (the docker port reference's examples).
import { expect, test } from 'vitest';
import { portLines } from '../../src/cli/port.js';
import type { PortBinding } from '../../src/docker/types.js';

const b = (containerPort: number, hostPort: number, proto: 'tcp' | 'udp' = 'tcp', hostIp = '0.0.0.0'): PortBinding =>
  ({ proto, hostIp, hostPort, containerPort, ip: '172.18.0.2' });
const ports = [b(9876, 1234), b(7890, 4321), b(53, 5353, 'udp'), b(80, 8080, 'tcp', '127.0.0.1')];

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
