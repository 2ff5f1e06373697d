// A DEL served by the resident nsnet process answers once the state is
// committed and deletes the veth after (src/docker/removals.ts): the address
// stays claimed by a pending removal (<runDir>/removing/<id>.json) until the
// veth is gone; an ADD in that process waits for the removals in flight; a
// pending removal whose process died is finished by the next locked section
// (and by a new resident process as it starts).
//
//   in-process    the backend with a context that defers (as the resident
//                 process's): deterministic - the DEL has returned, the work
//                 has not finished
//   real process  the native plugin and `nsnet dns`, killed right after a DEL
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { cniBackend } from '../../src/cni/backend.js';
import type { CniRequest, NetConf, Result } from '../../src/cni/types.js';
import type { Context } from '../../src/docker/context.js';
import { usingState, subnetBlock } from '../../src/docker/networks.js';
import { removalsInFlight, removalsSettled } from '../../src/docker/removals.js';
import { inProcessDns, type InProcessDns } from '../../src/dns/in-process.js';
import { isNotFound } from '../../src/kernel/errors.js';
import { linkGet } from '../../src/kernel/link.js';
import { netnsAdd, netnsDel } from '../../src/kernel/netns.js';
import { ipv4ToInt } from '../../src/net/ip.js';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';
import { withState } from '../../src/state/store.js';
import { CniRuntime, servedBy, type Attachment, type Conflist, type PluginRun } from '../helpers/cni-exec.js';
import { alive, describeKernel, eventually, tag as newTag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NSNET = path.join(root, 'bin/nsnet.js');
const SLOW = 120_000;

/** A pid no process has (the owner of a pending removal whose process died). */
function deadPid(): number {
  const r = spawnSync('/bin/true');
  return r.pid!;
}

const gone = (ns: Context['host'], name: string) => linkGet(ns, name).then(() => false, (e: unknown) => {
  if (isNotFound(e)) return true;
  throw e;
});

describeKernel('CNI DEL: the veth deleted after the answer (in-process backend)', () => {
  let h: TestHost;
  let ctx: Context;
  let dns: InProcessDns;
  const pods: string[] = [];

  beforeEach(async () => {
    h = await TestHost.make(newTag());
    ctx = { host: h.ns, dirs: { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') }, etcNetns: h.etc, warn: () => {} };
    process.env.NSNET_RESOLV_CONF = h.resolvConf;
    dns = await inProcessDns(ctx);
  });

  afterEach(async () => {
    await removalsSettled();
    await dns.stop();
    for (const p of pods.splice(0)) await netnsDel(p).catch(() => {});
    await h.cleanup();
  });

  const conf = (extra: Partial<NetConf> = {}): NetConf => ({
    cniVersion: '1.1.0', name: `dd-${h.tag}`, type: 'nsnet', bridge: `dd${h.tag}`, isGateway: true, ipMasq: true,
    ipam: { type: 'nsnet', subnet: '10.244.3.0/24' }, ...extra,
  });
  const pod = async (base: string) => {
    const name = `${base}-${h.tag}`;
    await (await netnsAdd(name)).close();
    pods.push(name);
    return { id: `${base}${h.tag}`, path: `/run/netns/${name}` };
  };
  const req = (command: CniRequest['command'], p: { id: string; path: string }, config: NetConf): CniRequest => ({
    command, containerId: p.id, netns: p.path, ifname: 'eth0', args: {}, path: [], config,
  });
  const removing = () => readdirSync(path.join(ctx.dirs.runDir, 'removing'));
  const claimed = (ip: string) => usingState(ctx, async (s) => {
    const net = s.networks.find((n) => n.name === `dd-${h.tag}`)!;
    const { base, size } = subnetBlock(net);
    return (await s.addresses.usedTest(net.id, base, size))(ipv4ToInt(ip));
  });

  test('DEL returns with the veth still being deleted and its address held; an ADD of the same container and static IP right after succeeds', async () => {
    const b = cniBackend({ context: { ...ctx, deferRemovals: true } });
    const p = await pod('dda');
    const c = conf({ runtimeConfig: { ips: ['10.244.3.50/24'], portMappings: [{ hostPort: 28080, containerPort: 80, protocol: 'tcp' }] } });
    const first = await b.add(req('ADD', p, c)) as Result;
    expect(first.ips![0]!.address).toBe('10.244.3.50/24');
    const veth = first.interfaces!.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name;
    expect(veth).toMatch(/^veth/);

    await b.del(req('DEL', p, c));
    // Answered: the record is gone, the removal is pending (in this process), the address still claimed.
    expect(removalsInFlight()).toBe(true);
    expect(removing()).toHaveLength(1);
    expect(existsSync(path.join(ctx.dirs.runDir, 'sandboxes', `cni-${p.id.slice(0, 12)}-eth0.json`))).toBe(false);
    expect(await claimed('10.244.3.50')).toBe(true);

    // Its host port too: the DNAT element is removed after the answer as well.
    expect(readdirSync(path.join(ctx.dirs.runDir, 'ports'))).toEqual(['tcp-28080.json']);
    // The same container, interface, static address and host port at once: the ADD waits for the removal, then gets them.
    const again = await b.add(req('ADD', p, c)) as Result;
    expect(again.ips![0]!.address).toBe('10.244.3.50/24');
    expect(removalsInFlight()).toBe(false);
    expect(removing()).toHaveLength(0);
    expect(await gone(ctx.host, veth)).toBe(true);
    expect(again.interfaces!.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name).not.toBe(veth);

    // DEL twice (idempotent), then everything is given back once the deferred work is done.
    await b.del(req('DEL', p, c));
    await b.del(req('DEL', p, c));
    await removalsSettled();
    expect(removing()).toHaveLength(0);
    expect(await claimed('10.244.3.50')).toBe(false);
  }, SLOW);

  test('a pending removal whose process died is finished by the next locked section: veth deleted, address given back', async () => {
    const b = cniBackend({ context: ctx });
    const p = await pod('ddb');
    const c = conf();
    const r = await b.add(req('ADD', p, c)) as Result;
    const ip = r.ips![0]!.address.split('/')[0]!;
    const veth = r.interfaces!.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name;
    // What a resident process killed after its DEL's commit leaves: no record, a pending removal, veth and address still there.
    const name = `cni-${p.id.slice(0, 12)}-eth0`;
    await withState<NetworkRecord, SandboxRecord, void>(ctx.dirs, async (s) => {
      const sb = (await s.sandboxes.get(name))!;
      s.removing.put({ record: sb, owner: { pid: deadPid(), start: '1' } });
      s.sandboxes.delete(sb);
    });
    expect(removing()).toHaveLength(1);
    expect(await gone(ctx.host, veth)).toBe(false);
    // Read without usingState (which would finish it): the address is still claimed.
    const held = await withState<NetworkRecord, SandboxRecord, boolean>(ctx.dirs, async (s) => {
      const net = s.networks.find((n) => n.name === c.name)!;
      const { base, size } = subnetBlock(net);
      return (await s.addresses.usedTest(net.id, base, size))(ipv4ToInt(ip));
    });
    expect(held).toBe(true);
    expect(await claimed(ip)).toBe(false); // that section (claimed's own usingState) finished it
    expect(removing()).toHaveLength(0);
    expect(await gone(ctx.host, veth)).toBe(true);
  }, SLOW);
});

describeKernel('CNI DEL through the resident process, killed right after it', () => {
  const tag = newTag();
  let work: string;
  let env: Record<string, string>;
  let rt: CniRuntime;
  const netnsNames: string[] = [];
  const list: Conflist = {
    cniVersion: '1.0.0', name: `dk${tag}`,
    plugins: [{ type: 'nsnet', bridge: `dk${tag}`.slice(0, 15), isGateway: true, ipMasq: true, ipam: { type: 'nsnet', subnet: '10.244.4.0/24' }, capabilities: { ips: true } }],
  };
  const runDir = () => path.join(work, 'run');
  const dnsPid = () => Number(readFileSync(path.join(runDir(), 'dns.pid'), 'utf8'));
  const served = servedBy;
  const pod = (i: number, ip?: string): Attachment => ({
    containerId: `dk${i}-${tag}`, netns: `/run/netns/dk${i}-${tag}`, ifname: 'eth0', ...(ip && { capabilityArgs: { ips: [ip] } }),
  });
  const linkExists = (name: string) => spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
  /** The supervisor has started a new resident process in place of `pid`, which serves calls. */
  const restarted = async (pid: number) => {
    await eventually(() => {
      try {
        return dnsPid() !== pid && alive(dnsPid());
      } catch {
        return false;
      }
    }, 30_000, 'the supervisor to restart the resident process');
    await eventually(async () => served(await rt.exec(rt.find('nsnet'), 'VERSION', { cniVersion: '1.0.0' })) === String(dnsPid()), 30_000, 'the new process to serve');
  };
  const removing = () => (existsSync(path.join(runDir(), 'removing')) ? readdirSync(path.join(runDir(), 'removing')) : []);

  beforeAll(() => {
    work = mkdtempSync('/run/nsnet-cni-dk-');
    const bin = path.join(work, 'bin');
    execFileSync(process.execPath, [NSNET, 'cni', 'install', '--bin-dir', bin]);
    writeFileSync(path.join(work, 'resolv.conf'), 'nameserver 203.0.113.53\n');
    env = { NSNET_DATA_DIR: path.join(work, 'lib'), NSNET_RUN_DIR: runDir(), NSNET_ETC_NETNS: path.join(work, 'etc-netns'), NSNET_RESOLV_CONF: path.join(work, 'resolv.conf'), NSNET_CNI_TRACE: '1' };
    rt = new CniRuntime({ path: [bin], cacheDir: path.join(work, 'cache'), env });
    for (const i of [1, 2, 3]) {
      execFileSync('ip', ['netns', 'add', `dk${i}-${tag}`]);
      netnsNames.push(`dk${i}-${tag}`);
    }
  }, SLOW);

  afterAll(async () => {
    try {
      const sup = Number(readFileSync(path.join(runDir(), 'dns-supervisor.pid'), 'utf8'));
      const pids = [sup, dnsPid()];
      process.kill(sup, 'SIGTERM');
      await eventually(() => pids.every((p) => !alive(p)), 10_000, 'the DNS server and its supervisor to stop').catch(() => {
        for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
      });
    } catch {
      // not started
    }
    for (const n of netnsNames) execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    spawnSync(process.execPath, [NSNET, 'network', 'rm', list.name], { env: { ...process.env, ...env, NSNET_CNI_TRACE: '' } });
    rmSync(work, { recursive: true, force: true });
  }, SLOW);

  test('killed after a DEL answered: the new resident process finishes it (veth gone, address free for a static ADD)', async () => {
    await rt.add(list, pod(1)); // the Node plugin: starts the resident process
    await eventually(() => existsSync(path.join(runDir(), 'cni.sock')), 20_000, 'cni.sock');
    const log: PluginRun[] = [];
    const traced = new CniRuntime({ ...rt.o, log });
    const r = await traced.add(list, pod(2, '10.244.4.77/24')) as { ips: { address: string }[]; interfaces: { name: string; sandbox?: string }[] };
    expect(r.ips[0]!.address).toBe('10.244.4.77/24');
    const veth = r.interfaces.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name;
    const pid = dnsPid();
    expect(served(log[0]!)).toBe(String(pid));

    await traced.del(list, pod(2, '10.244.4.77/24'));
    process.kill(pid, 'SIGKILL');
    const del = log.find((x) => x.command === 'DEL')!;
    expect(served(del)).toBe(String(pid));
    expect(del.stderr).toMatch(/step: deleting veth \S+ .*\(after the answer\)/);
    // Where the kill landed (the veth deleted or not, the address given back or not): both must end clean.
    console.log(`killed after DEL: pending removals ${removing().length}, veth ${linkExists(veth) ? 'still there' : 'gone'}`);

    await restarted(pid);
    await eventually(() => removing().length === 0 && !linkExists(veth), 20_000, 'the pending removal finished');
    // The address is free again: the same static address for another pod, through the new process.
    const again = await traced.add(list, pod(3, '10.244.4.77/24')) as { ips: { address: string }[]; interfaces: { name: string; sandbox?: string }[] };
    expect(again.ips[0]!.address).toBe('10.244.4.77/24');
    expect(served(log.at(-1)!)).toBe(String(dnsPid()));

    // The same, with the kill landing for sure between the DEL's commit and the veth's deletion: the supervisor
    // held (SIGSTOP), the process killed, the state it would leave written by hand; the new process, as it
    // starts and before any call, deletes the veth and gives the address back.
    const veth3 = again.interfaces.find((i) => !i.sandbox && i.name.startsWith('veth'))!.name;
    const sup = Number(readFileSync(path.join(runDir(), 'dns-supervisor.pid'), 'utf8'));
    const pid2 = dnsPid();
    const start = readFileSync(`/proc/${pid2}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
    process.kill(sup, 'SIGSTOP');
    try {
      process.kill(pid2, 'SIGKILL');
      await eventually(() => !existsSync(`/proc/${pid2}/cmdline`) || !alive(pid2), 5000, 'the resident process to die');
      const dirs = { dataDir: env.NSNET_DATA_DIR!, runDir: runDir() };
      await withState<NetworkRecord, SandboxRecord, void>(dirs, async (s) => {
        const sb = (await s.sandboxes.get(`cni-${pod(3).containerId.slice(0, 12)}-eth0`))!;
        s.removing.put({ record: sb, owner: { pid: pid2, start } });
        s.sandboxes.delete(sb);
      });
    } finally {
      process.kill(sup, 'SIGCONT');
    }
    expect(removing()).toHaveLength(1);
    expect(linkExists(veth3)).toBe(true);
    await restarted(pid2);
    await eventually(() => removing().length === 0 && !linkExists(veth3), 20_000, 'the new resident process to finish the removal');
    const third = await traced.add(list, pod(2, '10.244.4.77/24')) as { ips: { address: string }[] };
    expect(third.ips[0]!.address).toBe('10.244.4.77/24');
    await traced.del(list, pod(2, '10.244.4.77/24'));
    await traced.del(list, pod(1));
    await eventually(() => removing().length === 0, 20_000, 'the removals to finish');
  }, SLOW);
});
