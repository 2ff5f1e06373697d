// The pure parts of overlay sandboxes (docs/overlay.md): the network record an
// overlay endpoint's steps are built from, the store's endpoint keys, and the
// names of sandboxes on other hosts as the DNS server's index takes them.
import { expect, test } from 'vitest';
import { overlayNetworkRecord, remoteOf } from '../../src/docker/overlay-endpoint.js';
import { overlayBridgeName } from '../../src/docker/vxlan.js';
import type { EndpointRecord, SandboxRecord } from '../../src/docker/types.js';
import { TYPE } from '../../src/dns/message.js';
import { lookup } from '../../src/dns/lookup.js';
import { NameIndexer } from '../../src/dns/names.js';
import { remoteChanges } from '../../src/dns/overlay-names.js';
import { endpointKeyParts, keys, type OverlayEndpoint } from '../../src/state/cluster/keys.js';

const NET = 'ab'.repeat(32);
const join = { network: 'ov', subnet: '10.60.0.0/24', vni: 4096, host: 'h1-0001', hostAddress: '198.51.100.1', underlay: 'lan0', mtu: 1450 };

test('an overlay endpoint\'s network: the ov-<id> bridge, its VNI and the overlay MTU; no way out (internal)', () => {
  expect(overlayNetworkRecord(NET, '10.60.0.1', join)).toMatchObject({
    id: NET, name: 'ov', driver: 'overlay', scope: 'global', bridge: `ov-${NET.slice(0, 12)}`, subnet: '10.60.0.0/24',
    gateway: '10.60.0.1', vni: 4096, mtu: 1450, internal: true,
  });
  expect(overlayBridgeName(NET)).toHaveLength(15);
});

test('endpoint keys give back their network and sandbox; a store endpoint as the remote entries need it', () => {
  expect(endpointKeyParts(keys.endpoint(NET, 'cd'.repeat(32)))).toEqual({ network: NET, sandbox: 'cd'.repeat(32) });
  const ep: OverlayEndpoint = { network: NET, sandbox: 's', name: 'web', aliases: [], ip: '10.60.0.3', mac: '02:42:0a:3c:00:03', host: 'h3', hostAddress: '198.51.100.3' };
  expect(remoteOf(ep)).toEqual({ ip: '10.60.0.3', mac: '02:42:0a:3c:00:03', host: '198.51.100.3', name: 'web' });
});

test('names of sandboxes on other hosts: resolvable from a local sandbox on the same overlay network, not from one on another, gone with their endpoint', () => {
  const local: SandboxRecord = {
    id: '11'.repeat(32), name: 's1', created: '', status: 'running', mode: 'bridge', networkMode: 'ov', hostname: 's1',
    ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [],
    endpoints: [{ networkId: NET, endpointId: '', ifname: 'eth0', hostVeth: 'vethx', ip: '10.60.0.2', prefixlen: 24, mac: '', gateway: '10.60.0.1', aliases: [], staticIp: false, overlay: join } as EndpointRecord],
  };
  const other: SandboxRecord = { ...local, id: '22'.repeat(32), name: 'o1', endpoints: [{ ...local.endpoints[0]!, networkId: 'ef'.repeat(32), ip: '10.61.0.2' }] };
  const eps: OverlayEndpoint[] = [
    { network: NET, sandbox: '33'.repeat(32), name: 'web', aliases: ['www'], ip: '10.60.0.3', mac: 'm', host: 'h3', hostAddress: '198.51.100.3' },
    // This host's own endpoint: it is a local sandbox already, not a remote one.
    { network: NET, sandbox: local.id, name: 's1', aliases: [], ip: '10.60.0.2', mac: 'm', host: 'h1-0001', hostAddress: '198.51.100.1' },
  ];
  const changes = remoteChanges(eps, 'h1-0001', undefined);
  expect([...changes.keys()]).toEqual(['33'.repeat(32)]);
  const nets = [overlayNetworkRecord(NET, '10.60.0.1', join), overlayNetworkRecord('ef'.repeat(32), '10.61.0.1', { ...join, network: 'ov2', subnet: '10.61.0.0/24', vni: 4097 })];
  const x = new NameIndexer();
  const known = new Map<string, SandboxRecord>([[local.id, local], [other.id, other], ['33'.repeat(32), changes.get('33'.repeat(32))!]]);
  x.update(nets, known);
  for (const name of ['web', 'www', 'web.ov']) expect(lookup(x.index, local.id, name, TYPE.A)).toEqual({ kind: 'answer', ips: ['10.60.0.3'] });
  expect(lookup(x.index, other.id, 'web', TYPE.A)).toEqual({ kind: 'forward' });
  // Its endpoint deleted: the change says so, and the name is gone.
  const gone = remoteChanges([eps[1]!], 'h1-0001', new Set(['33'.repeat(32)]));
  expect(gone).toEqual(new Map([['33'.repeat(32), undefined]]));
  known.delete('33'.repeat(32));
  x.update(nets, known, gone.keys());
  expect(lookup(x.index, local.id, 'web', TYPE.A)).toEqual({ kind: 'forward' });
});
