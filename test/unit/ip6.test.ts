import { describe, expect, test } from 'vitest';
import {
  allocate6, allocate6InWindow, atOffset6, bigIntToIpv6, canonicalIpv6, checkStatic6, chooseUla64, ipv6Overlap, ipv6ToBigInt, parseIpv6Block,
  network6, offset6, planPool6, ulaGlobalId, ulaPrefix48, window6,
} from '../../src/net/ip6.js';

describe('IPv6 text and numbers', () => {
  test('round trip, canonical as RFC 5952', () => {
    expect(canonicalIpv6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIpv6('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1'); // the longest zero run
    expect(canonicalIpv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(canonicalIpv6('::')).toBe('::');
    expect(canonicalIpv6('::1')).toBe('::1');
    expect(canonicalIpv6('fe80::')).toBe('fe80::');
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe(0xffff01020304n);
    expect(bigIntToIpv6(0x20010db8n << 96n | 5n)).toBe('2001:db8::5');
  });
  test('not an address', () => {
    expect(() => ipv6ToBigInt('10.0.0.1')).toThrow(/not an IPv6 address/);
    expect(() => ipv6ToBigInt('2001:db8::1::2')).toThrow();
  });
});

describe('IPv6 subnets', () => {
  test('network6: the subnet an address is in', () => {
    expect(network6('2001:db8:5::1', 64)).toBe('2001:db8:5::/64');
    expect(network6('2001:db8:5:ffff:1::9', 48)).toBe('2001:db8:5::/48');
    expect(network6('fd00:1:2:3::4', 0)).toBe('::/0');
    expect(network6('2001:db8::7', 128)).toBe('2001:db8::7/128');
  });
  test('parse, host bits, size', () => {
    expect(parseIpv6Block('2001:DB8:1::/64')).toEqual({ network: ipv6ToBigInt('2001:db8:1::'), prefixlen: 64 });
    expect(() => parseIpv6Block('2001:db8:1::5/64')).toThrow(/host bits set \(the network is 2001:db8:1::\/64\)/);
    expect(() => parseIpv6Block('2001:db8::/127')).toThrow(/too small/);
    expect(() => parseIpv6Block('10.0.0.0/24')).toThrow(/not an IPv6 subnet/);
    expect(() => parseIpv6Block('2001:db8::')).toThrow(/not an IPv6 subnet/);
  });
  test('overlap', () => {
    expect(ipv6Overlap(parseIpv6Block('2001:db8::/48'), parseIpv6Block('2001:db8:0:5::/64'))).toBe(true);
    expect(ipv6Overlap(parseIpv6Block('2001:db8:1::/64'), parseIpv6Block('2001:db8:2::/64'))).toBe(false);
  });
  test('gateway: the first host address unless given; checked', () => {
    expect(planPool6({ subnet: '2001:db8:1::/64' })).toEqual({ subnet: '2001:db8:1::/64', gateway: '2001:db8:1::1' });
    expect(planPool6({ subnet: '2001:db8:1::/64', gateway: '2001:DB8:1::FFFF' }).gateway).toBe('2001:db8:1::ffff');
    expect(() => planPool6({ subnet: '2001:db8:1::/64', gateway: '2001:db8:2::1' })).toThrow(/not in subnet/);
    expect(() => planPool6({ subnet: '2001:db8:1::/64', gateway: '2001:db8:1::' })).toThrow(/anycast/);
  });
  test.each([['fe80::/64', 'link-local'], ['ff02::/64', 'multicast'], ['::/64', 'loopback'], ['::ffff:0:0/104', 'IPv4-mapped'], ['::/0', 'loopback']])(
    'reserved ranges are refused: %s', (subnet, what) => expect(() => planPool6({ subnet })).toThrow(new RegExp(`invalid subnet .*${what}.*cannot be used`)));
});

describe('allocate6: lowest free, no EUI-64', () => {
  const pool = { subnet: '2001:db8:1::/64', gateway: '2001:db8:1::1' };
  test('skips the anycast address and the gateway', () => {
    expect(allocate6(pool, [])).toBe('2001:db8:1::2');
    expect(allocate6({ ...pool, gateway: '2001:db8:1::2' }, [])).toBe('2001:db8:1::1');
  });
  test('skips used addresses, reuses a freed one', () => {
    expect(allocate6(pool, ['2001:db8:1::2', '2001:db8:1::3'])).toBe('2001:db8:1::4');
    expect(allocate6(pool, ['2001:db8:1::3'])).toBe('2001:db8:1::2');
    expect(allocate6(pool, ['2001:DB8:1:0::2'])).toBe('2001:db8:1::3'); // any spelling
  });
  test('a full subnet is an error', () => {
    expect(() => allocate6({ subnet: '2001:db8::/126', gateway: '2001:db8::1' }, ['2001:db8::2', '2001:db8::3'])).toThrow(/no available IPv6/);
  });
  test('static addresses', () => {
    expect(checkStatic6(pool, '2001:db8:1::0:10', [])).toBe('2001:db8:1::10');
    expect(() => checkStatic6(pool, '2001:db8:2::10', [])).toThrow(/not a host address/);
    expect(() => checkStatic6(pool, '2001:db8:1::1', [])).toThrow(/gateway/);
    expect(() => checkStatic6(pool, '2001:db8:1::10', ['2001:db8:1::10'])).toThrow(/in use/);
  });
});

describe('the ULA pool (RFC 4193)', () => {
  test('a global id from 5 random bytes; the /48', () => {
    const id = ulaGlobalId(Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a, 0xff]));
    expect(id).toBe('123456789a');
    expect(ulaPrefix48(id)).toBe('fd12:3456:789a::/48');
    expect(ulaPrefix48('00000000ab')).toBe('fd00:0:ab::/48');
    expect(() => ulaPrefix48('xyz')).toThrow(/not a ULA global id/);
  });
  test('the lowest /64 of the /48 not taken', () => {
    expect(chooseUla64('123456789a', [])).toBe('fd12:3456:789a::/64');
    expect(chooseUla64('123456789a', ['fd12:3456:789a::/64', '2001:db8::/64'])).toBe('fd12:3456:789a:1::/64');
    expect(chooseUla64('123456789a', ['fd12:3456:789a:1::/64'])).toBe('fd12:3456:789a::/64');
    expect(chooseUla64('123456789a', ['fd12:3456:789a::/63'])).toBe('fd12:3456:789a:2::/64');
  });
});

describe('window6, offset6, allocate6InWindow (the IPv6 bitmap of a dual-stack network)', () => {
  test('the window is the first 4096 addresses, or the whole of a smaller subnet', () => {
    expect([window6('2001:db8::/64'), window6('2001:db8::/116'), window6('2001:db8::/120'), window6('2001:db8::/126')]).toEqual([4096, 4096, 256, 4]);
  });
  test('offsets: inside the window only', () => {
    expect(offset6('2001:db8:1::/64', '2001:db8:1::ff')).toBe(255);
    expect(offset6('2001:db8:1::/64', '2001:db8:1::fff')).toBe(4095);
    expect(offset6('2001:db8:1::/64', '2001:db8:1::1000')).toBeUndefined();
    expect(offset6('2001:db8:1::/64', '2001:db8:2::1')).toBeUndefined();
    expect(atOffset6('2001:db8:1::/64', 0x1234)).toBe('2001:db8:1::1234');
  });
  test('lowest free: skips the anycast address, the gateway (wherever it is) and used offsets; undefined when full', () => {
    const pool = { subnet: '2001:db8:1::/126', gateway: '2001:db8:1::2' };
    expect(allocate6InWindow(pool, () => false)).toBe('2001:db8:1::1');
    expect(allocate6InWindow(pool, (i) => i === 1)).toBe('2001:db8:1::3');
    expect(allocate6InWindow(pool, (i) => i !== 0)).toBeUndefined();
    expect(allocate6InWindow({ subnet: '2001:db8:1::/64', gateway: '2001:db8:1::1' }, (i) => i < 5)).toBe('2001:db8:1::5');
  });
});
