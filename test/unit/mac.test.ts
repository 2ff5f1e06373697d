import { expect, test } from 'vitest';
import { macFromIPv4 } from '../../src/net/mac.js';

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
