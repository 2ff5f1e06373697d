import { describe, expect, test } from 'vitest';
import { isIPv4 as nodeIsIPv4, isIPv6 as nodeIsIPv6 } from 'node:net';
import { formatPrefix, intToIpv4, ipv4Network, ipv4ToInt, isIPv4, isIPv6, parseIPv6, parsePrefix } from '../../src/net/ip.js';

describe('parsePrefix', () => {
  test('IPv4 and IPv6 prefixes', () => {
    expect(parsePrefix('172.17.0.2/16')).toEqual({ family: 4, address: '172.17.0.2', prefixlen: 16 });
    expect(parsePrefix('fd00::1/64')).toEqual({ family: 6, address: 'fd00::1', prefixlen: 64 });
  });
  test('a bare address is a host prefix', () => {
    expect(parsePrefix('10.0.0.1').prefixlen).toBe(32);
    expect(parsePrefix('::1').prefixlen).toBe(128);
  });
  test.each(['10.0.0.300/24', '10.0.0.1/33', '10.0.0.1/', '10.0.0.1/-1', '10.0.0.1/8x', 'fe80::zz/64', '', 'eth0'])(
    'rejects %j', (bad) => {
      expect(() => parsePrefix(bad)).toThrow();
    });
  test('format round-trips', () => {
    expect(formatPrefix(parsePrefix('192.168.0.0/20'))).toBe('192.168.0.0/20');
  });
});

describe('IPv4 arithmetic', () => {
  test('int conversions', () => {
    expect(ipv4ToInt('172.17.0.2')).toBe(0xac110002);
    expect(intToIpv4(0xac110002)).toBe('172.17.0.2');
    expect(intToIpv4(ipv4ToInt('255.255.255.255'))).toBe('255.255.255.255');
  });
  test('network address', () => {
    expect(ipv4Network(parsePrefix('172.17.5.9/16'))).toBe('172.17.0.0');
    expect(ipv4Network(parsePrefix('192.168.31.200/20'))).toBe('192.168.16.0');
    expect(ipv4Network(parsePrefix('8.8.8.8/0'))).toBe('0.0.0.0');
  });
});

describe('isIPv6 (without node:net pattern)', () => {
  test.each(['::', '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329', '::ffff:192.0.2.1', 'ff02::2', '1:2:3:4:5:6:7::'])('%s is IPv6', (a) => {
    expect(isIPv6(a)).toBe(true);
  });
  test.each(['', ':', '1.2.3.4', ':::', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::ffff:300.1.1.1', 'fe80::1%eth0'])('%j is not', (a) => {
    expect(isIPv6(a)).toBe(false);
  });
});

describe('parseIPv6: text to 8 groups', () => {
  test.each([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['fe80::1:2', [0xfe80, 0, 0, 0, 0, 0, 1, 2]],
    ['2001:DB8:0:0:8:800:200C:417A', [0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]],
    ['1:2:3:4:5:6:7::', [1, 2, 3, 4, 5, 6, 7, 0]],
    ['::2:3:4:5:6:7:8', [0, 2, 3, 4, 5, 6, 7, 8]],
    ['::ffff:192.0.2.1', [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]],
    ['::192.0.2.1', [0, 0, 0, 0, 0, 0, 0xc000, 0x0201]],
    ['64:ff9b::198.51.100.7', [0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407]],
    ['1:2:3:4:5:6:203.0.113.255', [1, 2, 3, 4, 5, 6, 0xcb00, 0x71ff]],
  ])('%s', (text, groups) => {
    expect(parseIPv6(text)).toEqual(groups);
  });
  // What inet_pton refuses: `::` for no group at all, a quad anywhere but last, a lone edge colon.
  test.each(['1:2:3:4:5:6:7::8', '1:2:3:4:5:6::1.2.3.4', '1.2.3.4::', '::1.2.3.4:5', ':1.2.3.4', ':::1.2.3.4', ':1::', '1::2:',
    '1:2:3:4:5:6:7:1.2.3.4', '::01.2.3.4', '00000::'])('%j is not IPv6', (bad) => {
    expect(parseIPv6(bad)).toBeUndefined();
  });
  test('agrees with node:net isIPv6 (inet_pton) on every case above', () => {
    const cases = ['::', '::1', '1::', 'fe80::1:2', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', '64:ff9b::198.51.100.7', '1:2:3:4:5:6:7::8',
      '1:2:3:4:5:6::1.2.3.4', '1.2.3.4::', '::1.2.3.4:5', ':1.2.3.4', ':::1.2.3.4', ':1::', '1::2:', '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:6:203.0.113.255', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7', '12345::', 'g::1', '::ffff:300.1.1.1'];
    for (const c of cases) expect(parseIPv6(c) !== undefined, c).toBe(nodeIsIPv6(c));
  });
});

describe('isIPv4 (without node:net)', () => {
  test('reads dotted quads exactly as node:net does', () => {
    const cases = ['0.0.0.0', '1.2.3.4', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1..3.4',
      '', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.-4', '1.2.3.4/24', 'a.b.c.d', '1e1.2.3.4', '0x1.2.3.4', '999.0.0.0', '10.0.0.00', '::1', '1.2.3.4\n'];
    for (const c of cases) expect(isIPv4(c), JSON.stringify(c)).toBe(nodeIsIPv4(c));
    // and never agrees with node's isIPv6 on the same text
    for (const c of cases) if (isIPv4(c)) expect(nodeIsIPv6(c)).toBe(false);
  });
});
