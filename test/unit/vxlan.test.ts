// The overlay datapath's pure parts: the requests the vxlan, fdb and
// neighbour verbs send (checked against iproute2's own: ip/iplink_vxlan.c,
// bridge/fdb.c, ip/ipneigh.c), their `ip`/`bridge` text, the plan steps'
// equivalents, and the reconcile diff. The kernel side is in
// test/kernel/vxlan.test.ts.
import { describe, expect, test } from 'vitest';
import { fdbAddCommand, fdbDelCommand, fdbRecord, fdbRequest } from '../../src/kernel/fdb.js';
import { neighDelCommand, neighRecord, neighReplaceCommand, neighRequest, nudNames } from '../../src/kernel/neigh.js';
import type { Netns } from '../../src/kernel/netns.js';
import { overlayMtu, vxlanAddCommand, vxlanData, vxlanDiff, vxlanName } from '../../src/kernel/vxlan.js';
import { overlayBridgeName, overlayEntriesDiff, overlayNetworkSteps, overlayReconcileSteps, remoteEndpointSteps } from '../../src/docker/vxlan.js';

const ID = '0123456789ab'.padEnd(64, 'c');
const host = { name: 'h1' } as Netns; // plans only read the name
const REMOTE = { ip: '10.99.0.3', mac: '02:42:0a:63:00:03', host: '198.51.100.3', name: 'web' };

describe('vxlan device', () => {
  test('names and MTU', () => {
    expect(vxlanName(42)).toBe('vxlan42');
    expect(vxlanName(0xffffff)).toBe('vxlan16777215'); // within 15 characters
    expect(overlayMtu(1500)).toBe(1450);
    expect(overlayBridgeName(ID)).toBe('ov-0123456789ab');
  });
  test('IFLA_INFO_DATA as iproute2 sends it: id, link, local, nolearning, proxy, dstport (network order in the addon)', () => {
    expect(vxlanData({ vni: 42, local: '198.51.100.1', dev: 3 })).toEqual([
      { type: 1, u32: 42 }, { type: 3, u32: 3 }, { type: 4, ip: '198.51.100.1' },
      { type: 7, u8: 0 }, { type: 11, u8: 1 }, { type: 15, be16: 4789 },
    ]);
    expect(vxlanData({ vni: 7, local: '192.0.2.1', dev: 2, port: 8472, learning: true, proxy: false }))
      .toEqual(expect.arrayContaining([{ type: 7, u8: 1 }, { type: 11, u8: 0 }, { type: 15, be16: 8472 }]));
  });
  test.each([
    [{ vni: 0, local: '198.51.100.1', dev: 3 }, /invalid VNI 0/],
    [{ vni: 0x1000000, local: '198.51.100.1', dev: 3 }, /invalid VNI/],
    [{ vni: 1, local: 'fe80::1', dev: 3 }, /invalid vxlan local address/],
    [{ vni: 1, local: '198.51.100.1', dev: 3, port: 0 }, /invalid VXLAN port/],
  ])('refuses %j', (o, msg) => {
    expect(() => vxlanData(o)).toThrow(msg);
  });
  test('the ip command', () => {
    expect(vxlanAddCommand('h1', { name: 'vxlan42', vni: 42, local: '198.51.100.1', dev: 'eth0', mtu: 1450, master: 'ov-0123456789ab', up: true }))
      .toBe('ip -n h1 link add vxlan42 mtu 1450 master ov-0123456789ab up type vxlan id 42 dstport 4789 local 198.51.100.1 dev eth0 nolearning proxy');
    expect(vxlanAddCommand(undefined, { name: 'vxlan7', vni: 7, local: '192.0.2.1', dev: 'ens4', learning: true, proxy: false }))
      .toBe('ip link add vxlan7 type vxlan id 7 dstport 4789 local 192.0.2.1 dev ens4 learning');
  });
  test('vxlanDiff: what makes an existing device not ours', () => {
    const link = { kind: 'vxlan', mtu: 1450, master: 9, vxlan: { id: 42, port: 4789, link: 3, local: '198.51.100.1', learning: false, proxy: true, l2miss: false, l3miss: false } };
    const want = { vni: 42, local: '198.51.100.1', dev: 3, mtu: 1450, master: 9 };
    expect(vxlanDiff(link, want)).toEqual([]);
    expect(vxlanDiff({ ...link, vxlan: { ...link.vxlan, id: 43, port: 8472, learning: true } }, want))
      .toEqual(['VNI 43, not 42', 'dstport 8472, not 4789', 'learning on, not off']);
    expect(vxlanDiff({ ...link, master: undefined }, want)).toEqual(['master none, not 9']);
    expect(vxlanDiff({ kind: 'bridge', mtu: 1500 }, want)).toEqual(['is a bridge, not a vxlan']);
  });
});

describe('forwarding (fdb) entries', () => {
  test('the request: AF_BRIDGE, NTF_SELF, NUD_NOARP|NUD_PERMANENT (fdb_modify with `self permanent`)', () => {
    expect(fdbRequest(5, { mac: '02:42:0A:63:00:03', dst: '198.51.100.3' }))
      .toEqual({ family: 'bridge', index: 5, lladdr: '02:42:0a:63:00:03', dst: '198.51.100.3', state: 0xc0, flags: 0x02 });
    expect(() => fdbRequest(5, { mac: '02:42:0a:63:00', dst: '198.51.100.3' })).toThrow(/invalid fdb entry MAC/);
    expect(() => fdbRequest(5, { mac: '02:42:0a:63:00:03', dst: 'host3' })).toThrow(/invalid fdb entry destination/);
  });
  test('the bridge commands', () => {
    const e = { mac: '02:42:0a:63:00:03', dst: '198.51.100.3' };
    expect(fdbAddCommand('h1', 'vxlan42', e)).toBe('bridge -n h1 fdb replace 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self permanent');
    expect(fdbAddCommand(undefined, 'vxlan42', e, 'append')).toBe('bridge fdb append 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self permanent');
    expect(fdbDelCommand('h1', 'vxlan42', e)).toBe('bridge -n h1 fdb del 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self');
  });
  test('a dumped entry, named', () => {
    expect(fdbRecord({ family: 'bridge', index: 5, state: 0xc0, flags: 2, type: 0, lladdr: '02:42:0a:63:00:03', dst: '198.51.100.3' }))
      .toEqual({ index: 5, mac: '02:42:0a:63:00:03', dst: '198.51.100.3', self: true, permanent: true, state: 0xc0, flags: 2 });
    expect(fdbRecord({ family: 'bridge', index: 5, state: 0x80, flags: 0, type: 0, lladdr: '86:54:5f:0d:a3:75', master: 4 }))
      .toMatchObject({ self: false, master: 4, dst: '' });
  });
});

describe('neighbour entries', () => {
  test('the request: AF_INET, NUD_PERMANENT, NDA_DST + NDA_LLADDR (ipneigh_modify)', () => {
    expect(neighRequest(5, { ip: '10.99.0.3', mac: '02:42:0a:63:00:03' }))
      .toEqual({ family: 4, index: 5, dst: '10.99.0.3', lladdr: '02:42:0a:63:00:03', state: 0x80 });
    expect(neighRequest(5, { ip: 'fd00::3', mac: '02:42:0a:63:00:03' }).family).toBe(6);
    expect(() => neighRequest(5, { ip: '10.99.0.300', mac: '02:42:0a:63:00:03' })).toThrow(/invalid neighbour address/);
    expect(() => neighRequest(5, { ip: '10.99.0.3', mac: 'ff:ff:ff:ff:ff:ff' })).toThrow(/invalid neighbour MAC/);
  });
  test('the ip commands and state names', () => {
    expect(neighReplaceCommand('h1', 'vxlan42', REMOTE)).toBe('ip -n h1 neigh replace 10.99.0.3 lladdr 02:42:0a:63:00:03 dev vxlan42 nud permanent');
    expect(neighDelCommand(undefined, 'vxlan42', '10.99.0.3')).toBe('ip neigh del 10.99.0.3 dev vxlan42');
    expect(nudNames(0x80)).toEqual(['PERMANENT']);
    expect(nudNames(0xc0)).toEqual(['NOARP', 'PERMANENT']);
    expect(neighRecord({ family: 4, index: 5, state: 0x02, flags: 0, type: 1, dst: '10.99.0.3', lladdr: '02:42:0a:63:00:03' }))
      .toEqual({ index: 5, family: 4, ip: '10.99.0.3', mac: '02:42:0a:63:00:03', state: ['REACHABLE'], flags: 0 });
  });
});

describe('plan steps', () => {
  const spec = { name: 'ov', id: ID, vni: 42, local: '198.51.100.1', underlay: 'eth0', mtu: 1450 };
  test('the network: bridge, then the vxlan in it; undos delete them', () => {
    const steps = overlayNetworkSteps(host, spec);
    expect(steps.map((s) => s.equivalent)).toEqual([
      ['ip -n h1 link add ov-0123456789ab mtu 1450 address 02:01:23:45:67:89 up type bridge'],
      ['ip -n h1 link add vxlan42 mtu 1450 master ov-0123456789ab up type vxlan id 42 dstport 4789 local 198.51.100.1 dev eth0 nolearning proxy'],
    ]);
    expect(steps.map((s) => s.undo?.equivalent)).toEqual([['ip -n h1 link del dev ov-0123456789ab'], ['ip -n h1 link del dev vxlan42']]);
    expect(() => overlayNetworkSteps(host, { ...spec, vni: 0 })).toThrow(/invalid VNI/);
  });
  test('a remote endpoint: fdb entry and neighbour entry, each with its undo', () => {
    const steps = remoteEndpointSteps(host, 42, REMOTE);
    expect(steps.map((s) => [s.title, s.equivalent, s.undo?.equivalent])).toEqual([
      ['forwarding 02:42:0a:63:00:03 to 198.51.100.3 on vxlan42 (sandbox web on 198.51.100.3)',
        ['bridge -n h1 fdb replace 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self permanent'],
        ['bridge -n h1 fdb del 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self']],
      ['answering ARP for 10.99.0.3 with 02:42:0a:63:00:03 on vxlan42 (sandbox web on 198.51.100.3)',
        ['ip -n h1 neigh replace 10.99.0.3 lladdr 02:42:0a:63:00:03 dev vxlan42 nud permanent'],
        ['ip -n h1 neigh del 10.99.0.3 dev vxlan42']],
    ]);
  });
  test('reconcile: missing entries added, stale ones deleted, matching ones left alone', () => {
    const b = { ip: '10.99.0.4', mac: '02:42:0a:63:00:04', host: '198.51.100.2' };
    const moved = { ip: '10.99.0.5', mac: '02:42:0a:63:00:05', host: '198.51.100.3' };
    const rec = (mac: string, dst: string) => ({ index: 5, mac, dst, self: true, permanent: true, state: 0xc0, flags: 2 });
    const nrec = (ip: string, mac: string) => ({ index: 5, family: 4 as const, ip, mac, state: ['PERMANENT'], flags: 0 });
    const have = {
      fdb: [rec(REMOTE.mac, REMOTE.host), rec(moved.mac, '198.51.100.2'), rec('02:42:0a:63:00:09', '198.51.100.9')],
      neigh: [nrec(REMOTE.ip, REMOTE.mac), nrec(moved.ip, moved.mac), nrec('10.99.0.9', '02:42:0a:63:00:09')],
    };
    const diff = overlayEntriesDiff([REMOTE, b, moved], have);
    expect(diff).toEqual({
      add: [b, moved],
      staleFdb: [{ mac: moved.mac, dst: '198.51.100.2' }, { mac: '02:42:0a:63:00:09', dst: '198.51.100.9' }],
      staleNeigh: ['10.99.0.9'],
    });
    const steps = overlayReconcileSteps(host, 42, [REMOTE, b, moved], have);
    expect(steps.flatMap((s) => s.equivalent)).toEqual([
      'bridge -n h1 fdb del 02:42:0a:63:00:05 dev vxlan42 dst 198.51.100.2 self',
      'bridge -n h1 fdb del 02:42:0a:63:00:09 dev vxlan42 dst 198.51.100.9 self',
      'ip -n h1 neigh del 10.99.0.9 dev vxlan42',
      'bridge -n h1 fdb replace 02:42:0a:63:00:04 dev vxlan42 dst 198.51.100.2 self permanent',
      'ip -n h1 neigh replace 10.99.0.4 lladdr 02:42:0a:63:00:04 dev vxlan42 nud permanent',
      'bridge -n h1 fdb replace 02:42:0a:63:00:05 dev vxlan42 dst 198.51.100.3 self permanent',
      'ip -n h1 neigh replace 10.99.0.5 lladdr 02:42:0a:63:00:05 dev vxlan42 nud permanent',
    ]);
    expect(steps.every((s) => s.undo === undefined)).toBe(true);
    expect(overlayReconcileSteps(host, 42, [REMOTE], { fdb: [rec(REMOTE.mac, REMOTE.host)], neigh: [nrec(REMOTE.ip, REMOTE.mac)] })).toEqual([]);
  });
});
