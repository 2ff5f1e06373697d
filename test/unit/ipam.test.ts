import { describe, expect, test } from 'vitest';
import { allocate, checkStatic, planPool, RESERVED_IPV4, reservedOverlap, type Pool } from '../../src/net/ipam.js';
import { parseIpv4Block } from '../../src/net/subnet-pool.js';
import { intToIpv4, ipv4ToInt } from '../../src/net/ip.js';

describe('planPool', () => {
  test('default gateway is the first host address', () => {
    expect(planPool({ subnet: '172.18.0.0/16' })).toEqual({ subnet: '172.18.0.0/16', gateway: '172.18.0.1' });
    expect(planPool({ subnet: '10.0.0.0/30' }).gateway).toBe('10.0.0.1');
  });
  test('keeps an explicit gateway and ip-range', () => {
    expect(planPool({ subnet: '10.0.0.0/16', gateway: '10.0.255.254', ipRange: '10.0.1.0/24' }))
      .toEqual({ subnet: '10.0.0.0/16', gateway: '10.0.255.254', ipRange: '10.0.1.0/24' });
  });
  test('host bits in --subnet: Docker\'s message naming the network address', () => {
    expect(() => planPool({ subnet: '172.20.0.5/16' })).toThrow('invalid subnet 172.20.0.5/16: it should be 172.20.0.0/16');
  });
  test.each(['10.0.0.0/31', '10.0.0.1/32', '0.0.0.0/0'])('rejects %s: no room, or no sense', (subnet) => {
    expect(() => planPool({ subnet })).toThrow(/prefix length must be \/1 to \/30/);
  });
  test.each(['10.0.0.0', '10.0.0.300/24', '10.0.0.0/33', 'web', ''])('rejects %j as CIDR notation', (subnet) => {
    expect(() => planPool({ subnet })).toThrow(/invalid CIDR block notation/);
  });
  test.each([
    ['127.0.0.0/8', 'loopback addresses (127.0.0.0/8)'],
    ['127.5.0.0/16', 'loopback addresses (127.0.0.0/8)'],
    ['64.0.0.0/2', 'loopback addresses (127.0.0.0/8)'], // contains it
    ['224.0.0.0/4', 'multicast addresses (224.0.0.0/4)'],
    ['239.255.0.0/16', 'multicast addresses (224.0.0.0/4)'],
    ['0.0.0.0/8', '"this network" addresses (0.0.0.0/8)'],
    ['0.0.0.0/1', '"this network" addresses (0.0.0.0/8)'],
    ['169.254.0.0/16', 'link-local addresses (169.254.0.0/16)'],
    ['169.254.3.0/24', 'link-local addresses (169.254.0.0/16)'],
    ['169.0.0.0/8', 'link-local addresses (169.254.0.0/16)'],
    ['240.0.0.0/4', 'reserved (class E) addresses (240.0.0.0/4)'],
    ['255.255.255.0/24', 'reserved (class E) addresses (240.0.0.0/4)'],
    ['128.0.0.0/1', 'link-local addresses (169.254.0.0/16)'],
    ['255.255.255.252/30', 'reserved (class E) addresses (240.0.0.0/4)'],
  ])('refuses %s: it overlaps %s', (subnet, what) => {
    expect(() => planPool({ subnet })).toThrow(`invalid subnet ${subnet}: ${what} cannot be used for a network`);
  });
  test('reservedOverlap: every reserved block finds itself (its neighbours: the test below)', () => {
    for (const r of RESERVED_IPV4) {
      const b = parseIpv4Block(r.cidr);
      // The limited broadcast address lies inside class E, which is found first.
      expect(reservedOverlap(b)?.cidr).toBe(r.cidr === '255.255.255.255/32' ? '240.0.0.0/4' : r.cidr);
    }
  });
  test.each(['126.0.0.0/8', '128.0.0.0/8', '169.253.0.0/16', '169.255.0.0/16', '1.0.0.0/8', '223.255.255.0/24', '126.255.255.252/30', '128.0.0.0/30', '10.0.0.0/8'])(
    'accepts %s, next to the reserved blocks', (subnet) => {
      expect(planPool({ subnet }).subnet).toBe(subnet);
    });
  test('gateway and --ip at the network or broadcast address stay refused', () => {
    const pool = planPool({ subnet: '10.0.0.0/24' });
    expect(() => checkStatic(pool, '10.0.0.0', [])).toThrow('address 10.0.0.0 is the network address of subnet 10.0.0.0/24');
    expect(() => checkStatic(pool, '10.0.0.255', [])).toThrow('address 10.0.0.255 is the broadcast address of subnet 10.0.0.0/24');
    expect(() => checkStatic(pool, '10.0.0.1', [])).toThrow('address 10.0.0.1 is already in use by the gateway');
  });
  test('IPv6 subnets: a clear refusal', () => {
    expect(() => planPool({ subnet: 'fd00::/64' })).toThrow(/IPv6 is not supported/);
  });
  test('gateway checks', () => {
    expect(() => planPool({ subnet: '10.0.0.0/24', gateway: '10.0.0.300' })).toThrow(/^invalid gateway 10\.0\.0\.300: invalid address/);
    expect(() => planPool({ subnet: '10.0.0.0/24', gateway: '10.1.0.1' }))
      .toThrow("invalid gateway 10.1.0.1: parent subnet 10.0.0.0/24 doesn't contain this address");
    expect(() => planPool({ subnet: '10.0.0.0/24', gateway: '10.0.0.0' })).toThrow(/network address/);
    expect(() => planPool({ subnet: '10.0.0.0/24', gateway: '10.0.0.255' })).toThrow(/broadcast address/);
    expect(() => planPool({ subnet: '10.0.0.0/24', gateway: 'fd00::1' })).toThrow(/parent subnet is an IPv4 block/);
  });
  test('ip-range checks', () => {
    expect(() => planPool({ subnet: '10.0.0.0/16', ipRange: '10.1.0.0/24' }))
      .toThrow("invalid ip-range 10.1.0.0/24: parent subnet 10.0.0.0/16 doesn't contain ip-range");
    expect(() => planPool({ subnet: '10.0.0.0/16', ipRange: '10.0.0.0/8' })).toThrow(/doesn't contain ip-range/);
    expect(() => planPool({ subnet: '10.0.0.0/16', ipRange: '10.0.1.7/24' })).toThrow('invalid ip-range 10.0.1.7/24: it should be 10.0.1.0/24');
    expect(() => planPool({ subnet: '10.0.0.0/16', ipRange: 'nope' })).toThrow(/invalid ip-range nope: invalid CIDR/);
  });
});

describe('allocate', () => {
  const pool = planPool({ subnet: '172.18.0.0/16' });

  test('.2, then .3; a released .2 comes back first', () => {
    const used = new Set<string>();
    const a = allocate(pool, used);
    used.add(a);
    const b = allocate(pool, used);
    used.add(b);
    expect([a, b]).toEqual(['172.18.0.2', '172.18.0.3']);
    used.delete('172.18.0.2');
    expect(allocate(pool, used)).toBe('172.18.0.2');
  });
  test('lowest free, filling holes', () => {
    expect(allocate(pool, ['172.18.0.2', '172.18.0.3', '172.18.0.5'])).toBe('172.18.0.4');
  });
  test('skips a gateway that is not .1', () => {
    const p = planPool({ subnet: '10.0.0.0/24', gateway: '10.0.0.2' });
    expect(allocate(p, [])).toBe('10.0.0.1');
    expect(allocate(p, ['10.0.0.1'])).toBe('10.0.0.3');
  });
  test('ip-range: dynamic addresses stay inside it (its own .0 included, as Docker)', () => {
    const p = planPool({ subnet: '10.0.0.0/16', ipRange: '10.0.1.0/24' });
    expect(allocate(p, [])).toBe('10.0.1.0');
    expect(allocate(p, ['10.0.1.0'])).toBe('10.0.1.1');
  });
  test('ip-range at the start of the subnet still skips network address and gateway', () => {
    const p = planPool({ subnet: '10.0.0.0/24', ipRange: '10.0.0.0/30' });
    expect(allocate(p, [])).toBe('10.0.0.2');
    expect(() => allocate(p, ['10.0.0.2', '10.0.0.3'])).toThrow('no available IP addresses in 10.0.0.0/30');
  });
  test('a /30 holds one container; the next is refused', () => {
    const p = planPool({ subnet: '10.9.0.0/30' });
    expect(allocate(p, [])).toBe('10.9.0.2');
    expect(() => allocate(p, ['10.9.0.2'])).toThrow('no available IP addresses in 10.9.0.0/30');
  });
  test('never hands out the broadcast address', () => {
    const p = planPool({ subnet: '10.0.0.0/29' });
    const used = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
    expect(allocate(p, used)).toBe('10.0.0.6');
    expect(() => allocate(p, [...used, '10.0.0.6'])).toThrow(/no available IP addresses/);
  });
  test('a /16 with 60,000 addresses in use: correct, and one pass over the list per call', () => {
    const base = ipv4ToInt('172.18.0.0');
    const used: string[] = [];
    for (let i = 2; i < 60_002; i++) if (i !== 40_000) used.push(intToIpv4(base + i));
    expect(allocate(pool, [...used, intToIpv4(base + 40_000)])).toBe(intToIpv4(base + 60_002));
    // Not a timed test: a call costs about one pass over the list, measured against one plain
    // parse of the same list in the same run (so a loaded machine slows both). A per-call
    // quadratic scan (a search of the list per candidate) would be thousands of times that.
    const time = (f: () => void) => {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) f();
      return performance.now() - t0;
    };
    let sink = 0;
    const parse = time(() => { for (const a of used) sink ^= ipv4ToInt(a); });
    const alloc = time(() => { expect(allocate(pool, used)).toBe(intToIpv4(base + 40_000)); });
    expect(sink).toBeTypeOf('number');
    expect(alloc / parse).toBeLessThan(50);
  });
  test('a used entry that is not an IPv4 address is an error, not skipped', () => {
    for (const bad of ['172.18.0.05', '172.18.0', '172.18.0.2.1', '172.18.0.256', '172.18..2', '172.18.0.2/16', '']) {
      expect(() => allocate(pool, ['172.18.0.2', bad]), bad).toThrow(/is not an IPv4 address/);
    }
    expect(allocate(pool, ['0.0.0.0', '255.255.255.255', '172.18.0.2'])).toBe('172.18.0.3');
  });
  test('a full /16 is reported', () => {
    const p = planPool({ subnet: '10.7.0.0/16' });
    const base = ipv4ToInt('10.7.0.0');
    const used = Array.from({ length: 65_533 }, (_, i) => intToIpv4(base + 2 + i));
    expect(() => allocate(p, used)).toThrow('no available IP addresses in 10.7.0.0/16');
  });
});

describe('checkStatic', () => {
  const pool: Pool = planPool({ subnet: '172.18.0.0/16', ipRange: '172.18.5.0/24' });

  test('anywhere in the subnet, even outside the ip-range', () => {
    expect(() => checkStatic(pool, '172.18.0.5', [])).not.toThrow();
    expect(() => checkStatic(pool, '172.18.200.9', ['172.18.0.5'])).not.toThrow();
  });
  test('already in use', () => {
    expect(() => checkStatic(pool, '172.18.0.5', ['172.18.0.4', '172.18.0.5'])).toThrow('address 172.18.0.5 is already in use');
  });
  test('the gateway is in use', () => {
    expect(() => checkStatic(pool, '172.18.0.1', [])).toThrow(/172\.18\.0\.1 is already in use by the gateway/);
  });
  test('network and broadcast addresses', () => {
    expect(() => checkStatic(pool, '172.18.0.0', [])).toThrow(/network address/);
    expect(() => checkStatic(pool, '172.18.255.255', [])).toThrow(/broadcast address/);
  });
  test('outside the subnet', () => {
    expect(() => checkStatic(pool, '172.19.0.5', [])).toThrow('address 172.19.0.5 is not in subnet 172.18.0.0/16');
  });
  test.each(['172.18.0.300', 'fd00::5', '172.18.0.5/16', ''])('not an IPv4 address: %j', (bad) => {
    expect(() => checkStatic(pool, bad, [])).toThrow(/^invalid IPv4 address/);
  });
});
