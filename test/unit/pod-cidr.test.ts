// Pod CIDRs leased from the cluster store (docs/cni.md "Pod CIDRs from etcd"),
// the pure parts: the next free block, the keys, which configurations lease,
// which networks the resident process follows, the conflist. No root, no etcd.
import { describe, expect, test } from 'vitest';
import { podCidrPrefixLen } from '../../src/cni/config.js';
import { conflist } from '../../src/cni/conflist.js';
import { CniError, type NetConf } from '../../src/cni/types.js';
import { podCidrStore, podRoute, POD_CIDR_STORE_LABEL, POD_ROUTE_PROTO } from '../../src/docker/pod-cidr.js';
import { leasedRanges } from '../../src/docker/pod-routes.js';
import type { Context } from '../../src/docker/context.js';
import type { NetworkRecord } from '../../src/docker/types.js';
import { routeAddCommand } from '../../src/kernel/route.js';
import { encodePodCidr, keys, nextPodCidr, parsePodCidr } from '../../src/state/cluster/keys.js';

describe('nextPodCidr', () => {
  test('the lowest free /24, skipping the range\'s first block (its address is the range\'s own)', () => {
    expect(nextPodCidr('10.244.0.0/16', 24, [])).toBe('10.244.1.0/24');
    expect(nextPodCidr('10.244.0.0/16', 24, ['10.244.1.0/24', '10.244.3.0/24'])).toBe('10.244.2.0/24');
    expect(nextPodCidr('10.244.0.0/16', 24, ['10.244.1.0/24', '10.244.2.0/24'])).toBe('10.244.3.0/24');
  });

  test('other prefix lengths; a taken block of another size still counts as taken', () => {
    expect(nextPodCidr('10.244.0.0/16', 26, [])).toBe('10.244.0.64/26');
    expect(nextPodCidr('10.244.0.0/16', 24, ['10.244.0.0/23'])).toBe('10.244.2.0/24');
    expect(nextPodCidr('10.244.0.0/24', 24, [])).toBe('10.244.0.0/24'); // the range is one block: that one
  });

  test('a full range and a bad prefix length are errors that say so', () => {
    expect(() => nextPodCidr('10.244.0.0/23', 24, ['10.244.1.0/24'])).toThrow(/every \/24 is leased/);
    expect(() => nextPodCidr('10.244.0.0/16', 12, [])).toThrow(/between the cluster's \(16\) and 30/);
  });
});

test('keys and records: podcidrs/<cluster>/<cidr>, {host, hostAddress}', () => {
  expect(keys.podCidrs('10.244.0.0/16')).toBe('/nsnet/v1/podcidrs/10.244.0.0_16/');
  const key = keys.podCidr('10.244.0.0/16', '10.244.1.0/24');
  expect(key).toBe('/nsnet/v1/podcidrs/10.244.0.0_16/10.244.1.0_24');
  const l = { cidr: '10.244.1.0/24', host: 'node1-0a1b2c3d', hostAddress: '198.51.100.1' };
  expect(parsePodCidr(key, encodePodCidr(l))).toEqual(l);
  expect(() => parsePodCidr(key, '{"host":"x"}')).toThrow(/hostAddress/);
});

describe('which configurations lease a pod CIDR', () => {
  const conf = (over: Partial<NetConf>): NetConf => ({ cniVersion: '1.0.0', name: 'k8s', type: 'nsnet', ipam: { type: 'nsnet' }, clusterCIDR: '10.244.0.0/16', ...over });
  test('nsnet IPAM, no subnet, a clusterCIDR: the prefix length (default 24)', () => {
    expect(podCidrPrefixLen(conf({}))).toBe(24);
    expect(podCidrPrefixLen(conf({ podCIDRPrefixLen: 26 }))).toBe(26);
  });
  test('a subnet, no clusterCIDR, or another IPAM: no lease', () => {
    expect(podCidrPrefixLen(conf({ ipam: { type: 'nsnet', subnet: '10.244.1.0/24' } }))).toBeUndefined();
    expect(podCidrPrefixLen(conf({ clusterCIDR: undefined }))).toBeUndefined();
    expect(podCidrPrefixLen(conf({ ipam: { type: 'host-local' } }))).toBeUndefined();
  });
  test('a bad podCIDRPrefixLen is a configuration error (code 7)', () => {
    expect(() => podCidrPrefixLen(conf({ podCIDRPrefixLen: 40 }))).toThrow(CniError);
  });
  test('the store: the configuration\'s clusterStore first, then the context\'s (NSNET_CLUSTER_STORE), else daemon.json\'s', () => {
    const ctx = (clusterStore?: { url: string; from: string }) => ({ ...(clusterStore && { clusterStore }), configFile: '/nonexistent/daemon.json' }) as unknown as Context;
    expect(podCidrStore(ctx({ url: 'etcd://192.0.2.9:2379', from: 'NSNET_CLUSTER_STORE' }), 'etcd://192.0.2.1:2379')?.url).toBe('etcd://192.0.2.1:2379');
    expect(podCidrStore(ctx({ url: 'etcd://192.0.2.9:2379', from: 'NSNET_CLUSTER_STORE' }), undefined)).toEqual({ url: 'etcd://192.0.2.9:2379', from: 'NSNET_CLUSTER_STORE' });
    expect(podCidrStore(ctx(), undefined)).toBeUndefined();
    expect(() => podCidrStore(ctx(), 42)).toThrow(/clusterStore/);
  });
});

test('the resident process follows each (store, cluster range) its networks leased from, with their subnets', () => {
  const net = (name: string, subnet: string, labels: Record<string, string>, clusterCidr?: string) =>
    ({ id: name, name, driver: 'bridge', subnet, labels, ...(clusterCidr && { clusterCidr }) }) as unknown as NetworkRecord;
  const url = 'etcd://198.51.100.1:2379';
  const r = leasedRanges([
    net('k8s', '10.244.1.0/24', { [POD_CIDR_STORE_LABEL]: url }, '10.244.0.0/16'),
    net('plain', '172.18.0.0/16', {}),
    net('by-hand', '10.245.1.0/24', {}, '10.245.0.0/16'),
  ]);
  expect([...r.values()]).toEqual([{ url, cluster: '10.244.0.0/16', own: ['10.244.1.0/24'] }]);
});

test('the route to another node\'s pods: via its address, marked proto 78', () => {
  expect(POD_ROUTE_PROTO).toBe(78);
  expect(routeAddCommand(undefined, podRoute('10.244.2.0/24', '198.51.100.2'))).toBe('ip route add 10.244.2.0/24 via 198.51.100.2 proto 78');
});

test('nsnet cni config --cluster-cidr --cluster-store: a conflist without a subnet, naming the store', () => {
  const list = conflist({ name: 'k8s-pod-network', bridge: 'cbr0', clusterCIDR: '10.244.0.0/16', clusterStore: 'etcd://198.51.100.1:2379,198.51.100.2:2379', podCIDRPrefixLen: 25 });
  const p = (list.plugins as Record<string, unknown>[])[0]!;
  expect(p).toMatchObject({ clusterCIDR: '10.244.0.0/16', clusterStore: 'etcd://198.51.100.1:2379,198.51.100.2:2379', podCIDRPrefixLen: 25, ipam: { type: 'nsnet' } });
  expect(podCidrPrefixLen({ ...(p as unknown as NetConf), cniVersion: '1.0.0', name: 'k8s-pod-network' })).toBe(25);
  expect(() => conflist({ name: 'n', clusterStore: 'etcd://h:2379' })).toThrow(/--cluster-cidr without --subnet/);
  expect(() => conflist({ name: 'n', clusterCIDR: '10.244.0.0/16', subnet: '10.244.1.0/24', clusterStore: 'etcd://h:2379' })).toThrow(/--cluster-store/);
  expect(() => conflist({ name: 'n', clusterCIDR: '10.244.0.0/16', clusterStore: 'http://h:2379' })).toThrow(/etcd:\/\//);
});
