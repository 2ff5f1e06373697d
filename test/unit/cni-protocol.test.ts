// The CNI protocol without a runtime or a backend: env + stdin parsing and
// its error codes, results in every cniVersion (against SPEC.md's examples),
// prevResult round trips, VERSION, error JSON on stdout with exit 1.
import { describe, expect, test } from 'vitest';
import { NsnetError } from '../../src/docker/errors.js';
import { KernelError } from '../../src/kernel/errors.js';
import { conflist } from '../../src/cni/conflist.js';
import { delegatedIpam, delegateStdin, findPlugin, requestEnv } from '../../src/cni/delegate.js';
import { checkIfname, compareVersions, netnsRef, parseCniArgs, parseRequest, splitPath, validAttachments } from '../../src/cni/env.js';
import { formatError, toCniError } from '../../src/cni/errors.js';
import { pluginScript } from '../../src/cni/install.js';
import { cniMain } from '../../src/cni/plugin.js';
import { parseResult, renderResult, versionAnswer } from '../../src/cni/result.js';
import { CNI_VERSIONS, CniError, type CniBackend, type CniRequest, type Result } from '../../src/cni/types.js';

const conf = (o: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'podnet', type: 'nsnet', ...o });
const ENV_ADD = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' };

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return (e as CniError).code;
  }
  return undefined;
}

describe('env: the variables each command needs', () => {
  test.each([
    ['ADD', {}, 'CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME'],
    ['CHECK', { CNI_CONTAINERID: 'a' }, 'CNI_NETNS,CNI_IFNAME'],
    ['DEL', { CNI_NETNS: '/run/netns/x' }, 'CNI_CONTAINERID,CNI_IFNAME'],
    ['ADD', { CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }, 'CNI_NETNS'],
  ])('%s with %j misses [%s]: code 4 naming them', (command, vars, missing) => {
    let err: CniError | undefined;
    try {
      parseRequest({ CNI_COMMAND: command, ...vars }, conf());
    } catch (e) {
      err = e as CniError;
    }
    expect(err).toBeInstanceOf(CniError);
    expect(err!.code).toBe(4);
    expect(err!.message).toBe(`required env variables [${missing}] missing`);
  });

  test('DEL without CNI_NETNS (the namespace is gone): accepted, netns ""', () => {
    const r = parseRequest({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }, conf());
    expect(r).toMatchObject({ command: 'DEL', containerId: 'a', ifname: 'eth0', netns: '' });
  });

  test.each(['GC', 'STATUS'])('%s needs neither container id nor netns nor ifname', (command) => {
    const r = parseRequest({ CNI_COMMAND: command, CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '' }, conf());
    expect(r).toMatchObject({ command, containerId: '', netns: '', ifname: '' });
  });

  test('VERSION needs nothing but CNI_COMMAND, and no stdin (Podman sends CNI_NETNS=dummy)', () => {
    expect(parseRequest({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy' }, '').config.cniVersion).toBe('1.1.0');
    expect(parseRequest({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}').config.cniVersion).toBe('0.4.0');
    expect(parseRequest({ CNI_COMMAND: 'VERSION' }, 'not json').config.cniVersion).toBe('1.1.0');
  });

  test('no or unknown CNI_COMMAND: code 4', () => {
    expect(codeOf(() => parseRequest({}, conf()))).toBe(4);
    expect(codeOf(() => parseRequest({ CNI_COMMAND: 'add' }, conf()))).toBe(4);
    expect(codeOf(() => parseRequest({ CNI_COMMAND: 'REMOVE' }, conf()))).toBe(4);
  });

  test.each([
    ['c0ffee', true], ['k8s_pod.web-1', true], ['9abc', true], ['default-ab12', true],
    ['-abc', false], ['_abc', false], ['.abc', false], ['a b', false], ['a/b', false], ['é', false],
  ])('container id %j valid: %s', (id, ok) => {
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_CONTAINERID: id }, conf()))).toBe(ok ? undefined : 4);
  });

  test.each([
    ['eth0', true], ['a', true], ['x'.repeat(15), true], ['net1.100', true], ['é'.repeat(7), true],
    ['x'.repeat(16), false], ['é'.repeat(8), false], ['.', false], ['..', false], ['a/b', false], ['a:b', false],
    ['a b', false], ['a\tb', false], ['a\nb', false],
  ])('ifname %j valid: %s (the kernel\'s rules)', (name, ok) => {
    expect(codeOf(() => checkIfname(name))).toBe(ok ? undefined : 4);
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_IFNAME: name }, conf()))).toBe(ok ? undefined : 4);
  });

  test('CNI_NETNS must be an absolute path for ADD/CHECK/DEL', () => {
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_NETNS: 'netns/x' }, conf()))).toBe(4);
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_COMMAND: 'DEL', CNI_NETNS: 'x' }, conf()))).toBe(4);
    expect(parseRequest({ ...ENV_ADD, CNI_NETNS: '/proc/123/ns/net' }, conf()).netns).toBe('/proc/123/ns/net');
  });

  test.each([
    ['/run/netns/netns-1b2c', { kind: 'named', name: 'netns-1b2c' }],
    ['/var/run/netns/blue', { kind: 'named', name: 'blue' }],
    ['/proc/4242/ns/net', { kind: 'pid', pid: 4242 }],
    ['/proc/4242/task/4243/ns/net', { kind: 'pid', pid: 4242, tid: 4243 }],
    ['/var/run/docker/netns/abc', { kind: 'path' }],
    ['/run/netns/a/b', { kind: 'path' }],
    ['/proc/self/ns/net', { kind: 'path' }],
    ['', { kind: 'none' }],
  ])('netns %j is %j', (p, want) => {
    expect(netnsRef(p)).toMatchObject(want);
  });

  test('CNI_ARGS: K=V;K=V, a value may hold "=", empty pairs skipped, a pair without "=" is code 4', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;X=a=b;')).toEqual({
      IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web', X: 'a=b',
    });
    expect(parseCniArgs('')).toEqual({});
    expect(codeOf(() => parseCniArgs('IgnoreUnknown'))).toBe(4);
    expect(codeOf(() => parseCniArgs('=v'))).toBe(4);
    expect(parseRequest({ ...ENV_ADD, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' }, conf()).args).toEqual({ IgnoreUnknown: '1', K8S_POD_NAME: 'web' });
  });

  test('CNI_PATH splits on ":" (empty entries dropped)', () => {
    expect(splitPath('/opt/cni/bin::/usr/lib/cni:')).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    expect(parseRequest(ENV_ADD, conf()).path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    expect(parseRequest({ ...ENV_ADD, CNI_PATH: undefined }, conf()).path).toEqual([]);
  });
});

describe('stdin: the network configuration', () => {
  const add = (stdin: string) => () => parseRequest(ENV_ADD, stdin);

  test.each([
    ['not JSON', '{"cniVersion":', 6],
    ['a JSON array', '[]', 6],
    ['JSON null', 'null', 6],
    ['empty stdin', '', 6],
    ['no cniVersion', JSON.stringify({ name: 'n', type: 'nsnet' }), 7],
    ['no name', JSON.stringify({ cniVersion: '1.0.0', type: 'nsnet' }), 7],
    ['no type', JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), 7],
    ['a name with a space', conf({ name: 'pod net' }), 7],
    ['a numeric name', conf({ name: 5 }), 6],
    ['ipam without type', conf({ ipam: { subnet: '10.1.0.0/16' } }), 7],
    ['runtimeConfig not an object', conf({ runtimeConfig: [] }), 6],
    ['cniVersion 0.2.0', conf({ cniVersion: '0.2.0' }), 1],
    ['cniVersion 0.1.0', conf({ cniVersion: '0.1.0' }), 1],
    ['cniVersion 2.0.0', conf({ cniVersion: '2.0.0' }), 1],
    ['a malformed prevResult', conf({ prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5' }] } }), 6],
  ])('%s: code %i', (_what, stdin, code) => {
    expect(codeOf(add(stdin))).toBe(code);
  });

  test('an unsupported cniVersion says which ones nsnet speaks', () => {
    try {
      parseRequest(ENV_ADD, conf({ cniVersion: '0.2.0' }));
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).message).toBe('incompatible CNI versions');
      expect((e as CniError).details).toBe('config is "0.2.0", plugin supports [0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]');
    }
  });

  test.each([
    ['CHECK', '0.3.0', 1], ['CHECK', '0.3.1', 1], ['CHECK', '0.4.0', undefined], ['CHECK', '1.1.0', undefined],
    ['GC', '1.0.0', 1], ['GC', '0.4.0', 1], ['GC', '1.1.0', undefined],
    ['STATUS', '1.0.0', 1], ['STATUS', '1.1.0', undefined],
    ['ADD', '0.3.0', undefined], ['DEL', '0.3.0', undefined],
  ])('%s with cniVersion %s: %s', (command, version, code) => {
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_COMMAND: command }, conf({ cniVersion: version })))).toBe(code);
  });

  test('GC refused for < 1.1.0 with the reference plugins\' words', () => {
    try {
      parseRequest({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.0.0' }));
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).message).toBe('config version does not allow GC');
    }
  });

  test('unknown keys, runtimeConfig and args are kept as given', () => {
    const runtimeConfig = {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      ips: ['10.88.0.9/16'], mac: '02:42:0a:58:00:09', aliases: { podnet: ['web', 'www'] }, bandwidth: { ingressRate: 1 },
    };
    const r = parseRequest(ENV_ADD, conf({ keyA: ['some more'], bridge: 'cbr0', runtimeConfig, args: { cni: { ips: ['10.1.0.9'] } } }));
    expect(r.config.keyA).toEqual(['some more']);
    expect(r.config.bridge).toBe('cbr0');
    expect(r.config.runtimeConfig).toEqual(runtimeConfig);
    expect(r.config.args).toEqual({ cni: { ips: ['10.1.0.9'] } });
  });

  test('prevResult arrives in the config\'s version and is held in the 1.1.0 shape', () => {
    const prev = {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'cbr0', mac: '00:11:22:33:44:55' }, { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/run/netns/p1' }],
      ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['127.0.0.11'] },
    };
    const r = parseRequest({ ...ENV_ADD, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.4.0', prevResult: prev }));
    expect(r.config.prevResult).toEqual({
      cniVersion: '0.4.0',
      interfaces: prev.interfaces,
      ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['127.0.0.11'] },
    });
    // DEL is best effort: a prevResult it cannot read is dropped, not an error.
    expect(parseRequest({ ...ENV_ADD, CNI_COMMAND: 'DEL' }, conf({ prevResult: { ips: 'x' } })).config.prevResult).toBeUndefined();
    expect(codeOf(() => parseRequest({ ...ENV_ADD, CNI_COMMAND: 'CHECK' }, conf({ prevResult: { ips: 'x' } })))).toBe(6);
    // "prevResult": null is no prevResult (DEL after a lost cache).
    expect(parseRequest({ ...ENV_ADD, CNI_COMMAND: 'DEL' }, conf({ prevResult: null })).config.prevResult).toBeUndefined();
  });

  test('GC\'s valid attachments: top level (libcni), its first spelling, or runtimeConfig', () => {
    const list = [{ containerID: 'a', ifname: 'eth0' }];
    const gc = (o: Record<string, unknown>) => validAttachments(parseRequest({ CNI_COMMAND: 'GC' }, conf(o)).config);
    expect(gc({ 'cni.dev/valid-attachments': list, 'cni.dev/attachments': list })).toEqual(list);
    expect(gc({ 'cni.dev/attachments': list })).toEqual(list);
    expect(gc({ runtimeConfig: { 'cni.dev/valid-attachments': list } })).toEqual(list);
    expect(gc({ 'cni.dev/valid-attachments': [] })).toEqual([]);
    expect(gc({})).toBeUndefined();
    expect(codeOf(() => gc({ 'cni.dev/valid-attachments': [{ containerID: 1 }] }))).toBe(6);
  });

  test('versions compare numerically', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(compareVersions('0.3.1', '0.4.0')).toBeLessThan(0);
  });
});

// SPEC.md's appendix: the bridge plugin's result for the "dbnet" example.
const SPEC_RESULT: Result = {
  cniVersion: '1.1.0',
  ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0' }],
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'veth3243', mac: '55:44:33:22:11:11' },
    { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' },
  ],
  dns: { nameservers: ['10.1.0.1'] },
};

// Everything 1.1.0 can say: interface mtu, socketPath, pciID; route mtu, advmss, priority, table, scope; IPv6.
const FULL: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cbr0', mac: '02:00:00:00:00:01', mtu: 1500 },
    { name: 'veth1a2b3c4d', mac: '02:00:00:00:00:02', mtu: 1500 },
    { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500, sandbox: '/run/netns/p1', socketPath: '/run/x.sock', pciID: '0000:00:01.0' } as never,
  ],
  ips: [
    { address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 2 },
    { address: 'fd00:1::5/64', gateway: 'fd00:1::1', interface: 2 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.1.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: '::/0' },
  ],
  dns: { nameservers: ['127.0.0.11'], domain: 'cluster.local', search: ['default.svc.cluster.local'], options: ['ndots:5'] },
};

describe('results in each cniVersion', () => {
  test('1.1.0: SPEC.md\'s example, key for key', () => {
    expect(renderResult(SPEC_RESULT, '1.1.0')).toEqual({ ...SPEC_RESULT, cniVersion: '1.1.0' });
  });

  test('1.1.0 keeps mtu, socketPath, pciID and the route extras', () => {
    const out = renderResult(FULL, '1.1.0') as { interfaces: Record<string, unknown>[]; routes: Record<string, unknown>[] };
    expect(out.interfaces[2]).toEqual({ name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1500, sandbox: '/run/netns/p1', socketPath: '/run/x.sock', pciID: '0000:00:01.0' });
    expect(out.routes[0]).toEqual({ dst: '0.0.0.0/0', gw: '10.244.1.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 });
    // Key order as the reference types print them.
    expect(Object.keys(out.interfaces[2]!)).toEqual(['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID']);
  });

  test('1.0.0: no "version" in ips, no 1.1-only fields', () => {
    expect(renderResult(FULL, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cbr0', mac: '02:00:00:00:00:01' },
        { name: 'veth1a2b3c4d', mac: '02:00:00:00:00:02' },
        { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/p1' },
      ],
      ips: [
        { interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' },
        { interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }, { dst: '::/0' }],
      dns: FULL.dns,
    });
  });

  test.each(['0.3.0', '0.3.1', '0.4.0'] as const)('%s: ips carry version "4"/"6" first, as pkg/types/040 prints them', (v) => {
    const out = renderResult(FULL, v) as { cniVersion: string; ips: Record<string, unknown>[] };
    expect(out.cniVersion).toBe(v);
    expect(out.ips).toEqual([
      { version: '4', interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' },
      { version: '6', interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
    ]);
    expect(Object.keys(out.ips[0]!)).toEqual(['version', 'interface', 'address', 'gateway']);
    expect(renderResult(FULL, v).interfaces).toEqual(renderResult(FULL, '1.0.0').interfaces);
  });

  test('empty sections are left out (Go\'s omitempty); a result may be only IPs (delegated IPAM)', () => {
    expect(renderResult({ cniVersion: '1.1.0', interfaces: [], ips: [{ address: '10.1.0.5/16' }] }, '1.0.0')).toEqual({
      cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/16' }],
    });
  });

  test.each(CNI_VERSIONS)('a %s result parses back to what was rendered', (v) => {
    const back = parseResult(JSON.parse(JSON.stringify(renderResult(FULL, v))));
    expect(back.cniVersion).toBe(v);
    if (v === '1.1.0') expect(back).toEqual(FULL);
    else expect(renderResult(back, v)).toEqual(renderResult(FULL, v));
    expect(back.ips?.map((i) => i.address)).toEqual(['10.244.1.5/24', 'fd00:1::5/64']);
    expect(back.ips?.every((i) => !('version' in i))).toBe(true);
  });

  test('a 1.1.0 prevResult with keys nsnet does not know keeps them through a round trip', () => {
    const prev = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/p1', vendorKey: 'x' }], routes: [{ dst: '10.0.0.0/8', future: 1 }] };
    expect(renderResult(parseResult(prev), '1.1.0')).toEqual(prev);
  });

  test.each([
    ['an address without a prefix length', { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5' }] }, 6],
    ['a gateway that is not an address', { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/16', gateway: 'x' }] }, 6],
    ['an interface index past the list', { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.1.0.5/16', interface: 1 }] }, 6],
    ['an interface without a name', { cniVersion: '1.0.0', interfaces: [{ mac: 'x' }] }, 6],
    ['ips not a list', { cniVersion: '1.0.0', ips: {} }, 6],
    ['a route dst that is no CIDR', { cniVersion: '1.0.0', routes: [{ dst: 'default' }] }, 6],
    ['a 0.2.0 result', { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16' } }, 1],
    ['no cniVersion and no fallback', { ips: [] }, 1],
  ])('parsing %s: code %i', (_what, raw, code) => {
    expect(codeOf(() => parseResult(raw))).toBe(code);
  });

  test('an abbreviated IPAM result without cniVersion takes the configuration\'s', () => {
    expect(parseResult({ ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }] }, '0.4.0')).toEqual({
      cniVersion: '0.4.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }],
    });
  });

  test('VERSION\'s answer: the asked cniVersion and all five', () => {
    expect(versionAnswer('1.0.0')).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    expect(versionAnswer(undefined).cniVersion).toBe('1.1.0');
  });
});

// A backend that records what it was asked and answers what the test says.
function fakeBackend(answer: Partial<Record<keyof CniBackend, (req: CniRequest) => unknown>> = {}) {
  const calls: { op: string; req: CniRequest }[] = [];
  const op = (name: keyof CniBackend) => async (req: CniRequest) => {
    calls.push({ op: name, req });
    return answer[name]?.(req);
  };
  const backend = { add: op('add'), del: op('del'), check: op('check'), gc: op('gc'), status: op('status') } as CniBackend;
  return { backend, calls };
}

const ADDED: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cbr0', mac: '02:00:00:00:00:01' }, { name: 'veth0a1b2c3d', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/p1', mtu: 1500 }],
  ips: [{ address: '10.88.0.2/16', gateway: '10.88.0.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }],
  dns: { nameservers: ['127.0.0.11'] },
};

describe('cniMain: one command, stdout and exit code', () => {
  test('VERSION is answered without loading the backend, in the cniVersion asked', async () => {
    const load = () => Promise.reject(new Error('the backend must not be loaded for VERSION'));
    const out = await cniMain({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}', load);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '0.4.0', supportedVersions: [...CNI_VERSIONS] });
  });

  test.each(CNI_VERSIONS)('ADD in %s: the backend\'s result, in that version', async (v) => {
    const { backend, calls } = fakeBackend({ add: () => ADDED });
    const out = await cniMain({ ...ENV_ADD, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' }, conf({ cniVersion: v, bridge: 'cbr0' }), backend);
    expect(out.exitCode).toBe(0);
    expect(out.stdout.endsWith('\n')).toBe(true);
    const res = JSON.parse(out.stdout);
    expect(res).toEqual(renderResult(ADDED, v));
    expect(res.cniVersion).toBe(v);
    expect('version' in res.ips[0]).toBe(v.startsWith('0.'));
    expect('mtu' in res.interfaces[2]).toBe(v === '1.1.0');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.req).toMatchObject({ command: 'ADD', containerId: 'c0ffee', netns: '/run/netns/p1', ifname: 'eth0', args: { K8S_POD_NAME: 'web' } });
  });

  test('the backend gets runtimeConfig as the runtime sent it', async () => {
    const { backend, calls } = fakeBackend({ add: () => ADDED });
    const runtimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], aliases: { podnet: ['web'] } };
    await cniMain(ENV_ADD, conf({ runtimeConfig }), backend);
    expect(calls[0]!.req.config.runtimeConfig).toEqual(runtimeConfig);
  });

  test.each(['DEL', 'CHECK', 'GC', 'STATUS'])('%s: the backend, no output, exit 0', async (command) => {
    const { backend, calls } = fakeBackend();
    const out = await cniMain({ ...ENV_ADD, CNI_COMMAND: command }, conf(), backend);
    expect(out).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect(calls.map((c) => c.op)).toEqual([command.toLowerCase()]);
  });

  test('an env error: the error JSON on stdout, exit 1, backend untouched', async () => {
    const { backend, calls } = fakeBackend();
    const out = await cniMain({ CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.4.0' }), backend);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '0.4.0', code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing' });
    expect(calls).toHaveLength(0);
  });

  test('a stdin that is not JSON: code 6, in the newest version', async () => {
    const out = await cniMain(ENV_ADD, '{', fakeBackend().backend);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 6 });
  });

  test('CHECK for a 0.3.1 configuration: code 1, backend untouched', async () => {
    const { backend, calls } = fakeBackend();
    const out = await cniMain({ ...ENV_ADD, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' }), backend);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '0.3.1', code: 1, msg: 'config version does not allow CHECK' });
    expect(calls).toHaveLength(0);
  });

  test.each([
    ['a CniError', new CniError(50, 'nsnet cannot serve ADD', 'nftables missing'), 50, 'nsnet cannot serve ADD', 'nftables missing'],
    ['InvalidArgument', new NsnetError('InvalidArgument', 'invalid subnet "10.1.0.0/40"'), 7, 'invalid subnet "10.1.0.0/40"', undefined],
    ['Conflict', new NsnetError('Conflict', 'address 10.88.0.9 is in use'), 101, 'address 10.88.0.9 is in use', undefined],
    ['NotFound', new NsnetError('NotFound', 'network podnet not found'), 101, 'network podnet not found', undefined],
    ['Unavailable', new NsnetError('Unavailable', 'nftables is not available'), 50, 'nftables is not available', undefined],
    ['a plain Error', new Error('something broke'), 999, 'something broke', undefined],
  ])('the backend throws %s: code %i', async (_what, thrown, code, msg, details) => {
    const out = await cniMain(ENV_ADD, conf({ cniVersion: '1.0.0' }), fakeBackend({ add: () => { throw thrown; } }).backend);
    expect(out.exitCode).toBe(1);
    const e = JSON.parse(out.stdout);
    expect(e).toEqual({ cniVersion: '1.0.0', code, msg, ...(details && { details }) });
    // Not a spec error: the stack goes to stderr for the runtime's log.
    expect(out.stderr === '').toBe(thrown instanceof CniError);
  });

  test('a kernel error: code 100, errno, extack and the equivalent command in details', () => {
    const native = Object.assign(new Error('native'), { errno: -17, code: 'EEXIST', description: 'File exists', syscall: 'sendmsg', op: 'RTM_NEWLINK', extack: { message: 'Device name already in use' } });
    const k = new KernelError('creating veth veth0a1b2c3d', native as never, 'ip link add veth0a1b2c3d type veth peer name eth0');
    const e = toCniError(new Error('attaching c0ffee/eth0 to podnet', { cause: k }));
    expect(e.code).toBe(100);
    expect(e.message).toBe('attaching c0ffee/eth0 to podnet');
    expect(e.details).toBe('errno -17 EEXIST; syscall sendmsg; op RTM_NEWLINK; extack: Device name already in use; equivalent: ip link add veth0a1b2c3d type veth peer name eth0');
  });

  test('a lock held by another command (EAGAIN): code 11, try again later', () => {
    const busy = Object.assign(new Error('state lock busy'), { code: 'EAGAIN' });
    expect(toCniError(new NsnetError('Conflict', 'nsnet state is locked', { cause: busy })).code).toBe(11);
  });

  test('the error JSON: cniVersion, code, msg, details only when there are some', () => {
    expect(JSON.parse(formatError(new CniError(7, 'Invalid Configuration', 'Network 192.168.0.0/31 too small to allocate from.'))))
      .toEqual({ cniVersion: '1.1.0', code: 7, msg: 'Invalid Configuration', details: 'Network 192.168.0.0/31 too small to allocate from.' });
    expect(formatError(new CniError(3, 'gone'), '0.4.0')).toBe('{"cniVersion":"0.4.0","code":3,"msg":"gone"}');
  });

  test('CNI_NETNS naming the plugin\'s own namespace: refused before the backend (code 8, as skel)', async () => {
    const { backend, calls } = fakeBackend({ add: () => ADDED });
    const own = (p: string) => p === '/proc/1/ns/net';
    const out = await cniMain({ ...ENV_ADD, CNI_NETNS: '/proc/1/ns/net' }, conf(), backend, { isOwnNetns: own });
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });
    expect(calls).toHaveLength(0);
    expect((await cniMain(ENV_ADD, conf(), backend, { isOwnNetns: own })).exitCode).toBe(0);
  });

  test('no CNI_COMMAND (run by hand): what this is, on stderr, exit 0', async () => {
    const out = await cniMain({}, '', fakeBackend().backend);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0');
  });
});

describe('delegation, conflist, install script (pure parts)', () => {
  test('ipam type nsnet or no ipam: nsnet allocates; any other type is delegated', () => {
    const c = (ipam?: Record<string, unknown>) => JSON.parse(conf(ipam ? { ipam } : {}));
    expect(delegatedIpam(c())).toBeUndefined();
    expect(delegatedIpam(c({ type: 'nsnet', subnet: '10.1.0.0/16' }))).toBeUndefined();
    expect(delegatedIpam(c({ type: 'host-local' }))).toBe('host-local');
  });

  test('finding the plugin: no CNI_PATH is code 4, a name with "/" or not found is code 7', () => {
    expect(codeOf(() => findPlugin('host-local', []))).toBe(4);
    expect(codeOf(() => findPlugin('../host-local', ['/usr/lib/cni']))).toBe(7);
    expect(codeOf(() => findPlugin('no-such-ipam', ['/nonexistent', '/also-not']))).toBe(7);
  });

  test('the delegated plugin gets the whole configuration, prevResult in the config\'s version, and the same CNI_*', () => {
    const req = parseRequest({ ...ENV_ADD, CNI_COMMAND: 'DEL', CNI_ARGS: 'K8S_POD_NAME=web' }, conf({
      cniVersion: '0.4.0', ipam: { type: 'host-local', subnet: '10.1.0.0/16' }, extra: 1,
      prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16' }] },
    }));
    expect(JSON.parse(delegateStdin(req.config))).toEqual({
      cniVersion: '0.4.0', name: 'podnet', type: 'nsnet', ipam: { type: 'host-local', subnet: '10.1.0.0/16' }, extra: 1,
      prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16' }] },
    });
    expect(requestEnv(req, 'DEL')).toEqual({
      CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=web', CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
  });

  test('nsnet cni config: a conflist with nsnet as the only plugin, which nsnet itself parses', () => {
    const list = conflist({ name: 'k8s-pod-network', bridge: 'cbr0', subnet: '10.244.1.0/24', gateway: '10.244.1.1', clusterCIDR: '10.244.0.0/16' });
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      plugins: [{
        type: 'nsnet', bridge: 'cbr0', isGateway: true, ipMasq: true, hairpinMode: true, clusterCIDR: '10.244.0.0/16',
        ipam: { type: 'nsnet', subnet: '10.244.1.0/24', gateway: '10.244.1.1' },
        capabilities: { portMappings: true, ips: true, mac: true, aliases: true },
      }],
    });
    const { plugins, ...top } = list as { plugins: Record<string, unknown>[]; cniVersion: string; name: string };
    const req = parseRequest(ENV_ADD, JSON.stringify({ ...plugins[0], cniVersion: top.cniVersion, name: top.name }));
    expect(req.config).toMatchObject({ bridge: 'cbr0', clusterCIDR: '10.244.0.0/16', ipam: { type: 'nsnet' } });
  });

  test.each([
    [{ name: 'bad name' }, /invalid network name/],
    [{ name: 'n', cniVersion: '0.2.0' }, /--cni-version 0.2.0/],
    [{ name: 'n', subnet: '10.244.1.0' }, /--subnet/],
    [{ name: 'n', subnet: '10.244.1.0/33' }, /--subnet/],
    [{ name: 'n', subnet: '10.1.0.0/16', gateway: 'x' }, /--gateway/],
    [{ name: 'n', gateway: '10.1.0.1' }, /--gateway needs --subnet/],
    [{ name: 'n', bridge: 'a-bridge-name-too-long' }, /--bridge/],
    [{ name: 'n', clusterCIDR: 'x' }, /--cluster-cidr/],
  ])('nsnet cni config %j is refused: %s', (o, re) => {
    expect(() => conflist(o)).toThrow(re);
  });

  test('the installed executable names node and the plugin by absolute path (runtimes give no PATH)', () => {
    const s = pluginScript({ node: '/usr/local/bin/node', entry: '/usr/lib/node_modules/nsnet/dist/cni/nsnet-cni.cjs' });
    expect(s.split('\n')[0]).toBe('#!/usr/local/bin/node');
    // The bundle with its code cache when there is one, else required (the executable itself is run in test/unit/cni-install.test.ts).
    expect(s).toContain(`const f = "/usr/lib/node_modules/nsnet/dist/cni/nsnet-cni.cjs"`);
    expect(s).toContain(`fs.readFileSync(f + '.cache')`);
    expect(s).toContain('M.createRequire(f)(f)');
    expect(pluginScript({ node: '/n', entry: '/p/dist/cni/main.js' })).toContain('import("file:///p/dist/cni/main.js");');
    expect(() => pluginScript({ node: 'node', entry: '/p/x.cjs' })).toThrow(/absolute/);
  });
});
