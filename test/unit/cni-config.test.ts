// The CNI request -> nsnet mapping (src/cni/config.ts) and the clusterCIDR
// masquerade exemption (src/nft/table.ts): pure, no root.
import { describe, expect, test } from 'vitest';
import { addResult, aliasesOf, attachmentName, createRequest, delegatesIpam, networkMismatch, networkRequest, publishOf, staticIpOf } from '../../src/cni/config.js';
import { CniError, type CniRequest, type NetConf } from '../../src/cni/types.js';
import { checkName } from '../../src/docker/names.js';
import { planNetwork } from '../../src/docker/network.js';
import { firewallContent } from '../../src/docker/firewall.js';
import type { NetworkRecord, State } from '../../src/docker/types.js';
import { networkElements, skeleton } from '../../src/nft/table.js';

const conf = (over: Partial<NetConf> = {}): NetConf => ({ cniVersion: '1.0.0', name: 'mynet', type: 'nsnet', ...over });
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.code;
    throw e;
  }
  return 0;
};

describe('attachmentName', () => {
  test('cni-<first 12 of the id>-<ifname> for runtime-random ids, a valid sandbox name', () => {
    const id = '3f2a9c1b7d4e'.padEnd(64, '0');
    expect(attachmentName(id, 'eth0')).toBe('cni-3f2a9c1b7d4e-eth0');
    expect(attachmentName('abc', 'net1')).toBe('cni-abc-net1');
    expect(() => checkName('sandbox', attachmentName(id, 'eth0'))).not.toThrow();
  });

  test('ids whose first 12 characters may be shared (containerd\'s <namespace>-<id>) get a hash; so do odd interface names', () => {
    const a = attachmentName('default-web-1', 'eth0');
    const b = attachmentName('default-web-2', 'eth0');
    expect(a).toMatch(/^cni-default-web-[0-9a-f]{8}-eth0$/);
    expect(a).not.toBe(b);
    const odd = attachmentName('abc', 'e@0');
    expect(odd).toMatch(/^cni-abc-[0-9a-f]{8}-e_0$/);
    expect(odd).not.toBe(attachmentName('abc', 'e_0'));
    for (const n of [a, b, odd, attachmentName('x'.repeat(200), 'fifteen-chars-x')]) expect(() => checkName('sandbox', n)).not.toThrow();
  });

  test('a container id the spec does not allow: code 4', () => {
    expect(code(() => attachmentName('-bad', 'eth0'))).toBe(4);
    expect(code(() => attachmentName('a b', 'eth0'))).toBe(4);
  });
});

describe('networkRequest', () => {
  test('bridge, subnet (ipam.subnet or ranges), gateway, ipMasq, mtu, clusterCIDR as nsnet network options', () => {
    expect(networkRequest(conf({ bridge: 'cbr0', ipMasq: true, mtu: 1450, clusterCIDR: '10.244.0.0/16', ipam: { type: 'nsnet', subnet: '10.244.1.0/24' } }))).toEqual({
      name: 'mynet', subnet: '10.244.1.0/24',
      options: { 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.name': 'cbr0', 'com.docker.network.driver.mtu': '1450' },
      labels: { 'nsnet.cni': 'true' }, clusterCidr: '10.244.0.0/16',
    });
    expect(networkRequest(conf({ ipam: { type: 'nsnet', ranges: [[{ subnet: '10.5.0.0/16', gateway: '10.5.0.254' }]] } }))).toMatchObject({ subnet: '10.5.0.0/16', gateway: '10.5.0.254' });
    // The reference plugin's default: no masquerade.
    expect(networkRequest(conf()).options!['com.docker.network.bridge.enable_ip_masquerade']).toBe('false');
    // A delegated IPAM's result gives the subnet when the configuration names none.
    expect(networkRequest(conf({ ipam: { type: 'host-local' } }), { subnet: '10.7.0.0/24', gateway: '10.7.0.1' })).toMatchObject({ subnet: '10.7.0.0/24', gateway: '10.7.0.1' });
    expect(delegatesIpam(conf({ ipam: { type: 'host-local' } }))).toBe(true);
    expect(delegatesIpam(conf({ ipam: { type: 'nsnet' } }))).toBe(false);
    expect(delegatesIpam(conf())).toBe(false);
  });

  test('bad values: code 7', () => {
    expect(code(() => networkRequest(conf({ mtu: 10 })))).toBe(7);
    expect(code(() => networkRequest(conf({ clusterCIDR: 'nope' })))).toBe(7);
    expect(code(() => networkRequest(conf({ ipam: { type: 'nsnet', gateway: '10.0.0.1' } })))).toBe(7);
  });

  test('planNetwork takes it: the record carries clusterCidr, normalised', () => {
    const state = { networks: [] } as unknown as State;
    const { network } = planNetwork(networkRequest(conf({ bridge: 'cbr0', ipMasq: true, clusterCIDR: '10.244.7.9/16', ipam: { type: 'nsnet', subnet: '10.244.1.0/24' } })), state, []);
    expect(network).toMatchObject({ bridge: 'cbr0', subnet: '10.244.1.0/24', gateway: '10.244.1.1', masquerade: true, clusterCidr: '10.244.0.0/16' });
  });
});

describe('networkMismatch', () => {
  const existing: NetworkRecord = {
    id: 'a'.repeat(64), name: 'mynet', driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {},
    bridge: 'cbr0', subnet: '10.244.1.0/24', gateway: '10.244.1.1', masquerade: true,
  };
  test('only the keys the configuration gives are compared', () => {
    const c = conf({ bridge: 'cbr0', ipMasq: true, ipam: { type: 'nsnet', subnet: '10.244.1.0/24' } });
    expect(networkMismatch(existing, networkRequest(c), c)).toBeUndefined();
    const bare = conf();
    expect(networkMismatch(existing, networkRequest(bare), bare)).toBeUndefined();
  });
  test('a different subnet, bridge or clusterCIDR is named', () => {
    const c = conf({ bridge: 'cni0', clusterCIDR: '10.244.0.0/16', ipam: { type: 'nsnet', subnet: '10.99.0.0/24' } });
    expect(networkMismatch(existing, networkRequest(c), c)).toBe('network mynet exists with another configuration: the configuration asks for '
      + 'subnet 10.99.0.0/24 (it has 10.244.1.0/24), bridge cni0 (it has cbr0), clusterCIDR 10.244.0.0/16 (it has none)');
  });
  test("nsnet's default bridge is not a CNI network", () => {
    const c = conf({ name: 'bridge' });
    expect(networkMismatch({ ...existing, name: 'bridge', defaultBridge: true }, networkRequest(c), c)).toMatch(/default bridge/);
  });
});

describe('capabilities', () => {
  test('portMappings -> -p values; sctp and IPv6 host addresses refused (code 2), "::" skipped', () => {
    expect(publishOf(conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' }, { hostPort: 8080, containerPort: 80, hostIP: '::' }] } })))
      .toEqual(['8080:80/tcp', '127.0.0.1:53:53/udp']);
    expect(code(() => publishOf(conf({ runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'sctp' }] } })))).toBe(2);
    expect(code(() => publishOf(conf({ runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, hostIP: 'fd00::1' }] } })))).toBe(2);
  });
  test('ips: one IPv4 address, with or without prefix', () => {
    expect(staticIpOf(conf({ runtimeConfig: { ips: ['10.1.0.5/24'] } }))).toBe('10.1.0.5');
    expect(staticIpOf(conf())).toBeUndefined();
    expect(code(() => staticIpOf(conf({ runtimeConfig: { ips: ['10.1.0.5', '10.1.0.6'] } })))).toBe(2);
    expect(code(() => staticIpOf(conf({ runtimeConfig: { ips: ['fd00::5/64'] } })))).toBe(2);
  });
  test('aliases: a list, or Podman\'s map by network name', () => {
    expect(aliasesOf(conf({ runtimeConfig: { aliases: ['a', 'b'] } }))).toEqual(['a', 'b']);
    expect(aliasesOf(conf({ runtimeConfig: { aliases: { mynet: ['web'], other: ['x'] } } as never }))).toEqual(['web']);
    expect(aliasesOf(conf())).toEqual([]);
  });
  test('createRequest: the sandbox on the runtime\'s namespace, with mac, hostname from K8S_POD_NAME, default route per isGateway', () => {
    const req: CniRequest = {
      command: 'ADD', containerId: 'abc123', netns: '/run/netns/p1', ifname: 'eth0', args: { K8S_POD_NAME: 'web', IgnoreUnknown: '1' }, path: [],
      config: conf({ isGateway: true, runtimeConfig: { mac: '02:00:00:00:00:01', aliases: ['w'], portMappings: [{ hostPort: 80, containerPort: 8080 }] } }),
    };
    expect(createRequest(req, 4026532, undefined)).toEqual({
      name: 'cni-abc123-eth0', network: 'mynet', mac: '02:00:00:00:00:01', hostname: 'web', aliases: ['w'], publish: ['80:8080/tcp'],
      cni: { netnsPath: '/run/netns/p1', netnsInode: 4026532, containerId: 'abc123', ifname: 'eth0' },
    });
    expect(createRequest({ ...req, config: conf() }, 1, '10.0.0.9').cni).toMatchObject({ noDefaultRoute: true });
    expect(createRequest({ ...req, config: conf() }, 1, '10.0.0.9').ip).toBe('10.0.0.9');
  });
});

test('addResult: bridge, host veth, the pod\'s interface (index 2 for the address), default route, DNS 127.0.0.11 with the config\'s search', () => {
  const r = addResult(conf({ dns: { search: ['svc.local'] } }), {
    bridge: { name: 'cbr0', mac: '02:42:00:00:00:01' }, hostVeth: { name: 'veth1234567', mac: '0a:00:00:00:00:02' },
    ifname: 'eth0', mac: '02:42:0a:f4:01:02', netns: '/proc/42/ns/net', ip: '10.244.1.2', prefixlen: 24, gateway: '10.244.1.1',
    defaultRoute: true, embeddedDns: true,
  });
  expect(r).toEqual({
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cbr0', mac: '02:42:00:00:00:01' }, { name: 'veth1234567', mac: '0a:00:00:00:00:02' }, { name: 'eth0', mac: '02:42:0a:f4:01:02', sandbox: '/proc/42/ns/net' }],
    ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }],
    dns: { search: ['svc.local'], nameservers: ['127.0.0.11'] },
  });
});

describe('clusterCIDR in the firewall', () => {
  test('a network with a cluster range gets a masq_exempt element (not an internal one); the rule accepts it before masquerade', () => {
    expect(networkElements('add', { bridge: 'cbr0', subnet: '10.244.1.0/24', internal: false, masquerade: true, clusterCidr: '10.244.0.0/16' }))
      .toContain('add element ip nsnet masq_exempt { 10.244.1.0/24 . 10.244.0.0/16 }');
    expect(networkElements('add', { bridge: 'cbr0', subnet: '10.244.1.0/24', internal: false, masquerade: true })).not.toContain('masq_exempt');
    // Without masquerade too: the forward chain uses the element to let other nodes' pods in (nothing to masquerade anyway).
    expect(networkElements('add', { bridge: 'cbr0', subnet: '10.244.1.0/24', internal: false, masquerade: false, clusterCidr: '10.244.0.0/16' }))
      .toContain('add element ip nsnet masq_exempt { 10.244.1.0/24 . 10.244.0.0/16 }');
    expect(networkElements('add', { bridge: 'cbr0', subnet: '10.244.1.0/24', internal: true, masquerade: false, clusterCidr: '10.244.0.0/16' })).not.toContain('masq_exempt');
    const s = skeleton();
    expect(s.indexOf('ip saddr . ip daddr @masq_exempt accept')).toBeGreaterThan(0);
    expect(s.indexOf('ip saddr . ip daddr @masq_exempt accept')).toBeLessThan(s.indexOf('ip saddr @masq_subnets masquerade'));
    // Forward: connections from the cluster range (pods on other nodes) into the bridge pass, before the direct-access drop.
    expect(s).toContain('oifname @bridges ip daddr . ip saddr @masq_exempt accept');
    expect(s.indexOf('ip daddr . ip saddr @masq_exempt accept')).toBeLessThan(s.indexOf('oifname @bridges ct state new drop'));
    expect(s.indexOf('ip daddr . ip saddr @masq_exempt accept')).toBeGreaterThan(s.indexOf('iifname @bridges oifname @bridges drop'));
    const net: NetworkRecord = { id: 'a'.repeat(64), name: 'n', driver: 'bridge', created: '', builtin: false, internal: false, options: {}, labels: {}, bridge: 'cbr0', subnet: '10.244.1.0/24', gateway: '10.244.1.1', clusterCidr: '10.244.0.0/16' };
    expect(firewallContent([net], []).networks[0]).toMatchObject({ clusterCidr: '10.244.0.0/16' });
  });
});
