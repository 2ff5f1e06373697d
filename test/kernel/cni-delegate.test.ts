// Delegated IPAM with the reference plugins Debian ships (containernetworking-
// plugins, /usr/lib/cni): host-local and static run through src/cni/delegate.ts
// as nsnet runs them inside an ADD/CHECK/DEL; and the test runtime
// (test/helpers/cni-exec.ts) driving host-local as libcni does (result cache,
// prevResult on DEL, GC of stale attachments). host-local's reservations live
// in a temp `dataDir`, never in /var/lib/cni.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { delegateIpam } from '../../src/cni/delegate.js';
import { parseRequest } from '../../src/cni/env.js';
import { CniError } from '../../src/cni/types.js';
import { CniExecError, CniRuntime, type Conflist, type PluginRun } from '../helpers/cni-exec.js';
import { describeKernel } from '../helpers/kernel.js';

const CNI_BIN = '/usr/lib/cni';
/** The error `p` rejects with (the test fails if it resolves). */
async function failure<E>(p: Promise<unknown>): Promise<E> {
  return p.then(() => expect.unreachable('expected a failure') as never, (e: unknown) => e as E);
}

const haveRef = existsSync(path.join(CNI_BIN, 'host-local')) && existsSync(path.join(CNI_BIN, 'static'));

describeKernel('delegated IPAM: host-local and static through delegate.ts', () => {
  let dir: string;
  let dataDir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-'));
    dataDir = path.join(dir, 'ipam');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const env = (command: string, id: string) => ({
    CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${id}`, CNI_IFNAME: 'eth0', CNI_PATH: `/nonexistent:${CNI_BIN}`,
  });
  const hostLocal = (cniVersion: string, extra: Record<string, unknown> = {}) => JSON.stringify({
    cniVersion, name: 'podnet', type: 'nsnet', bridge: 'cbr0', ...extra,
    ipam: { type: 'host-local', subnet: '198.51.100.0/24', rangeStart: '198.51.100.10', gateway: '198.51.100.1', dataDir, routes: [{ dst: '0.0.0.0/0' }] },
  });
  const reserved = () => (existsSync(path.join(dataDir, 'podnet')) ? readdirSync(path.join(dataDir, 'podnet')).filter((f) => /^\d/.test(f)).sort() : []);

  test.skipIf(!haveRef).each(['0.3.1', '0.4.0', '1.0.0'])('host-local, cniVersion %s: ADD gives distinct addresses, CHECK passes, DEL releases', async (v) => {
    const a = await delegateIpam('ADD', parseRequest(env('ADD', 'ctr-a'), hostLocal(v)));
    const b = await delegateIpam('ADD', parseRequest(env('ADD', 'ctr-b'), hostLocal(v)));
    expect(a).toEqual({ cniVersion: v, ips: [{ address: '198.51.100.10/24', gateway: '198.51.100.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} });
    expect(b?.ips?.[0]?.address).toBe('198.51.100.11/24');
    expect(reserved()).toEqual(['198.51.100.10', '198.51.100.11']);
    // What host-local wrote for the reservation: the container id and ifname nsnet passed on.
    expect(readFileSync(path.join(dataDir, 'podnet', '198.51.100.10'), 'utf8').split(/\s+/)).toEqual(['ctr-a', 'eth0']);

    if (v !== '0.3.1') {
      const prevResult = { cniVersion: v, ips: [{ ...(v.startsWith('0.') && { version: '4' }), address: '198.51.100.10/24', gateway: '198.51.100.1' }] };
      await expect(delegateIpam('CHECK', parseRequest(env('CHECK', 'ctr-a'), hostLocal(v, { prevResult })))).resolves.toBeUndefined();
    }
    await delegateIpam('DEL', parseRequest(env('DEL', 'ctr-a'), hostLocal(v)));
    expect(reserved()).toEqual(['198.51.100.11']);
    // DEL again, and DEL with the namespace gone: still success.
    await delegateIpam('DEL', parseRequest(env('DEL', 'ctr-a'), hostLocal(v)));
    await delegateIpam('DEL', parseRequest({ ...env('DEL', 'ctr-b'), CNI_NETNS: '' }, hostLocal(v)));
    expect(reserved()).toEqual([]);
  });

  test.skipIf(!haveRef)('host-local: CHECK for a container it never saw fails with host-local\'s error', async () => {
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: '198.51.100.10/24' }] };
    const e = await failure<CniError>(delegateIpam('CHECK', parseRequest(env('CHECK', 'ghost'), hostLocal('1.0.0', { prevResult }))));
    expect(e).toBeInstanceOf(CniError);
    expect(e.message).toMatch(/^IPAM plugin host-local: /);
  });

  test.skipIf(!haveRef)('host-local: an exhausted range is host-local\'s error, with its code', async () => {
    const tiny = (id: string) => parseRequest(env('ADD', id), JSON.stringify({
      cniVersion: '1.0.0', name: 'tiny', type: 'nsnet', ipam: { type: 'host-local', subnet: '198.51.100.0/30', dataDir },
    }));
    await delegateIpam('ADD', tiny('t1')); // a /30 has one address besides the gateway
    const e = await failure<CniError>(delegateIpam('ADD', tiny('t2')));
    expect(e).toBeInstanceOf(CniError);
    expect(e.message).toMatch(/IPAM plugin host-local: .*no IP addresses available/i);
    expect(e.code).toBeGreaterThan(0);
  });

  test.skipIf(!haveRef)('static: the configured address and routes, in the configuration\'s version', async () => {
    const conf = (v: string) => JSON.stringify({
      cniVersion: v, name: 'podnet', type: 'nsnet',
      ipam: { type: 'static', addresses: [{ address: '203.0.113.7/24', gateway: '203.0.113.1' }, { address: '2001:db8::7/64' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['203.0.113.53'] } },
    });
    for (const v of ['0.4.0', '1.0.0']) {
      const r = await delegateIpam('ADD', parseRequest(env('ADD', 'st'), conf(v)));
      expect(r).toEqual({
        cniVersion: v,
        ips: [{ address: '203.0.113.7/24', gateway: '203.0.113.1' }, { address: '2001:db8::7/64' }],
        routes: [{ dst: '0.0.0.0/0' }],
        dns: { nameservers: ['203.0.113.53'] },
      });
      await delegateIpam('DEL', parseRequest(env('DEL', 'st'), conf(v)));
    }
  });

  test('a delegated plugin that is not in CNI_PATH: code 7 naming it and the path', async () => {
    const req = parseRequest(env('ADD', 'x'), JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'nsnet', ipam: { type: 'no-such-ipam' } }));
    const e = await failure<CniError>(delegateIpam('ADD', req));
    expect(e.code).toBe(7);
    expect(e.message).toBe(`failed to find plugin "no-such-ipam" in path [/nonexistent ${CNI_BIN}]`);
  });
});

describeKernel('the test runtime (cni-exec.ts) drives plugins as libcni does', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-rt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.skipIf(!haveRef)('host-local as the plugin: ADD cached, CHECK and DEL get it as prevResult, GC deletes the stale one', async () => {
    const log: PluginRun[] = [];
    const rt = new CniRuntime({ path: [CNI_BIN], cacheDir: path.join(dir, 'cache'), log });
    // host-local as a conflist's only plugin reads its keys under "ipam", as when delegated to.
    const list: Conflist = {
      cniVersion: '1.0.0', name: 'hl',
      plugins: [{ type: 'host-local', ipam: { type: 'host-local', subnet: '192.0.2.0/24', dataDir: path.join(dir, 'ipam') }, capabilities: { portMappings: true } }],
    };
    const a = { containerId: 'pod-a', netns: '/run/netns/pod-a', ifname: 'eth0', args: { IgnoreUnknown: '1', K8S_POD_NAME: 'a' }, capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], mac: 'x' } };
    const b = { ...a, containerId: 'pod-b', netns: '/run/netns/pod-b' };
    const ra = await rt.add(list, a);
    await rt.add(list, b);
    expect(ra).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '192.0.2.2/24', gateway: '192.0.2.1' }] });
    expect(rt.cachedResult('hl', a)).toEqual(ra);
    // What the plugin got: name and cniVersion injected, runtimeConfig with only the capabilities it declares, the env.
    const addRun = log.find((r) => r.command === 'ADD')!;
    expect(addRun.stdin).toMatchObject({ name: 'hl', cniVersion: '1.0.0', runtimeConfig: { portMappings: a.capabilityArgs.portMappings } });
    expect(addRun.stdin.runtimeConfig).not.toHaveProperty('mac');
    expect(addRun.env).toEqual({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'pod-a', CNI_NETNS: '/run/netns/pod-a', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a', CNI_PATH: CNI_BIN });

    await rt.check(list, a);
    expect(log.at(-1)!.stdin.prevResult).toEqual(ra);
    await rt.del(list, a);
    expect(log.at(-1)).toMatchObject({ command: 'DEL', stdin: { prevResult: ra } });
    expect(rt.cachedResult('hl', a)).toBeUndefined();
    // CHECK after DEL: no cached result, as libcni refuses.
    await expect(rt.check(list, a)).rejects.toThrow(/cached result/);
    // DEL again (no cache, no prevResult): host-local succeeds.
    await rt.del(list, a);
    expect(log.at(-1)!.stdin).not.toHaveProperty('prevResult');

    // GC keeping nothing: pod-b's cached attachment is deleted (1.0.0: no GC command sent).
    await rt.gc(list, []);
    expect(rt.cachedResult('hl', b)).toBeUndefined();
    expect(log.at(-1)).toMatchObject({ command: 'DEL', env: { CNI_CONTAINERID: 'pod-b' } });
    expect(log.some((r) => r.command === 'GC')).toBe(false);
    expect(readdirSync(path.join(dir, 'ipam', 'hl')).filter((f) => /^\d/.test(f))).toEqual([]);
  });

  test.skipIf(!haveRef)('a failing plugin: its error JSON read from stdout', async () => {
    const rt = new CniRuntime({ path: [CNI_BIN], cacheDir: path.join(dir, 'cache') });
    const list: Conflist = { cniVersion: '1.1.0', name: 'hl', plugins: [{ type: 'host-local', ipam: { type: 'host-local', subnet: '192.0.2.0/24' } }] };
    // Debian's host-local (1.1.1) speaks up to 1.0.0: a 1.1.0 list is refused with code 1, as the spec says.
    const e = await failure<CniExecError>(rt.add(list, { containerId: 'x', netns: '/run/netns/x', ifname: 'eth0' }));
    expect(e).toBeInstanceOf(CniExecError);
    expect(e.code).toBe(1);
    expect(e.run.json).toMatchObject({ code: 1, msg: 'incompatible CNI versions' });
  });
});
