import { expect, test } from 'vitest';
import { bridgeMac, macFromIPv4 } from '../../src/net/mac.js';

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
