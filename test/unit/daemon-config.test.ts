// nsnet's daemon.json (src/docker/daemon-config.ts): Docker's key names for the
// default bridge's IPv6, everything else refused, each error naming the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { daemonConfigPath, parseDaemonConfig, readDaemonConfig } from '../../src/docker/daemon-config.js';
import { builtinNetworks } from '../../src/docker/network.js';
import type { State } from '../../src/docker/types.js';

const F = '/etc/nsnet/daemon.json';

test('ipv6 and fixed-cidr-v6, as Docker spells them', () => {
  expect(parseDaemonConfig('{}', F)).toEqual({});
  expect(parseDaemonConfig('{"ipv6": false}', F)).toEqual({});
  expect(parseDaemonConfig('{"ipv6": true}', F)).toEqual({ ipv6: true });
  expect(parseDaemonConfig('{"ipv6": true, "fixed-cidr-v6": "2001:db8:1::/64"}', F)).toEqual({ ipv6: true, fixedCidrV6: '2001:db8:1::/64' });
});

test('cluster-store and cluster-advertise (the overlay networks\' store and this host\'s underlay address), as Docker spelt them', () => {
  expect(parseDaemonConfig('{"cluster-store": "etcd://h1:2379", "cluster-advertise": "eth0"}', F))
    .toEqual({ clusterStore: 'etcd://h1:2379', clusterAdvertise: 'eth0' });
  expect(parseDaemonConfig('{"cluster-advertise": "198.51.100.1"}', F)).toEqual({ clusterAdvertise: '198.51.100.1' });
});

test.each([
  ['{"ipv6": true', /^\/etc\/nsnet\/daemon.json: not valid JSON/],
  ['[]', /daemon.json: not a JSON object$/],
  ['{"ipv6": 1}', /"ipv6" must be true or false, not 1/],
  ['{"cluster-store": 2379}', /"cluster-store" must be a string/],
  ['{"bip": "10.0.0.1/24"}', /don't match any configuration option nsnet reads: bip \(it reads ipv6, fixed-cidr-v6, cluster-store, cluster-advertise\)/],
  ['{"cluster-advertise": 5}', /"cluster-advertise" must be an IPv4 address or an interface name, not 5/],
  ['{"cluster-advertise": ""}', /"cluster-advertise" must be an IPv4 address or an interface name/],
  ['{"fixed-cidr-v6": "2001:db8:1::/64"}', /"fixed-cidr-v6" needs "ipv6": true/],
  ['{"ipv6": true, "fixed-cidr-v6": "10.0.0.0/8"}', /"fixed-cidr-v6" must be an IPv6 subnet/],
])('%s is refused: %s', (text, message) => {
  expect(() => parseDaemonConfig(text, F)).toThrow(message);
});

test('where it is: NSNET_CONFIG, else beside --root, else /etc/nsnet; a missing file is no config', () => {
  expect(daemonConfigPath({}, undefined)).toBe(F);
  expect(daemonConfigPath({}, '/tmp/r')).toBe('/tmp/r/daemon.json');
  expect(daemonConfigPath({ NSNET_CONFIG: '/x.json' }, '/tmp/r')).toBe('/x.json');
  const dir = mkdtempSync(path.join(tmpdir(), 'nsnet-conf-'));
  try {
    expect(readDaemonConfig(path.join(dir, 'none.json'))).toEqual({});
    writeFileSync(path.join(dir, 'd.json'), '{"ipv6": true}');
    expect(readDaemonConfig(path.join(dir, 'd.json'))).toEqual({ ipv6: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default bridge: dual stack with the config\'s subnet or a ULA /64; an overlap names the file', () => {
  const state = { networks: [] } as unknown as State;
  const [plain] = builtinNetworks(state, []);
  expect([plain!.enableIPv6, plain!.subnet6]).toEqual([undefined, undefined]);
  const [fixed] = builtinNetworks(state, [], { subnet6: '2001:db8:5::/64', file: F });
  expect([fixed!.enableIPv6, fixed!.subnet6, fixed!.gateway6]).toEqual([true, '2001:db8:5::/64', '2001:db8:5::1']);
  const [ula] = builtinNetworks(state, [], { ulaGlobalId: '123456789a', file: F });
  expect(ula!.subnet6).toMatch(/^fd12:3456:789a:[0-9a-f]{1,4}::\/64$|^fd12:3456:789a::\/64$/);
  const taken = { networks: [{ ...fixed!, name: 'dual', builtin: false, defaultBridge: undefined }] } as unknown as State;
  expect(() => builtinNetworks(taken, [], { subnet6: '2001:db8:5::/80', file: F })).toThrow(`${F}: fixed-cidr-v6: invalid pool request: Pool overlaps with other one on this address space (network dual: 2001:db8:5::/64)`);
});
