// The CNI backend (src/cni/backend.ts) called in-process, as the plugin's
// main.ts calls it, on namespaces a "runtime" (this test) made both ways:
// `ip netns add` (/run/netns/NAME, as Podman) and a process's own
// (/proc/PID/ns/net from `unshare -n sleep`, as containerd). The host is a
// TestHost namespace with a fake WAN behind it; the embedded DNS server runs
// in this process (inProcessDns).
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { cniBackend, type IpamExec } from '../../src/cni/backend.js';
import { CniError, type CniRequest, type NetConf, type Result } from '../../src/cni/types.js';
import type { Context } from '../../src/docker/context.js';
import { inProcessDns, type InProcessDns } from '../../src/dns/in-process.js';
import { netnsAdd, netnsDel } from '../../src/kernel/netns.js';
import { describeKernel, eventually } from '../helpers/kernel.js';
import { WAN, wanHost, type Wan } from '../helpers/wan.js';
import { WHO } from '../helpers/who.js';
import type { TestHost } from '../helpers/host.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Pod {
  id: string;
  path: string;
  run(cmd: string[], o?: { timeout?: number }): Promise<{ stdout: string; exitCode: number }>;
  remove(): Promise<void>;
}

let h: TestHost;
let wan: Wan;
let stop: () => Promise<void>;
let ctx: Context;
let dns: InProcessDns;
let savedResolv: string | undefined;
const pods: Pod[] = [];
const bg: ResultPromise[] = [];

beforeEach(async () => {
  ({ h, wan, stop } = await wanHost({ who: true }));
  ctx = { host: h.ns, dirs: { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') }, etcNetns: h.etc, warn: () => {} };
  savedResolv = process.env.NSNET_RESOLV_CONF;
  process.env.NSNET_RESOLV_CONF = h.resolvConf; // the fake WAN's resolver, never the machine's
  dns = await inProcessDns(ctx);
});

afterEach(async () => {
  for (const p of bg.splice(0)) p.kill();
  await dns.stop();
  for (const p of pods.splice(0)) await p.remove().catch(() => {});
  await stop();
  if (savedResolv === undefined) delete process.env.NSNET_RESOLV_CONF;
  else process.env.NSNET_RESOLV_CONF = savedResolv;
});

const nsRun = (nsPath: string) => async (cmd: string[], o: { timeout?: number } = {}) => {
  const r = await execa('nsenter', [`--net=${nsPath}`, '--', ...cmd], { reject: false, timeout: o.timeout ?? 10_000 });
  return { stdout: String(r.stdout ?? ''), exitCode: r.exitCode ?? -1 };
};

/** A pod namespace as Podman makes it: /run/netns/NAME. */
async function namedPod(base: string): Promise<Pod> {
  const name = `${base}-${h.tag}`;
  const ns = await netnsAdd(name);
  await ns.close();
  // A container id of 12 characters: the attachment is cni-<id>-eth0.
  const p: Pod = { id: `${base}${h.tag}`, path: `/run/netns/${name}`, run: nsRun(`/run/netns/${name}`), remove: () => netnsDel(name) };
  pods.push(p);
  return p;
}

/** A pod namespace as containerd makes it: a process's own, /proc/PID/ns/net. */
async function procPod(id: string): Promise<Pod & { kill(): Promise<void> }> {
  const child = execa('unshare', ['-n', 'sleep', '600'], { reject: false });
  const nsPath = `/proc/${child.pid}/ns/net`;
  // unshare(2) happens before the exec: wait until the process is in a namespace other than ours.
  const mine = readlinkSync('/proc/self/ns/net');
  await eventually(() => {
    try {
      return readlinkSync(nsPath) !== mine && readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  }, 5000, 'unshare -n sleep');
  const kill = async () => {
    child.kill('SIGKILL');
    await child;
  };
  const p = { id, path: nsPath, run: nsRun(nsPath), remove: kill, kill };
  pods.push(p);
  return p;
}

const netName = () => `cni-${h.tag}`;
const conf = (extra: Partial<NetConf> = {}): NetConf => ({
  cniVersion: '1.1.0', name: netName(), type: 'nsnet', bridge: `cb${h.tag}`, isGateway: true, ipMasq: true,
  ipam: { type: 'nsnet', subnet: '10.244.1.0/24' }, ...extra,
});
const request = (command: CniRequest['command'], pod: { id: string; path: string }, o: { ifname?: string; config?: NetConf; netns?: string } = {}): CniRequest => ({
  command, containerId: pod.id, netns: o.netns ?? pod.path, ifname: o.ifname ?? 'eth0', args: {}, path: [], config: o.config ?? conf(),
});

const addressOf = (r: Result) => r.ips![0]!.address.split('/')[0]!;
const ping = async (run: Pod['run'], to: string) => (await run(['ping', '-c1', '-W1', '-n', '-q', to])).exitCode === 0;
const hostRun = async (cmd: string[]) => {
  const r = await h.run(cmd);
  return { stdout: String(r.stdout ?? ''), exitCode: r.exitCode ?? -1 };
};
const nftPorts = async () => String((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout);
const hostVeths = async () => (JSON.parse(String((await h.run(['ip', '-j', 'link', 'show', 'type', 'veth'])).stdout) || '[]') as { ifname: string }[])
  .map((l) => l.ifname).filter((n) => /^veth[0-9a-f]{7}$/.test(n)); // not the fake WAN's link

async function curl(run: Pod['run'], url: string): Promise<string> {
  for (let i = 0; i < 30; i++) {
    const r = await run(['curl', '-s', '-m', '1', url]);
    if (r.exitCode === 0) return r.stdout;
    await new Promise((res) => setTimeout(res, 100));
  }
  return '<unreachable>';
}

async function cniError(p: Promise<unknown>): Promise<CniError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!(e instanceof CniError)) throw new Error(`expected a CniError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  return e;
}

describeKernel('CNI backend (kernel)', () => {
  test('ADD on a named and a /proc/PID namespace: result, addresses, routes, pings both ways, aliases through 127.0.0.11; DEL twice leaves nothing', async () => {
    const b = cniBackend({ context: ctx });
    const a = await namedPod('aaaaaa');
    const c = await procPod(`default-pod-${h.tag}`);
    const ra = await b.add(request('ADD', a));
    const rc = await b.add({ ...request('ADD', c), config: conf({ runtimeConfig: { aliases: { [netName()]: ['bee', 'db'] } } as never }) });

    expect(ra).toMatchObject({
      cniVersion: '1.1.0',
      interfaces: [{ name: `cb${h.tag}` }, { name: expect.stringMatching(/^veth[0-9a-f]{7}$/) }, { name: 'eth0', sandbox: a.path, mac: expect.stringMatching(/^02:42:/) }],
      ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }],
      dns: { nameservers: ['127.0.0.11'] },
    });
    expect(addressOf(rc)).toBe('10.244.1.3');
    expect(rc.interfaces![2]!.sandbox).toBe(c.path);

    // The pod's side, as iproute2 sees it.
    const route = await a.run(['ip', '-j', 'route', 'show', 'default']);
    expect(JSON.parse(route.stdout)).toMatchObject([{ dst: 'default', gateway: '10.244.1.1', dev: 'eth0' }]);
    const mac = JSON.parse((await a.run(['ip', '-j', 'link', 'show', 'eth0'])).stdout)[0].address;
    expect(mac).toBe(ra.interfaces![2]!.mac);
    // Both pods, the gateway, the host's side.
    expect(await ping(a.run, '10.244.1.3')).toBe(true);
    expect(await ping(c.run, '10.244.1.2')).toBe(true);
    expect(await ping(a.run, '10.244.1.1')).toBe(true);
    expect(await ping(hostRun, '10.244.1.3')).toBe(true);
    // The attachment is an nsnet sandbox: ps shows it.
    const ps = await h.ok(['ps', '-a', '--format', '{{.Names}}']);
    expect(ps.split('\n')).toHaveLength(2);
    expect(ps).toContain(`cni-${a.id}-eth0`);
    expect(ps).toMatch(/^cni-default-pod-[0-9a-f]{8}-eth0$/m); // containerd's <namespace>-<id>: a hash tells them apart
    // `nsnet exec` on an attachment runs in the runtime's namespace (not the host's); inspect names it.
    const cName = ps.split('\n').find((n) => n.startsWith('cni-default-pod'))!;
    expect(await h.ok(['exec', cName, 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).toContain('10.244.1.3/24');
    expect(await h.ok(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', cName])).toBe(c.path);

    // Aliases resolve through the embedded DNS server, from the other pod.
    const dig = async (pod: Pod, name: string) => (await pod.run(['dig', '+short', '+time=3', '+tries=1', '@127.0.0.11', name])).stdout.trim();
    expect(await dig(a, 'bee')).toBe('10.244.1.3');
    expect(await dig(a, 'db')).toBe('10.244.1.3');

    // DEL: twice, and without prevResult; nothing of it is left.
    const vethC = rc.interfaces![1]!.name;
    await b.del(request('DEL', c));
    await b.del(request('DEL', c));
    expect(await hostVeths()).not.toContain(vethC);
    expect((await c.run(['ip', '-j', 'link', 'show', 'eth0'])).exitCode).not.toBe(0);
    // The runtime's namespace is still there (not nsnet's to delete) and holds no DNS rules of nsnet's.
    expect((await c.run(['nft', 'list', 'table', 'ip', 'nsnet_dns'])).exitCode).not.toBe(0);
    expect(await dig(a, 'bee')).not.toBe('10.244.1.3');
    // Its address is free again: the lowest free one, reused.
    const d = await procPod('dpod');
    expect(addressOf(await b.add(request('ADD', d)))).toBe('10.244.1.3');
    // DEL of a container never added.
    await b.del(request('DEL', { id: 'never-added', path: '' }));
  }, 60_000);

  test('portMappings: reachable from the fake WAN, from 127.0.0.1 and (hairpin) from the pod; a taken host port is refused; DEL unpublishes', async () => {
    const b = cniBackend({ context: ctx });
    const web = await namedPod('bbbbbb');
    const r = await b.add(request('ADD', web, { config: conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }) }));
    const ip = addressOf(r);
    const server = execa('nsenter', [`--net=${web.path}`, '--', 'node', '-e', WHO, '80', '0.0.0.0'], { reject: false });
    bg.push(server);
    const inWan = nsRun(`/run/netns/${wan.name}`);
    expect(await curl(inWan, `http://${WAN.hostAddr}:8080/`)).toBe(WAN.gateway);
    expect(await curl(hostRun, 'http://127.0.0.1:8080/')).toBe('10.244.1.1');
    expect(await curl(web.run, `http://${WAN.hostAddr}:8080/`)).toBe('10.244.1.1');
    expect(await nftPorts()).toContain(`tcp . 8080 : ${ip} . 80`);

    // The same host port for another pod: refused with nsnet's state error, nothing left of the attempt.
    const other = await namedPod('cccccc');
    const e = await cniError(b.add(request('ADD', other, { config: conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 81 }] } }) })));
    expect(e.code).toBe(101);
    expect(e.message).toMatch(/8080.*already allocated/);
    expect((await other.run(['ip', 'link', 'show', 'eth0'])).exitCode).not.toBe(0);

    await b.del(request('DEL', web));
    expect(await nftPorts()).not.toContain('8080');
  }, 60_000);

  test('DEL with the namespace gone (CNI_NETNS empty, or the path missing) removes the host end and frees address and ports', async () => {
    const b = cniBackend({ context: ctx });
    const p = await procPod('gone1');
    const q = await procPod('gone2');
    const rp = await b.add(request('ADD', p, { config: conf({ runtimeConfig: { portMappings: [{ hostPort: 9090, containerPort: 90 }] } }) }));
    const rq = await b.add(request('ADD', q));
    // The DNS server's sockets keep a namespace alive until DEL releases them: the veth stays until then.
    await p.kill();
    await q.kill();
    await b.del(request('DEL', p, { netns: '' }));
    await b.del(request('DEL', q)); // its /proc path is gone
    await eventually(async () => {
      const v = await hostVeths();
      return !v.includes(rp.interfaces![1]!.name) && !v.includes(rq.interfaces![1]!.name);
    }, 5000, 'host veth ends gone');
    expect(await nftPorts()).not.toContain('9090');
    expect((await h.ok(['ps', '-aq'])).trim()).toBe('');
    const again = await namedPod('dddddd');
    expect(addressOf(await b.add(request('ADD', again)))).toBe('10.244.1.2');
  }, 60_000);

  test('CHECK passes on what ADD made and names what is missing after ip addr flush, a link deleted, an nft element deleted', async () => {
    const b = cniBackend({ context: ctx });
    const p = await namedPod('eeeeee');
    const cfg = conf({ runtimeConfig: { portMappings: [{ hostPort: 7070, containerPort: 70 }] } });
    const r = await b.add(request('ADD', p, { config: cfg }));
    const withPrev = { ...cfg, prevResult: r };
    await b.check(request('CHECK', p, { config: withPrev }));

    // An nft element deleted by hand.
    await h.run(['nft', 'delete', 'element', 'ip', 'nsnet', 'ports', '{ tcp . 7070 }']);
    let e = await cniError(b.check(request('CHECK', p, { config: withPrev })));
    expect(e.message).toContain('nftables element ip nsnet ports { tcp . 7070 }');

    // The address flushed (its default route goes with it).
    await p.run(['ip', 'addr', 'flush', 'dev', 'eth0']);
    e = await cniError(b.check(request('CHECK', p, { config: withPrev })));
    expect(e.message).toContain(`address ${addressOf(r)}/24 on eth0`);
    expect(e.message).toContain('default route via 10.244.1.1');

    // The interface deleted.
    await p.run(['ip', 'link', 'del', 'eth0']);
    e = await cniError(b.check(request('CHECK', p, { config: withPrev })));
    expect(e.message).toContain(`interface eth0 in ${p.path}`);
    expect(e.message).toContain(`host interface ${r.interfaces![1]!.name}`);

    // CHECK of an attachment that was never made.
    e = await cniError(b.check(request('CHECK', { id: 'nope', path: p.path })));
    expect(e.code).toBe(3);
    await b.del(request('DEL', p));
  }, 60_000);

  test('ADD refuses an interface that exists, a disagreeing configuration (code 7); GC keeps only the valid attachments; STATUS', async () => {
    const b = cniBackend({ context: ctx });
    const p = await namedPod('ffffff');
    await p.run(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const exists = await cniError(b.add(request('ADD', p)));
    expect(exists.message).toMatch(/interface eth0 already exists/);
    expect(await h.ok(['ps', '-aq'])).toBe('');
    await p.run(['ip', 'link', 'del', 'eth0']);

    const pods3 = [p, await namedPod('a1a1a1'), await namedPod('a2a2a2')];
    for (const x of pods3) await b.add(request('ADD', x));
    const bad = await cniError(b.add(request('ADD', await namedPod('a3a3a3'), { config: conf({ ipam: { type: 'nsnet', subnet: '10.99.0.0/24' } }) })));
    expect(bad.code).toBe(7);
    expect(bad.message).toMatch(/subnet 10\.99\.0\.0\/24 \(it has 10\.244\.1\.0\/24\)/);

    await b.gc({ ...request('GC', { id: '', path: '' }), config: conf({ runtimeConfig: { 'cni.dev/valid-attachments': [{ containerID: pods3[1]!.id, ifname: 'eth0' }] } }) });
    const left = (await h.ok(['ps', '-a', '--format', '{{.Names}}'])).split('\n');
    expect(left).toEqual([expect.stringContaining(pods3[1]!.id.slice(0, 12))]);
    expect((await pods3[0]!.run(['ip', 'link', 'show', 'eth0'])).exitCode).not.toBe(0);
    await b.check(request('CHECK', pods3[1]!));

    await b.status(request('STATUS', { id: '', path: '' }));
    // A state directory that can't be used: code 50.
    const broken = path.join(h.root, 'not-a-dir');
    writeFileSync(broken, '');
    const down = cniBackend({ context: { ...ctx, dirs: { dataDir: path.join(broken, 'lib'), runDir: path.join(broken, 'run') } } });
    expect((await cniError(down.status(request('STATUS', { id: '', path: '' })))).code).toBe(50);
  }, 60_000);

  test('50 ADDs at once (in-process) and 4 more from other processes: distinct addresses; then 54 DELs at once', async () => {
    const b = cniBackend({ context: ctx });
    const n = 50;
    const names = Array.from({ length: n }, (_, i) => `p${i}-${h.tag}`);
    for (const name of names) await (await netnsAdd(name)).close();
    const many = names.map((name, i) => ({ id: `par${i}x${h.tag}`, path: `/run/netns/${name}` }));
    pods.push(...names.map((name) => ({ id: '', path: '', run: nsRun(''), remove: () => netnsDel(name) })));
    const script = path.join(h.root, 'add.mjs');
    writeFileSync(script, `
      const { cniBackend } = await import(${JSON.stringify(path.join(ROOT, 'dist/cni/backend.js'))});
      const [root, etc, id, netns, conf] = process.argv.slice(2);
      const r = await cniBackend({ root, etcNetns: etc }).add({ command: 'ADD', containerId: id, netns, ifname: 'eth0', args: {}, path: [], config: JSON.parse(conf) });
      process.stdout.write(r.ips[0].address);
    `);
    const children = [];
    for (let i = 0; i < 4; i++) {
      const name = `k${i}-${h.tag}`;
      await (await netnsAdd(name)).close();
      pods.push({ id: '', path: '', run: nsRun(''), remove: () => netnsDel(name) });
      many.push({ id: `kid${i}x${h.tag}`, path: `/run/netns/${name}` });
      children.push(promisify(execFile)('nsenter', [`--net=/run/netns/${h.name}`, '--', process.execPath, script, h.root, h.etc, `kid${i}x${h.tag}`, `/run/netns/${name}`, JSON.stringify(conf())],
        { env: { ...process.env, NSNET_RESOLV_CONF: h.resolvConf } }).then((r) => r.stdout.split('/')[0]!));
    }
    const results = await Promise.all([...many.slice(0, n).map((p) => b.add(request('ADD', p)).then(addressOf)), ...children]);
    expect(new Set(results).size).toBe(n + 4);
    for (const a of results) expect(a).toMatch(/^10\.244\.1\.(\d+)$/);
    const highest = Math.max(...results.map((a) => Number(a.split('.')[3])));
    expect(highest).toBe(n + 4 + 1); // lowest free, no holes: .2 .. .55
    // One network, made once.
    expect((await h.ok(['network', 'ls', '--filter', `name=${netName()}`, '--format', '{{.Name}}'])).split('\n')).toEqual([netName()]);
    await Promise.all(many.map((p) => b.del(request('DEL', p))));
    expect(await h.ok(['ps', '-aq'])).toBe('');
    expect(await hostVeths()).toEqual([]);
  }, 120_000);

  test('clusterCIDR: traffic to the cluster range keeps the pod\'s address; traffic elsewhere is masqueraded', async () => {
    const b = cniBackend({ context: ctx });
    const p = await namedPod('c1c1c1');
    // The fake WAN's server range plays the cluster (other nodes' pods) here.
    const r = await b.add(request('ADD', p, { config: conf({ clusterCIDR: '203.0.113.0/24' }) }));
    const rules = String((await h.run(['nft', 'list', 'table', 'ip', 'nsnet'])).stdout);
    expect(rules).toMatch(/oifname != @bridges ip saddr \. ip daddr @masq_exempt accept\n\s*oifname != @bridges ip saddr @masq_subnets masquerade/);
    expect(rules).toMatch(/elements = \{ 10\.244\.1\.0\/24 \. 203\.0\.113\.0\/24 \}/);
    // A packet: the "other node" (the WAN) has a route back to the pod subnet via this node.
    await execa('ip', ['-n', wan.name, 'route', 'add', '10.244.1.0/24', 'via', WAN.hostAddr]);
    expect(await curl(p.run, `http://${WAN.server}/`)).toBe(addressOf(r));
    // The same network without clusterCIDR (another network, same WAN): masqueraded to the node's address.
    const q = await namedPod('c2c2c2');
    await b.add(request('ADD', q, { config: conf({ name: `other-${h.tag}`, bridge: `cc${h.tag}`, ipam: { type: 'nsnet', subnet: '10.244.2.0/24' } }) }));
    expect(await curl(q.run, `http://${WAN.server}/`)).toBe(WAN.hostAddr);
  }, 60_000);
  test('a delegated IPAM (ipam.type not nsnet): its address and subnet are used; DEL and a failed ADD hand the address back to it', async () => {
    const calls: string[] = [];
    let next = 7;
    const ipam: IpamExec = async (cmd, req) => {
      calls.push(`${cmd} ${req.containerId}`);
      return cmd === 'ADD' ? { cniVersion: '1.1.0', ips: [{ address: `10.50.0.${next++}/24`, gateway: '10.50.0.1' }] } : undefined;
    };
    const b = cniBackend({ context: ctx, ipam });
    const cfg = conf({ name: `hl-${h.tag}`, bridge: `hl${h.tag}`, ipam: { type: 'host-local' } });
    const p = await namedPod('d1d1d1');
    const r = await b.add(request('ADD', p, { config: cfg }));
    expect(r.ips).toEqual([{ address: '10.50.0.7/24', gateway: '10.50.0.1', interface: 2 }]);
    expect(await ping(p.run, '10.50.0.1')).toBe(true);
    // A failed ADD (the interface exists in the pod): the IPAM plugin gets its DEL.
    const q = await namedPod('d2d2d2');
    await q.run(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0']);
    await cniError(b.add(request('ADD', q, { config: cfg })));
    await b.check(request('CHECK', p, { config: cfg }));
    await b.del(request('DEL', p, { config: cfg }));
    expect(calls).toEqual([`ADD ${p.id}`, `ADD ${q.id}`, `DEL ${q.id}`, `CHECK ${p.id}`, `DEL ${p.id}`]);
    // Without a way to run IPAM plugins: a clear configuration error.
    expect((await cniError(cniBackend({ context: ctx }).add(request('ADD', q, { config: cfg })))).code).toBe(7);
  }, 60_000);
});
