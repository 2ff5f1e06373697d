import { describe, expect, test } from 'vitest';
import { bridgeMac, checkMac, macFromIPv4 } from '../../src/net/mac.js';

test.each([
  ['172.17.0.2', '02:42:ac:11:00:02'],
  ['172.18.0.3', '02:42:ac:12:00:03'],
  ['192.168.16.255', '02:42:c0:a8:10:ff'],
  ['0.0.0.0', '02:42:00:00:00:00'],
  ['255.255.255.255', '02:42:ff:ff:ff:ff'],
])('%s -> %s', (ip, mac) => {
  expect(macFromIPv4(ip)).toBe(mac);
});

test('rejects what is not an IPv4 address', () => {
  for (const bad of ['172.17.0.256', 'fd00::1', '', '172.17.0.2/16']) expect(() => macFromIPv4(bad), bad).toThrow();
});

test("a bridge's MAC comes from its network's id: fixed, locally administered, unicast", () => {
  const id = '3f2a9c04b1e7d5a6c8f0e2d4b6a8c0e2f4d6b8a0c2e4f6d8b0a2c4e6f8d0b2a4';
  expect(bridgeMac(id)).toBe('02:3f:2a:9c:04:b1');
  expect(bridgeMac(id)).toBe(bridgeMac(id));
  expect(() => bridgeMac('nope')).toThrow(/not a network id/);
});

describe('checkMac: what --mac-address accepts', () => {
  test.each([
    ['02:42:ac:11:00:02', '02:42:ac:11:00:02'],
    ['02:42:AC:11:00:0A', '02:42:ac:11:00:0a'],
    ['02-42-ac-11-00-02', '02:42:ac:11:00:02'],
    ['00:16:3e:00:00:01', '00:16:3e:00:00:01'], // universally administered unicast is fine too
    ['fe:ff:ff:ff:ff:ff', 'fe:ff:ff:ff:ff:ff'],
  ])('%s -> %s', (text, mac) => {
    expect(checkMac(text)).toBe(mac);
  });
  test.each([
    ['01:00:5e:00:00:01', /multicast MAC address/],
    ['33:33:00:00:00:01', /multicast MAC address/],
    ['03:00:00:00:00:00', /multicast MAC address/],
    ['ff:ff:ff:ff:ff:ff', /broadcast MAC address/],
    ['FF-FF-FF-FF-FF-FF', /broadcast MAC address/],
    ['00:00:00:00:00:00', /all-zero MAC address/],
    ['02:42:ac:11:00', /not a MAC address/],
    ['02:42:ac:11:00:02:03', /not a MAC address/],
    ['02:42-ac:11:00:02', /not a MAC address/],
    ['2:42:ac:11:0:2', /not a MAC address/],
    ['0242.ac11.0002', /not a MAC address/],
    ['zz:42:ac:11:00:02', /not a MAC address/],
    ['', /not a MAC address/],
    [' 02:42:ac:11:00:02', /not a MAC address/],
  ])('refuses %j', (text, why) => {
    expect(() => checkMac(text)).toThrow(why);
  });
});
