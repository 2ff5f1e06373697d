import { describe, expect, test } from 'vitest';
import {
  DEFAULT_POOLS, NO_DEFAULT_POOL, candidateSubnets, chooseSubnet, formatIpv4Block, overlaps, parseIpv4Block, subnetConflict,
} from '../../src/net/subnet-pool.js';

const SLASH16S = Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`);
const SLASH20S = Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`);

describe('DEFAULT_POOLS', () => {
  test('31 subnets: 172.17-172.31 as /16, then 192.168.0.0/16 as /20, in address order', () => {
    expect(DEFAULT_POOLS).toHaveLength(7);
    expect(candidateSubnets().map(formatIpv4Block)).toEqual([...SLASH16S, ...SLASH20S]);
  });
});

describe('overlaps', () => {
  test.each([
    ['10.0.0.0/8', '10.1.2.0/24', true],
    ['10.1.2.0/24', '10.0.0.0/8', true],
    ['172.18.0.0/16', '172.18.0.1', true],
    ['192.168.0.0/20', '192.168.15.255/32', true],
    ['192.168.0.0/20', '192.168.16.0/20', false],
    ['172.17.0.0/16', '172.18.0.0/16', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['172.17.0.5/16', '172.17.200.0/24', true],
  ])('%s and %s: %s', (a, b, want) => {
    expect(overlaps(a, b)).toBe(want);
  });
  test('IPv6 is refused with a clear message', () => {
    expect(() => overlaps('fd00::/64', '10.0.0.0/8')).toThrow(/IPv6 is not supported/);
  });
});

describe('parseIpv4Block', () => {
  test('keeps the written address and masks the network', () => {
    expect(parseIpv4Block('172.18.0.5/16')).toMatchObject({ prefixlen: 16, size: 65536 });
    expect(formatIpv4Block(parseIpv4Block('172.18.0.5/16'))).toBe('172.18.0.0/16');
    expect(parseIpv4Block('0.0.0.0/0').size).toBe(2 ** 32);
  });
});

describe('chooseSubnet', () => {
  test('the first network gets 172.17.0.0/16', () => {
    expect(chooseSubnet({ allocated: [], reserved: [] })).toBe('172.17.0.0/16');
  });
  test('with 172.17 allocated (docker0), the next gets 172.18.0.0/16', () => {
    expect(chooseSubnet({ allocated: ['172.17.0.0/16'], reserved: [] })).toBe('172.18.0.0/16');
  });
  test('a host route on 172.18.0.0/16 is skipped', () => {
    expect(chooseSubnet({ allocated: ['172.17.0.0/16'], reserved: ['172.18.0.0/16'] })).toBe('172.19.0.0/16');
  });
  test('a nameserver as a /32 (or a bare address) reserves its whole candidate', () => {
    expect(chooseSubnet({ allocated: [], reserved: ['172.17.0.53/32', '172.18.9.9'] })).toBe('172.19.0.0/16');
  });
  test('a reserved supernet covers several candidates', () => {
    expect(chooseSubnet({ allocated: [], reserved: ['172.16.0.0/12'] })).toBe('192.168.0.0/20');
  });
  test('after the 15 /16s come the 192.168 /20s, in order', () => {
    expect(chooseSubnet({ allocated: SLASH16S, reserved: [] })).toBe('192.168.0.0/20');
    expect(chooseSubnet({ allocated: [...SLASH16S, '192.168.0.0/20'], reserved: [] })).toBe('192.168.16.0/20');
  });
  test('a home LAN on 192.168.1.0/24 makes 192.168.0.0/20 unavailable', () => {
    expect(chooseSubnet({ allocated: SLASH16S, reserved: ['192.168.1.0/24'] })).toBe('192.168.16.0/20');
  });
  test('all 31 used: Docker\'s error', () => {
    const all = [...SLASH16S, ...SLASH20S];
    expect(() => chooseSubnet({ allocated: all, reserved: [] })).toThrow(NO_DEFAULT_POOL);
    expect(NO_DEFAULT_POOL).toBe(
      'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  });
  test('handing out 31 networks in a row, then failing on the 32nd', () => {
    const allocated: string[] = [];
    for (let i = 0; i < 31; i++) allocated.push(chooseSubnet({ allocated, reserved: [] }));
    expect(allocated).toEqual([...SLASH16S, ...SLASH20S]);
    expect(() => chooseSubnet({ allocated, reserved: [] })).toThrow(/could not find an available/);
  });
  test('a freed subnet is the next one handed out', () => {
    const allocated = SLASH16S.filter((s) => s !== '172.20.0.0/16' && s !== '172.25.0.0/16');
    expect(chooseSubnet({ allocated, reserved: [] })).toBe('172.20.0.0/16');
  });
  test('custom pools (default-address-pools) replace the defaults', () => {
    const pools = [{ base: '10.10.0.0/16', size: 24 }];
    expect(chooseSubnet({ allocated: ['10.10.0.0/24'], reserved: [], pools })).toBe('10.10.1.0/24');
  });
});

describe('subnetConflict', () => {
  const nets = [{ name: 'bridge', subnet: '172.17.0.0/16' }, { name: 'web', subnet: '10.5.0.0/16' }];
  test('names the overlapping network', () => {
    const msg = subnetConflict('10.5.3.0/24', nets);
    expect(msg).toMatch(/^Pool overlaps with other one on this address space/);
    expect(msg).toContain('web');
    expect(msg).toContain('10.5.0.0/16');
  });
  test('no overlap: undefined', () => {
    expect(subnetConflict('10.6.0.0/16', nets)).toBeUndefined();
    expect(subnetConflict('10.6.0.0/16', [])).toBeUndefined();
  });
  test('host routes are not its business: only the allocated list counts', () => {
    expect(subnetConflict('172.18.0.0/16', nets)).toBeUndefined();
  });
});
