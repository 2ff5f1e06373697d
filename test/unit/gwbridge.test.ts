// The pure parts of an overlay sandbox's way out (docs/overlay.md, "The way
// out"): nsnet_gwbridge planned as Docker plans docker_gwbridge, no names
// served on it, and the endpoint shown where Docker shows it.
import { expect, test } from 'vitest';
import { servesEmbeddedDns } from '../../src/docker/embedded-dns.js';
import { GWBRIDGE, GWBRIDGE_OPTIONS, inspectNetwork, isGwbridge, planNetwork } from '../../src/docker/network.js';
import { inspectSandbox } from '../../src/docker/sandbox-view.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord, State } from '../../src/docker/types.js';
import { NameIndexer } from '../../src/dns/names.js';
import { lookup } from '../../src/dns/lookup.js';
import { TYPE } from '../../src/dns/message.js';
import { overlayNetworkRecord } from '../../src/docker/overlay-endpoint.js';

const OV = 'ab'.repeat(32);
const join = { network: 'ov', subnet: '10.60.0.0/24', vni: 4096, host: 'h1', hostAddress: '198.51.100.1', underlay: 'lan0', mtu: 1450 };

function planGw(reserved: string[] = []): NetworkRecord {
  const none = { networks: [{ name: 'bridge', driver: 'bridge', subnet: '172.17.0.0/16' }] as NetworkRecord[] } as unknown as State;
  return planNetwork({ name: GWBRIDGE, options: { ...GWBRIDGE_OPTIONS } }, none, reserved).network;
}

function sandbox(gw: NetworkRecord, id: string, name: string, n: number): SandboxRecord {
  const ep = (x: Partial<EndpointRecord>): EndpointRecord => ({
    networkId: '', endpointId: 'e', ifname: 'eth0', hostVeth: 'vethx', ip: '', prefixlen: 24, mac: '', gateway: '', aliases: [], staticIp: false, ...x,
  });
  return {
    id, name, created: '', status: 'running', mode: 'bridge', networkMode: 'ov', hostname: name, ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [],
    endpoints: [
      ep({ networkId: OV, ip: `10.60.0.${n}`, gateway: '10.60.0.1', overlay: join }),
      ep({ networkId: gw.id, ifname: 'eth1', ip: `172.18.0.${n}`, prefixlen: 16, gateway: '172.18.0.1', gwbridge: true }),
    ],
  };
}

test('nsnet_gwbridge is planned as Docker makes docker_gwbridge: its own bridge name, icc off, masquerade on, a default-pool subnet', () => {
  const gw = planGw();
  expect(gw).toMatchObject({ name: 'nsnet_gwbridge', driver: 'bridge', bridge: 'nsnet_gwbridge', icc: false, masquerade: true, internal: false, subnet: '172.18.0.0/16' });
  expect(isGwbridge(gw)).toBe(true);
  expect(isGwbridge({ ...gw, name: 'other' })).toBe(false);
  // Its default subnet avoids the overlay network's (passed as reserved) as it avoids the host's prefixes.
  expect(planGw(['172.18.0.0/24']).subnet).toBe('172.19.0.0/16');
});

test('no names on nsnet_gwbridge: a sandbox resolves the other by its overlay address only, and nothing by a gwbridge address', () => {
  const gw = planGw();
  expect(servesEmbeddedDns(gw)).toBe(false);
  const [a, b] = [sandbox(gw, '11'.repeat(32), 'a', 2), sandbox(gw, '22'.repeat(32), 'b', 3)];
  const x = new NameIndexer();
  x.update([gw, overlayNetworkRecord(OV, '10.60.0.1', join)], new Map([[a.id, a], [b.id, b]]));
  expect(lookup(x.index, a.id, 'b', TYPE.A)).toEqual({ kind: 'answer', ips: ['10.60.0.3'] });
  expect(lookup(x.index, a.id, 'b.nsnet_gwbridge', TYPE.A)).toEqual({ kind: 'forward' });
});

test('inspect: the sandbox lists its overlay network only; network inspect nsnet_gwbridge names the endpoint gateway_<12 of the id>', () => {
  const gw = planGw();
  const sb = sandbox(gw, '1234567890ab'.padEnd(64, 'c'), 'web', 2);
  const view = inspectSandbox(sb, sb, [gw], 'running', { etcNetns: '/etc/netns', logPath: '' }) as { NetworkSettings: { Networks: Record<string, unknown> } };
  expect(Object.keys(view.NetworkSettings.Networks)).toEqual(['ov']);
  const net = inspectNetwork(gw, [sb]) as { Containers: Record<string, { Name: string; IPv4Address: string }> };
  expect(net.Containers[sb.id]).toMatchObject({ Name: 'gateway_1234567890ab', IPv4Address: '172.18.0.2/16' });
});
