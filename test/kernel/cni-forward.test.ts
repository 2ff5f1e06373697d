// The native CNI plugin and the resident nsnet process (issue 14, Must show 5):
// `nsnet cni install` copies build/Release/nsnet-cni, which forwards a call to
// the embedded DNS server's process over <runDir>/cni.sock (src/cli/cni-serve.ts)
// and runs the Node plugin only when nothing serves it there. NSNET_CNI_TRACE=1
// shows which path ran: the native plugin's "fallback: WHY" and the Node
// plugin's "bundle loaded", or the daemon's "served by the resident nsnet
// process (pid P)". Every plugin here runs under umask 000 (the socket must
// still be 0600), with a bare environment as runtimes give.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { listenCni } from '../../src/cli/cni-serve.js';
import { decodeAnswer, encodeRequest, NOT_MINE } from '../../src/cni/wire.js';
import { CniRuntime, servedBy, type Attachment, type Conflist, type PluginRun } from '../helpers/cni-exec.js';
import { alive, describeKernel, eventually, tag as newTag } from '../helpers/kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NSNET = path.join(root, 'bin/nsnet.js');
const SLOW = 120_000;


describeKernel('CNI: the native plugin and the resident nsnet process', () => {
  const tag = newTag();
  let work: string;
  let bin: string;
  let env: Record<string, string>;
  let rt: CniRuntime;
  const netnsNames: string[] = [];
  const list: Conflist = {
    cniVersion: '1.0.0', name: `fwd${tag}`,
    plugins: [{ type: 'nsnet', bridge: `cf${tag}`.slice(0, 15), isGateway: true, ipMasq: true, ipam: { type: 'nsnet', subnet: '10.244.9.0/24' } }],
  };
  const runDir = () => path.join(work, 'run');
  const sock = () => path.join(runDir(), 'cni.sock');
  const dnsPid = () => Number(readFileSync(path.join(runDir(), 'dns.pid'), 'utf8'));
  const pod = (i: number): Attachment => ({ containerId: `fwd${i}-${tag}`, netns: `/run/netns/fwd${i}-${tag}`, ifname: 'eth0' });
  const served = servedBy;
  const viaNode = (r: PluginRun) => r.stderr.includes('nsnet-cni: ') && /ms bundle loaded \(/.test(r.stderr);
  const plugin = () => rt.find('nsnet');

  /** One frame sent by hand; resolves with what came back before the daemon closed (or `waitMs` passed). */
  const raw = (bytes: Buffer, o: { end?: boolean; waitMs?: number } = {}) => new Promise<Buffer>((resolve) => {
    const c = net.connect(sock());
    const got: Buffer[] = [];
    const done = () => {
      clearTimeout(t);
      c.destroy();
      resolve(Buffer.concat(got));
    };
    const t = setTimeout(done, o.waitMs ?? 10_000);
    c.on('data', (d) => got.push(d));
    c.on('close', done);
    c.on('error', done);
    c.write(bytes);
    if (o.end) c.end();
  });

  beforeAll(async () => {
    work = mkdtempSync('/run/nsnet-cni-fwd-');
    bin = path.join(work, 'bin');
    execFileSync(process.execPath, [NSNET, 'cni', 'install', '--bin-dir', bin]);
    writeFileSync(path.join(work, 'resolv.conf'), 'nameserver 203.0.113.53\n');
    env = {
      NSNET_DATA_DIR: path.join(work, 'lib'), NSNET_RUN_DIR: runDir(), NSNET_ETC_NETNS: path.join(work, 'etc-netns'),
      NSNET_RESOLV_CONF: path.join(work, 'resolv.conf'), NSNET_CNI_TRACE: '1',
    };
    // The runtime's umask 000: whatever the plugin and the server it starts make must not be left open by it.
    rt = new CniRuntime({ path: [bin], cacheDir: path.join(work, 'cache'), env, wrap: ['/bin/sh', '-c', 'umask 000; exec "$0"'] });
    for (const i of [1, 2, 3, 4]) {
      execFileSync('ip', ['netns', 'add', `fwd${i}-${tag}`]);
      netnsNames.push(`fwd${i}-${tag}`);
    }
  }, SLOW);

  afterAll(async () => {
    let pids: number[] = [];
    try {
      const sup = Number(readFileSync(path.join(runDir(), 'dns-supervisor.pid'), 'utf8'));
      pids = [sup, dnsPid()];
      process.kill(sup, 'SIGTERM');
      await eventually(() => pids.every((p) => p <= 0 || !alive(p)), 10_000, 'the DNS server and its supervisor to stop');
    } catch {
      // not started, gone, or slow to stop under load: no process of this test is left behind
      for (const p of pids) if (p > 0 && alive(p)) process.kill(p, 'SIGKILL');
    }
    for (const n of netnsNames) execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    // Retried: it failed once in a full CI run (load), its message unseen then; a lasting failure says why.
    const cliEnv = { ...process.env, ...env, NSNET_CNI_TRACE: '' };
    let rm = spawnSync(process.execPath, [NSNET, 'network', 'rm', list.name], { env: cliEnv, encoding: 'utf8' });
    for (let i = 0; i < 3 && rm.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      rm = spawnSync(process.execPath, [NSNET, 'network', 'rm', list.name], { env: cliEnv, encoding: 'utf8' });
    }
    if (rm.status !== 0) {
      const ps = spawnSync(process.execPath, [NSNET, 'ps', '-a'], { env: cliEnv, encoding: 'utf8' });
      throw new Error(`network rm ${list.name}: ${rm.stderr}\nnsnet ps -a:\n${ps.stdout}${ps.stderr}`);
    }
    rmSync(work, { recursive: true, force: true });
  }, SLOW);

  test('nothing listening: the Node plugin runs the call; its ADD starts the resident process, which then serves, 0600 under umask 000', async () => {
    const v = await rt.exec(plugin(), 'VERSION', { cniVersion: '1.0.0' });
    expect(v.exitCode).toBe(0);
    expect(v.stderr).toMatch(/fallback: .*cni\.sock: No such file or directory/);
    expect(viaNode(v)).toBe(true);

    // The first ADD: the Node plugin, which starts `nsnet dns` (the embedded DNS server) for the pod.
    const first = await rt.add(list, pod(1)) as { ips: { address: string }[] };
    expect(first.ips[0]!.address).toBe('10.244.9.2/24');
    await eventually(() => existsSync(sock()), 20_000, 'cni.sock');
    expect(statSync(sock()).mode & 0o777).toBe(0o600);

    // From now on the resident process serves: no Node starts for the call.
    const log: PluginRun[] = [];
    const traced = new CniRuntime({ ...rt.o, log });
    const second = await traced.add(list, pod(2)) as { ips: { address: string }[] };
    expect(second.ips[0]!.address).toBe('10.244.9.3/24');
    await traced.del(list, pod(1));
    const chk = await traced.exec(plugin(), 'VERSION', { cniVersion: '0.4.0' });
    expect(JSON.parse(chk.stdout)).toMatchObject({ cniVersion: '0.4.0' });
    for (const r of [...log, chk]) {
      expect(served(r), r.stderr).toBe(String(dnsPid()));
      expect(viaNode(r), r.stderr).toBe(false);
    }
    // How long the DEL held the event loop the DNS server answers on (the daemon's trace says).
    const del = log.find((r) => r.command === 'DEL')!;
    const blocked = Number(/blocked at most ([\d.]+) ms/.exec(del.stderr)?.[1]);
    console.log(`DEL through the resident process: event loop blocked at most ${blocked} ms`);
    expect(blocked).toBeLessThan(1000);
    // The pod it made works: its address, and nsnet's record.
    const shown = execFileSync('ip', ['-n', `fwd2-${tag}`, '-4', '-o', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
    expect(shown).toContain('10.244.9.3/24');
  }, SLOW);

  test('a call for another data directory is "not mine": the plugin runs it in Node', async () => {
    const other = new CniRuntime({ ...rt.o, env: { ...env, NSNET_DATA_DIR: path.join(work, 'other-lib') } });
    const v = await other.exec(plugin(), 'VERSION', { cniVersion: '1.0.0' });
    expect(v.exitCode).toBe(0);
    expect(v.stderr).toContain('fallback: the resident nsnet process serves another data directory');
    expect(viaNode(v)).toBe(true);
    // The frame itself: status NOT_MINE, nothing run.
    const a = decodeAnswer(await raw(encodeRequest({ env: { CNI_COMMAND: 'VERSION', NSNET_DATA_DIR: '/elsewhere', NSNET_RUN_DIR: runDir() }, stdin: '{}' })));
    expect(a).toEqual({ status: NOT_MINE, stdout: '', stderr: '' });
    // Same data dir, other etc/netns: not mine either.
    const b = decodeAnswer(await raw(encodeRequest({ env: { ...env, CNI_COMMAND: 'VERSION', NSNET_ETC_NETNS: '/elsewhere' }, stdin: '{}' })));
    expect(b?.status).toBe(NOT_MINE);
  }, SLOW);

  test('malformed, oversized and truncated requests are dropped; the process serves on', async () => {
    const pid = dnsPid();
    const good = encodeRequest({ env: { ...env, CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"1.0.0"}' });
    // Not a frame; bytes after one; over the stdin cap; an env entry the plugin never forwards; a frame cut short.
    const after = Buffer.concat([good, Buffer.from('junk')]);
    const huge = Buffer.from(good.subarray(0, 16));
    huge.writeUInt32LE(64 << 20, 8);
    const nodeOptions = encodeRequest({ env: { ...env, CNI_COMMAND: 'VERSION', NODE_OPTIONS: '--require /tmp/evil.js' }, stdin: '{}' });
    for (const bad of [Buffer.from('GET / HTTP/1.0\r\n\r\n'), after, huge, nodeOptions, good.subarray(0, good.length - 3)]) {
      expect((await raw(bad, { end: true })).length).toBe(0);
    }
    // A client that sends half a frame and waits holds only its own connection.
    const stuck = Array.from({ length: 20 }, () => net.connect(sock()).on('error', () => {}).end(good.subarray(0, 20)));
    const ok = decodeAnswer(await raw(good));
    expect(ok?.status).toBe(0);
    expect(JSON.parse(ok!.stdout)).toMatchObject({ cniVersion: '1.0.0' });
    // Random bytes, many times.
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i * 37) % 200 }, (_, k) => (i * 131 + k * 7) & 0xff));
      if (i % 2) junk.write('NSC1', 0, 'latin1');
      await raw(junk, { end: true, waitMs: 2000 });
    }
    expect(alive(pid)).toBe(true);
    expect(dnsPid()).toBe(pid);
    const v = await rt.exec(plugin(), 'VERSION', { cniVersion: '1.0.0' });
    expect(served(v)).toBe(String(pid));
    for (const c of stuck) c.destroy();
  }, SLOW);

  test('the process gone mid-call: an ADD is not run again (error 11), a DEL falls back to Node', async () => {
    // A stand-in that takes the request and dies without answering, in a run dir of its own.
    const dead = path.join(work, 'dead-run');
    mkdirSync(dead, { recursive: true });
    const taken: Buffer[] = [];
    const server = net.createServer((c) => c.on('data', (d) => {
      taken.push(d);
      c.destroy();
    }));
    await new Promise<void>((r) => server.listen(path.join(dead, 'cni.sock'), r));
    try {
      const there = new CniRuntime({ ...rt.o, env: { ...env, NSNET_RUN_DIR: dead, NSNET_DATA_DIR: path.join(work, 'dead-lib') } });
      const add = await there.exec(plugin(), 'ADD', { ...list.plugins[0], cniVersion: '1.0.0', name: list.name }, pod(3));
      expect(add.exitCode).toBe(1);
      expect(add.json).toEqual({ cniVersion: '1.0.0', code: 11, msg: 'nsnet-cni: the resident nsnet process ended before answering; try again later' });
      expect(viaNode(add)).toBe(false);
      expect(taken.length).toBeGreaterThan(0);
      // Nothing was made for it by anyone: no veth in its namespace.
      expect(execFileSync('ip', ['-n', `fwd3-${tag}`, '-o', 'link'], { encoding: 'utf8' })).not.toContain('eth0');
      const del = await there.exec(plugin(), 'DEL', { ...list.plugins[0], cniVersion: '1.0.0', name: list.name }, pod(3));
      expect(del.stderr).toContain('fallback: the resident nsnet process ended before answering');
      expect(viaNode(del)).toBe(true);
      expect(del.exitCode).toBe(0);
    } finally {
      server.close();
    }

    // The real one killed: a stale socket refuses (ECONNREFUSED) and the plugin runs in Node; the supervisor brings
    // the server back, which serves again.
    const before = dnsPid();
    process.kill(before, 'SIGKILL');
    await eventually(() => !alive(before), 5000, 'the server to die');
    const meanwhile = await rt.exec(plugin(), 'DEL', { ...list.plugins[0], cniVersion: '1.0.0', name: list.name }, pod(4));
    expect(meanwhile.exitCode).toBe(0);
    expect(served(meanwhile) === undefined ? viaNode(meanwhile) : true).toBe(true);
    await eventually(() => {
      try {
        return dnsPid() !== before && alive(dnsPid()) && existsSync(sock());
      } catch {
        return false;
      }
    }, 30_000, 'the supervisor to restart the server');
    await eventually(async () => served(await rt.exec(plugin(), 'VERSION', { cniVersion: '1.0.0' })) === String(dnsPid()), 30_000, 'the new server to serve');
    const log: PluginRun[] = [];
    const again = new CniRuntime({ ...rt.o, log });
    const r = await again.add(list, pod(4)) as { ips: { address: string }[] };
    expect(r.ips[0]!.address).toBe('10.244.9.2/24'); // pod 1's, freed by its DEL
    await again.del(list, pod(4));
    await again.del(list, pod(2));
    for (const x of log) expect(served(x), x.stderr).toBe(String(dnsPid()));
  }, SLOW);

  test('only the allowed user may call (SO_PEERCRED): a listener for uid 4242 drops root\'s call, one for root answers it', async () => {
    const dirs = { dataDir: path.join(work, 'peer-lib'), runDir: path.join(work, 'peer-run') };
    mkdirSync(dirs.runDir, { recursive: true });
    const logged: string[] = [];
    const frame = encodeRequest({ env: { CNI_COMMAND: 'VERSION', NSNET_DATA_DIR: dirs.dataDir, NSNET_RUN_DIR: dirs.runDir }, stdin: '{"cniVersion":"1.0.0"}' });
    const send = (file: string) => new Promise<Buffer>((resolve) => {
      const got: Buffer[] = [];
      const c = net.connect(file).on('data', (d) => got.push(d)).on('close', () => resolve(Buffer.concat(got))).on('error', () => {});
      c.end(frame);
    });
    const other = await listenCni({ dirs, env: {}, dns: undefined, log: (l) => logged.push(l), uid: 4242 });
    try {
      expect((await send(other.path)).length).toBe(0);
      expect(logged).toEqual([`cni: refused a call from pid ${process.pid} (uid 0)`]);
    } finally {
      other.close();
    }
    expect(existsSync(other.path)).toBe(false);
    const mine = await listenCni({ dirs, env: {}, dns: undefined, log: (l) => logged.push(l) });
    try {
      expect(statSync(mine.path).mode & 0o777).toBe(0o600);
      const a = decodeAnswer(await send(mine.path));
      expect(a?.status, logged.join('\n')).toBe(0);
      expect(JSON.parse(a!.stdout)).toMatchObject({ cniVersion: '1.0.0' });
    } finally {
      mine.close();
    }
  });
});
