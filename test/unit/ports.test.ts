import { describe, expect, test } from 'vitest';
import { formatPort, loopbackRelays, parsePublish, portsClash } from '../../src/docker/ports.js';

describe('parsePublish', () => {
  test.each([
    ['8080:80', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }]],
    ['127.0.0.1:8080:80', [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }]],
    ['53:53/udp', [{ proto: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerPort: 53 }]],
    ['80', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 0, containerPort: 80 }]],
    ['127.0.0.1::80', [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80 }]],
    ['[::]:8080:80', [{ proto: 'tcp', hostIp: '::', hostPort: 8080, containerPort: 80 }]],
    [':::8080:80/udp', [{ proto: 'udp', hostIp: '::', hostPort: 8080, containerPort: 80 }]],
    ['[::1]:8080:80', [{ proto: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80 }]],
    ['[2001:DB8:0::1]::80', [{ proto: 'tcp', hostIp: '2001:db8::1', hostPort: 0, containerPort: 80 }]],
    ['8000-8001:80-81/TCP', [
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8000, containerPort: 80 },
      { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8001, containerPort: 81 },
    ]],
  ])('%s', (spec, want) => {
    expect(parsePublish(spec)).toEqual(want);
  });

  test.each([
    ['8080:80/sctp', /invalid proto/],
    ['8080:0', /invalid port/],
    ['8080:70000', /invalid port/],
    ['x:80', /invalid port/],
    ['300.1.1.1:80:80', /invalid IP address/],
    ['8000-8002:80-81', /invalid ranges/],
    ['8080:', /no port specified/],
    ['[2001:db8::zz]:80:80', /invalid IP address/],
  ])('%s is refused', (spec, message) => {
    expect(() => parsePublish(spec)).toThrow(message);
  });

  test('display form and clashes', () => {
    const [a] = parsePublish('8080:80');
    const [b] = parsePublish('127.0.0.1:8080:81');
    const [c] = parsePublish('8080:80/udp');
    expect(formatPort(a!)).toBe('0.0.0.0:8080->80/tcp');
    expect(portsClash(a!, b!)).toBe(true);
    expect(portsClash(a!, c!)).toBe(false);
    expect(portsClash(parsePublish('127.0.0.1:9000:1')[0]!, parsePublish('127.0.0.2:9000:1')[0]!)).toBe(false);
    // "::" takes every IPv6 address, 0.0.0.0 may take IPv6 too; an IPv4 address and "::" do not meet.
    const [any6, one6, lo4] = ['[::]:9000:1', '[2001:db8::1]:9000:1', '127.0.0.1:9000:1'].map((x) => parsePublish(x)[0]!);
    expect(portsClash(any6!, one6!)).toBe(true);
    expect(portsClash(parsePublish('9000:1')[0]!, any6!)).toBe(true);
    expect(portsClash(any6!, lo4!)).toBe(false);
    expect(portsClash(one6!, parsePublish('[2001:db8::2]:9000:1')[0]!)).toBe(false);
    expect(formatPort(any6!)).toBe('[::]:9000->1/tcp');
  });
});

describe('loopbackRelays', () => {
  const bind = (spec: string, ip6?: string) => parsePublish(spec).map((p) => ({ ...p, ip: '10.0.0.2', ...(ip6 && { ip6 }) }));
  test('bindings that take the host\'s ::1, of a sandbox with an IPv6 address, relay to that address', () => {
    const ip6 = '2001:db8:1::2';
    expect(loopbackRelays([...bind('8080:80', ip6), ...bind('[::]:8081:81/udp', ip6), ...bind('[::1]:8082:82', ip6)])).toEqual([
      { proto: 'tcp', hostPort: 8080, ip6, containerPort: 80 },
      { proto: 'udp', hostPort: 8081, ip6, containerPort: 81 },
      { proto: 'tcp', hostPort: 8082, ip6, containerPort: 82 },
    ]);
  });
  test('none for 127.0.0.1, another IPv6 address, or a sandbox without IPv6', () => {
    expect(loopbackRelays([...bind('127.0.0.1:8080:80', '2001:db8:1::2'), ...bind('[2001:db8:ffff::2]:8081:80', '2001:db8:1::2'), ...bind('8082:80')])).toEqual([]);
  });
});
