// The cluster store's pure parts: the store URL, the key layout and records,
// the decisions (VNI, subnet, address), the gateway's JSON encoding, watch
// decoding, and where the CLI finds the setting.
import { describe, expect, test } from 'vitest';
import { chooseClusterStore } from '../../src/cli/cluster-config.js';
import { b64, decodeKv, prefixEnd, rangeRequest, summarise, txnOps, unb64 } from '../../src/state/cluster/etcd-gateway.js';
import {
  encodeClaim, keys, lastSegment, nextAddress, nextVni, parseAddressClaim, parseEndpoint, parseNetwork, planOverlayPool,
  VNI_FIRST, type OverlayNetwork,
} from '../../src/state/cluster/keys.js';
import { parseStoreUrl } from '../../src/state/cluster/store-url.js';
import { watchEvents } from '../../src/state/cluster/watch.js';

describe('parseStoreUrl', () => {
  test('members with and without ports, IPv6 in brackets; normalised text', () => {
    expect(parseStoreUrl('etcd://10.0.0.1:2379,10.0.0.2,[2001:db8::3]:12379/')).toEqual({
      text: 'etcd://10.0.0.1:2379,10.0.0.2:2379,[2001:db8::3]:12379',
      members: [{ host: '10.0.0.1', port: 2379 }, { host: '10.0.0.2', port: 2379 }, { host: '2001:db8::3', port: 12379 }],
    });
    expect(parseStoreUrl(' ETCD://etcd-1.example:2379 ').members).toEqual([{ host: 'etcd-1.example', port: 2379 }]);
  });
  test('errors name the store and the bad part', () => {
    expect(() => parseStoreUrl('consul://h:8500')).toThrow('invalid cluster store "consul://h:8500": unsupported backend "consul" (only etcd:// is)');
    expect(() => parseStoreUrl('h1:2379')).toThrow('expected etcd://HOST:2379');
    expect(() => parseStoreUrl('etcd://')).toThrow('no members');
    expect(() => parseStoreUrl('etcd://h1:2379,,h2')).toThrow('bad member ""');
    expect(() => parseStoreUrl('etcd://h1:99999')).toThrow('bad port in "h1:99999"');
    expect(() => parseStoreUrl('etcd://[nope]:1')).toThrow('bad member "[nope]:1"');
  });
});

describe('gateway encoding', () => {
  test('base64 both ways; prefixEnd is the prefix with its last byte + 1 (etcdctl --prefix)', () => {
    expect(unb64(b64('/nsnet/v1/é'))).toBe('/nsnet/v1/é');
    expect(unb64(undefined)).toBe('');
    expect(Buffer.from(prefixEnd('/a/'), 'base64').toString()).toBe('/a0');
    expect([...Buffer.from(prefixEnd('a\xff'), 'base64')]).toEqual([0x61, 0xc3, 0xc0]); // "ÿ" is c3 bf in UTF-8
    expect(rangeRequest('/x/', { prefix: true, keysOnly: true })).toEqual({ key: b64('/x/'), range_end: prefixEnd('/x/'), keys_only: true });
    expect(rangeRequest('/x')).toEqual({ key: b64('/x') });
  });
  test('transaction pieces as etcd takes them: create_revision == 0 for "absent"; lease ids stay decimal strings', () => {
    expect(txnOps.absent('/k')).toEqual({ key: b64('/k'), target: 'CREATE', result: 'EQUAL', create_revision: '0' });
    expect(txnOps.modIs('/k', '42')).toEqual({ key: b64('/k'), target: 'MOD', result: 'EQUAL', mod_revision: '42' });
    expect(txnOps.put('/k', 'v', '7587899311423964424')).toEqual({ request_put: { key: b64('/k'), value: b64('v'), lease: '7587899311423964424' } });
    expect(txnOps.put('/k', 'v')).toEqual({ request_put: { key: b64('/k'), value: b64('v') } });
    expect(txnOps.delPrefix('/p/')).toEqual({ request_delete_range: { key: b64('/p/'), range_end: prefixEnd('/p/') } });
  });
  test('a key-value decoded; no lease when 0', () => {
    expect(decodeKv({ key: b64('/a'), value: b64('1'), create_revision: '5', mod_revision: '6', lease: '0' }))
      .toEqual({ key: '/a', value: '1', createRevision: '5', modRevision: '6' });
    expect(decodeKv({ key: b64('/a'), lease: '99' })).toMatchObject({ value: '', lease: '99', createRevision: '0' });
  });
  test('errors when no member answers: one reason for all, or each member', () => {
    expect(summarise(['h1:2379: connection refused', 'h2:2379: connection refused', 'h3:2379: connection refused'], 3)).toBe('connection refused on all 3 members');
    expect(summarise(['h1:2379: connection refused'], 1)).toBe('connection refused (h1:2379)');
    expect(summarise(['h1:2379: connection refused', 'h2:2379: timed out'], 2)).toBe('no member answered (h1:2379: connection refused; h2:2379: timed out)');
  });
});

describe('watch decoding', () => {
  test('puts and deletes with their revisions', () => {
    const m = {
      result: {
        header: { revision: '9' },
        events: [
          { kv: { key: b64('/e/1'), value: b64('{}'), mod_revision: '8' } },
          { type: 'DELETE' as const, kv: { key: b64('/e/2'), mod_revision: '9' } },
        ],
      },
    };
    expect(watchEvents(m)).toEqual([
      { type: 'put', key: '/e/1', value: '{}', modRevision: '8' },
      { type: 'delete', key: '/e/2', value: '', modRevision: '9' },
    ]);
    expect(watchEvents({ result: { created: true } })).toEqual([]);
  });
});

const net: OverlayNetwork = {
  id: 'abc', name: 'ov', driver: 'overlay', subnet: '10.0.9.0/29', gateway: '10.0.9.1', vni: 4096, internal: false, labels: {}, created: '',
};

describe('key layout and records', () => {
  test('keys', () => {
    expect(keys.network('abc')).toBe('/nsnet/v1/networks/abc');
    expect(keys.subnet('10.0.0.0/24')).toBe('/nsnet/v1/subnets/10.0.0.0_24');
    expect(keys.address('abc', '10.0.0.2')).toBe('/nsnet/v1/addresses/abc/10.0.0.2');
    expect(keys.endpoint('abc', 'sb1')).toBe('/nsnet/v1/endpoints/abc/sb1');
    expect(keys.endpoint('abc', 'sb1').startsWith(keys.endpoints('abc'))).toBe(true);
    expect(lastSegment(keys.address('abc', '10.0.0.2'))).toBe('10.0.0.2');
  });
  test('records round-trip; a damaged one names its key', () => {
    expect(parseNetwork('k', JSON.stringify(net))).toEqual(net);
    const ep = { network: 'abc', sandbox: 's', name: 'web', aliases: ['w'], ip: '10.0.9.2', mac: '02:42:0a:00:09:02', host: 'h1', hostAddress: '198.51.100.1' };
    expect(parseEndpoint('k', JSON.stringify(ep))).toEqual(ep);
    const claim = { ip: '10.0.9.2', owner: 'o1', host: 'h1', sandbox: 's' };
    expect(parseAddressClaim(keys.address('abc', '10.0.9.2'), encodeClaim(claim))).toEqual(claim);
    expect(() => parseNetwork('/nsnet/v1/networks/x', '[]')).toThrow('cluster store key /nsnet/v1/networks/x: not a JSON object');
    expect(() => parseNetwork('/nsnet/v1/networks/x', JSON.stringify({ ...net, vni: 'x' }))).toThrow('field "vni" missing or invalid');
    expect(() => parseEndpoint('/e', JSON.stringify({ ...ep, ip: '300.1.1.1' }))).toThrow('cluster store key /e: field "ip" missing or invalid');
  });
});

describe('decisions', () => {
  test('the lowest free VNI from 4096', () => {
    expect(nextVni([])).toBe(VNI_FIRST);
    expect(nextVni([4096, 4097, 4099])).toBe(4098);
    expect(nextVni([1, 2, 4096])).toBe(4097);
  });
  test('the lowest free address, skipping network, gateway and broadcast; full names the network', () => {
    expect(nextAddress(net, [])).toBe('10.0.9.2');
    expect(nextAddress(net, ['10.0.9.2', '10.0.9.4'])).toBe('10.0.9.3');
    expect(() => nextAddress(net, ['10.0.9.2', '10.0.9.3', '10.0.9.4', '10.0.9.5', '10.0.9.6'])).toThrow('overlay network ov: no available IP addresses in 10.0.9.0/29');
  });
  test('subnets: the lowest free /24 of 10.0.0.0/8 by default; an explicit one must not overlap another overlay network', () => {
    expect(planOverlayPool({}, [])).toEqual({ subnet: '10.0.0.0/24', gateway: '10.0.0.1' });
    expect(planOverlayPool({}, [{ ...net, subnet: '10.0.0.0/24' }]).subnet).toBe('10.0.1.0/24');
    expect(planOverlayPool({}, [{ ...net, subnet: '10.0.0.0/23' }, { ...net, subnet: '10.0.3.128/25' }]).subnet).toBe('10.0.2.0/24');
    expect(planOverlayPool({}, [{ ...net, subnet: '10.0.0.0/9' }]).subnet).toBe('10.128.0.0/24');
    expect(() => planOverlayPool({}, [{ ...net, subnet: '10.0.0.0/8' }])).toThrow('could not find an available, non-overlapping IPv4 address pool');
    expect(planOverlayPool({ subnet: '192.168.5.0/24', gateway: '192.168.5.254' }, [net])).toEqual({ subnet: '192.168.5.0/24', gateway: '192.168.5.254' });
    expect(() => planOverlayPool({ subnet: '10.0.0.0/16' }, [net])).toThrow('Pool overlaps with other one on this address space: 10.0.0.0/16 overlaps 10.0.9.0/29 of network ov');
  });
});

describe('where the CLI finds the store', () => {
  const configPath = '/etc/nsnet/daemon.json';
  test('flag, then NSNET_CLUSTER_STORE, then the config file; none: no store', () => {
    const configText = JSON.stringify({ 'cluster-store': 'etcd://c:2379' });
    expect(chooseClusterStore({ flag: 'etcd://f:2379', env: 'etcd://e:2379', configPath, configText })).toEqual({ url: 'etcd://f:2379', from: '--cluster-store' });
    expect(chooseClusterStore({ env: 'etcd://e:2379', configPath, configText })).toEqual({ url: 'etcd://e:2379', from: 'NSNET_CLUSTER_STORE' });
    expect(chooseClusterStore({ configPath, configText })).toEqual({ url: 'etcd://c:2379', from: configPath });
    expect(chooseClusterStore({ configPath })).toBeUndefined();
    expect(chooseClusterStore({ configPath, configText: '{}' })).toBeUndefined();
  });
  test('a bad config file is an error naming it', () => {
    expect(() => chooseClusterStore({ configPath, configText: '{' })).toThrow(`${configPath}: not valid JSON`);
    expect(() => chooseClusterStore({ configPath, configText: '[]' })).toThrow('not a JSON object');
    expect(() => chooseClusterStore({ configPath, configText: '{"cluster-store": 1}' })).toThrow('"cluster-store" must be a string');
  });
});
