// The macvlan driver's pure parts: its -o options, Docker's checks, the
// network record it plans, the `ip` text of its kernel verb, and
// --aux-address in IPAM (every driver).
import { describe, expect, test } from 'vitest';
import { macvlanAddCommand, MACVLAN_MODES } from '../../src/kernel/macvlan.js';
import { macvlanOverlap, ownParentName, planMacvlan } from '../../src/docker/macvlan.js';
import { planNetwork, inspectNetwork } from '../../src/docker/network.js';
import type { NetworkRecord, State } from '../../src/docker/types.js';
import { allocate, checkStatic, planPool } from '../../src/net/ipam.js';

const ID = 'ab'.repeat(32);
const state = (networks: Partial<NetworkRecord>[] = []) => ({ networks }) as unknown as State;
const mv = (name: string, parent: string, subnet: string): Partial<NetworkRecord> =>
  ({ id: name.padEnd(64, '0').replace(/[^0-9a-f]/g, 'c'), name, driver: 'macvlan', parent, subnet, gateway: subnet.replace(/0\/\d+$/, '1') });

describe('planMacvlan: -o parent, -o macvlan_mode, --internal', () => {
  test('defaults to bridge mode on the given parent', () => {
    expect(planMacvlan(ID, false, { parent: 'ens4' })).toEqual({ parent: 'ens4', mode: 'bridge', ownParent: false });
  });
  test.each(['bridge', 'vepa', 'private', 'passthru'])('mode %s', (m) => {
    expect(planMacvlan(ID, false, { parent: 'ens4', macvlan_mode: m }).mode).toBe(m);
  });
  test.each(['l3', 'source', 'Bridge', ''])('refuses mode %j in Docker\'s words', (m) => {
    expect(() => planMacvlan(ID, false, { parent: 'ens4', macvlan_mode: m }))
      .toThrow(`requested macvlan mode '${m}' is not valid, 'bridge' mode is the macvlan driver default`);
  });
  test('a parent is needed unless --internal', () => {
    expect(() => planMacvlan(ID, false, {})).toThrow('macvlan network needs -o parent=IFACE');
  });
  test('lo and bad interface names are refused', () => {
    expect(() => planMacvlan(ID, false, { parent: 'lo' })).toThrow('loopback interface is not a valid macvlan parent link');
    expect(() => planMacvlan(ID, false, { parent: 'a/b' })).toThrow('-o parent=a/b: invalid interface name');
    expect(() => planMacvlan(ID, false, { parent: 'x'.repeat(16) })).toThrow('invalid interface name');
  });
  test('--internal: a parent of its own, dm-<12 hex of the id>; a given parent is not used, with a warning', () => {
    expect(ownParentName(ID)).toBe('dm-abababababab');
    expect(planMacvlan(ID, true, {})).toEqual({ parent: 'dm-abababababab', mode: 'bridge', ownParent: true });
    expect(planMacvlan(ID, true, { parent: 'ens4' }).warning).toBe(
      'WARNING: --internal: macvlan network gets a parent of its own (dm-abababababab); -o parent=ens4 is not used');
  });
});

describe('macvlanOverlap: two macvlan networks on one parent', () => {
  const nets = [mv('lan', 'ens4', '192.0.2.0/24'), { name: 'br', driver: 'bridge', subnet: '10.0.0.0/24' }] as NetworkRecord[];
  test('overlapping subnets on the same parent are refused', () => {
    expect(macvlanOverlap('192.0.2.128/25', 'ens4', nets)).toBe('network lan already uses parent ens4 with subnet 192.0.2.0/24, which overlaps 192.0.2.128/25');
    expect(macvlanOverlap('192.0.0.0/16', 'ens4', nets)).toContain('network lan already uses parent ens4');
  });
  test('another parent, or a subnet apart, is fine', () => {
    expect(macvlanOverlap('192.0.2.0/24', 'ens5', nets)).toBeUndefined();
    expect(macvlanOverlap('198.51.100.0/24', 'ens4', nets)).toBeUndefined();
    expect(macvlanOverlap('10.0.0.0/24', 'ens4', nets)).toBeUndefined(); // a bridge's: the generic pool check says it
  });
});

describe('planNetwork -d macvlan', () => {
  const req = { name: 'lan', driver: 'macvlan', subnet: '192.0.2.0/24', gateway: '192.0.2.1', options: { parent: 'ens4' } };
  test('the record: driver, parent, mode, Docker\'s Options; no bridge, no NAT fields', () => {
    const { network, warnings } = planNetwork(req, state(), []);
    expect(warnings).toEqual([]);
    expect(network).toMatchObject({ driver: 'macvlan', parent: 'ens4', macvlanMode: 'bridge', subnet: '192.0.2.0/24', gateway: '192.0.2.1',
      options: { parent: 'ens4', macvlan_mode: 'bridge' }, internal: false });
    expect(network).not.toHaveProperty('bridge');
    expect(network).not.toHaveProperty('masquerade');
    expect(network).not.toHaveProperty('ownParent');
    const shown = inspectNetwork(network, []) as any;
    expect(shown.Driver).toBe('macvlan');
    expect(shown.Options).toEqual({ parent: 'ens4', macvlan_mode: 'bridge' });
  });
  test('bridge options are not used by macvlan: a warning each', () => {
    const { warnings } = planNetwork({ ...req, options: { parent: 'ens4', 'com.docker.network.bridge.name': 'x' } }, state(), []);
    expect(warnings).toEqual(['WARNING: option com.docker.network.bridge.name is not used by nsnet']);
  });
  test('gateway outside the subnet: one clear error', () => {
    expect(() => planNetwork({ ...req, gateway: '198.51.100.1' }, state(), [])).toThrow("invalid gateway 198.51.100.1: parent subnet 192.0.2.0/24 doesn't contain this address");
  });
  test('same parent, overlapping subnet: refused as a conflict', () => {
    expect(() => planNetwork({ ...req, name: 'lan2' }, state([mv('lan', 'ens4', '192.0.2.0/24')]), []))
      .toThrow('network lan already uses parent ens4 with subnet 192.0.2.0/24, which overlaps 192.0.2.0/24');
  });
  test('one address space with the bridges, as Docker\'s default IPAM', () => {
    expect(() => planNetwork(req, state([{ name: 'br', driver: 'bridge', subnet: '192.0.2.0/25', bridge: 'br-x' }]), []))
      .toThrow('Pool overlaps with other one on this address space: 192.0.2.0/24 overlaps 192.0.2.0/25 of network br');
    // and a bridge's default subnet steers clear of a macvlan network's
    const { network } = planNetwork({ name: 'bb' }, state([mv('lan', 'ens4', '172.17.0.0/16')]), []);
    expect(network.subnet).not.toBe('172.17.0.0/16');
  });
  test('--internal: no parent needed, its own', () => {
    const { network } = planNetwork({ name: 'iso', driver: 'macvlan', internal: true }, state(), []);
    expect(network).toMatchObject({ driver: 'macvlan', internal: true, ownParent: true });
    expect(network.parent).toBe(`dm-${network.id.slice(0, 12)}`);
  });
  test('other drivers: still refused', () => {
    expect(() => planNetwork({ name: 'xx', driver: 'ipvlan' }, state(), [])).toThrow('plugin "ipvlan" not found: nsnet supports the bridge and macvlan drivers');
  });
  test('--aux-address goes to IPAM and network inspect, for bridges too', () => {
    const { network } = planNetwork({ name: 'bb', subnet: '10.5.0.0/24', auxAddresses: { router: '10.5.0.2' } }, state(), []);
    expect(network.auxAddresses).toEqual({ router: '10.5.0.2' });
    expect((inspectNetwork(network, []) as any).IPAM.Config[0].AuxiliaryAddresses).toEqual({ router: '10.5.0.2' });
    expect(() => planNetwork({ name: 'cc', auxAddresses: { r: '10.5.0.2' } }, state(), [])).toThrow('invalid config: --aux-address needs a --subnet');
  });
});

describe('--aux-address in IPAM', () => {
  const pool = planPool({ subnet: '10.0.0.0/29', aux: { shim: '10.0.0.2', nas: '10.0.0.4' } });
  test('never handed out', () => {
    expect(allocate(pool, [])).toBe('10.0.0.3');
    expect(allocate(pool, ['10.0.0.3'])).toBe('10.0.0.5');
    expect(() => allocate(pool, ['10.0.0.3', '10.0.0.5', '10.0.0.6'])).toThrow('no available IP addresses in 10.0.0.0/29');
  });
  test('a static --ip of one is refused, naming it', () => {
    expect(() => checkStatic(pool, '10.0.0.4', [])).toThrow('address 10.0.0.4 is reserved as aux-address nas');
  });
  test.each([
    [{ x: '10.1.0.9' }, 'no matching subnet for aux-address x=10.1.0.9: 10.0.0.0/29 doesn\'t contain it'],
    [{ x: '10.0.0.0' }, 'invalid aux-address x=10.0.0.0: it is the network address of 10.0.0.0/29'],
    [{ x: '10.0.0.7' }, 'invalid aux-address x=10.0.0.7: it is the broadcast address of 10.0.0.0/29'],
    [{ x: 'nas' }, 'invalid aux-address x=nas: invalid address'],
    [{ x: '2001:db8::1' }, 'invalid aux-address x=2001:db8::1: IPv6 is not supported yet, only IPv4'],
    [{ '': '10.0.0.2' }, 'invalid aux-address =10.0.0.2: give it a name (NAME=IP)'],
  ])('refuses %j', (aux, message) => {
    expect(() => planPool({ subnet: '10.0.0.0/29', aux })).toThrow(message);
  });
});

describe('macvlanAddCommand: the ip text of the one RTM_NEWLINK', () => {
  test('born in a sandbox, with its MAC, up', () => {
    expect(macvlanAddCommand(undefined, { name: 'eth0', parent: 'ens4', mode: 'bridge', netns: 'web', address: '02:42:c0:00:02:02', up: true }))
      .toBe('ip link add link ens4 name eth0 netns web address 02:42:c0:00:02:02 up type macvlan mode bridge');
  });
  test('in a named namespace, with an mtu, private mode', () => {
    expect(macvlanAddCommand('h1', { name: 'shim', parent: 'eth0', mode: 'private', mtu: 1400 }))
      .toBe('ip -n h1 link add link eth0 name shim mtu 1400 type macvlan mode private');
  });
  test('the kernel\'s mode numbers (if_link.h)', () => {
    expect(MACVLAN_MODES).toEqual({ private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 });
  });
});
