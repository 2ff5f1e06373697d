// The DNS server comes back by itself (issue 11, item 3): its supervisor
// restarts it when it is killed, with no nsnet command run; with the
// supervisor killed too, the next nsnet command of any kind restarts it; a
// clean stop stays stopped. And the control socket and the dns files are
// mode 0600 whatever the umask.
//
// Resolution is checked with `ip netns exec SANDBOX dig @127.0.0.11`, never
// `nsnet exec`: that is an nsnet command, and would revive the server itself.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { request } from '../../src/dns/control.js';
import { inProcessDns } from '../../src/dns/in-process.js';
import type { Context } from '../../src/docker/context.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsnet.js');

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
  // No server or supervisor outlives the test.
  expect(h.procs()).toEqual([]);
});

const run = (f: string) => path.join(h.root, 'run', f);
const dirs = () => ({ dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves `name` from inside sandbox `sb`, without any nsnet command. */
async function dig(sb: string, name: string): Promise<string[]> {
  const r = await execa('ip', ['netns', 'exec', sb, 'dig', '+short', '+time=1', '+tries=1', '@127.0.0.11', name], { reject: false });
  return r.stdout.split('\n').filter((l) => l && !l.startsWith(';'));
}

/** Polls until `sb` resolves `name` to `ip`; the time it took, in ms (Infinity past `limit`). */
async function untilResolves(sb: string, name: string, ip: string, since: number, limit = 5000): Promise<number> {
  while (Date.now() - since < limit) {
    if ((await dig(sb, name)).includes(ip)) return Date.now() - since;
    await sleep(10);
  }
  return Infinity;
}

const live = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};
const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const supervisors = () => h.procs().filter((p) => p.args.startsWith('nsnet dns (supervisor)'));
const standbys = () => h.procs().filter((p) => p.args.startsWith('nsnet dns (standby)'));

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (cond()) return true;
  return cond();
}

/** A user network with two sandboxes that resolve each other. */
async function twoSandboxes(): Promise<[string, string]> {
  const [a, b] = [h.sb('a'), h.sb('b')];
  await h.ok(['network', 'create', `n-${h.tag}`]);
  await h.ok(['create', '--name', a, '--network', `n-${h.tag}`]);
  await h.ok(['create', '--name', b, '--network', `n-${h.tag}`]);
  expect(await dig(a, b)).toEqual(['172.18.0.3']);
  return [a, b];
}

describeKernel('DNS server supervision (kernel)', () => {
  test('kill -9 of the server: its supervisor restarts it and names resolve again within 2 s, with no nsnet command', async () => {
    const [a, b] = await twoSandboxes();
    // What ps shows: the supervisor, and as its children the server and a standby.
    const sup = h.supervisorPid()!;
    const first = h.dnsPid()!;
    expect(await until(() => standbys().length === 1)).toBe(true);
    expect(h.procs().find((p) => p.pid === sup)?.args).toMatch(/^nsnet dns \(supervisor\) --root /);
    expect(h.procs().find((p) => p.pid === first)?.args).toMatch(/^nsnet dns --root /);
    expect(ppid(first)).toBe(sup);
    expect(ppid(standbys()[0]!.pid)).toBe(sup);

    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      // The standby started after the last crash is ready (back-to-back crashes start it later: 0, 250 ms, ...).
      expect(await until(() => standbys().length === 1, 10_000)).toBe(true);
      const victim = h.dnsPid()!;
      const t0 = Date.now();
      process.kill(victim, 'SIGKILL');
      const ms = await untilResolves(a, b, '172.18.0.3', t0);
      times.push(ms);
      expect(ms, `round ${round}`).toBeLessThan(2000);
      expect(await dig(b, a)).toEqual(['172.18.0.2']); // re-attached to both sandboxes
      expect(h.dnsPid()).not.toBe(victim);
      expect(ppid(h.dnsPid()!)).toBe(sup);
    }
    console.log(`kill -9 of the DNS server -> names resolve again after ${times.join(', ')} ms`);
    expect(h.supervisorPid()).toBe(sup);
    const log = readFileSync(run('dns.log'), 'utf8');
    expect(log).toMatch(/supervisor: server \(pid \d+\) killed by SIGKILL; restarting: a standby takes over, a new one starts \(restart 1 in a row\)/);
    expect(log).toMatch(/killed by SIGKILL; restarting: a standby takes over, a new one starts in 250 ms \(restart 2 in a row\)/);
    expect(log).toMatch(/standby: the server before died; taking over/);
  }, 60_000);

  test('supervisor and server both killed: names stay dead until the next nsnet command of any kind, which restores them before it returns', async () => {
    const [a, b] = await twoSandboxes();
    for (const cmd of [['ps'], ['inspect', a], ['network', 'ls'], ['exec', a, 'true'], ['rm', '-f', 'no-such-sandbox']]) {
      await h.stopDns('SIGKILL');
      expect(h.procs()).toEqual([]);
      await sleep(300);
      expect(await dig(a, b), `dead before ${cmd[0]}`).toEqual([]); // nothing brought it back
      const t0 = Date.now();
      await h.nsnet(cmd);
      const ms = Date.now() - t0;
      expect(await dig(a, b), `after nsnet ${cmd.join(' ')}`).toEqual(['172.18.0.3']); // at once: one try
      expect(await until(() => supervisors().length === 1)).toBe(true);
      console.log(`nsnet ${cmd.join(' ')} with the DNS server dead took ${ms} ms (restart included)`);
    }
  }, 90_000);

  test('the supervisor killed alone: the server keeps serving, the next command restores supervision, and a killed server is restarted again', async () => {
    const [a, b] = await twoSandboxes();
    const server = h.dnsPid()!;
    process.kill(h.supervisorPid()!, 'SIGKILL');
    // Its standby sees it gone and leaves; the server goes on serving.
    expect(await until(() => supervisors().length === 0 && standbys().length === 0)).toBe(true);
    expect(await dig(a, b)).toEqual(['172.18.0.3']);
    expect(live(server)).toBe(true);
    await h.ok(['network', 'ls']);
    // A new supervisor, whose two servers both wait for the running one's lock.
    expect(await until(() => supervisors().length === 1 && standbys().length === 2, 10_000)).toBe(true);
    expect(h.dnsPid()).toBe(server); // the same server: no restart for that
    const t0 = Date.now();
    process.kill(server, 'SIGKILL');
    const ms = await untilResolves(a, b, '172.18.0.3', t0);
    console.log(`kill -9 of a DNS server its supervisor did not start -> names resolve again after ${ms} ms`);
    expect(ms).toBeLessThan(2000);
    expect(ppid(h.dnsPid()!)).toBe(supervisors()[0]!.pid);
  }, 60_000);

  test('a clean stop stays stopped: the stop request, and SIGTERM to the supervisor, end both; no command revives them', async () => {
    const [a, b] = await twoSandboxes();
    // 1. {"op":"stop"} on the control socket.
    expect((await request(dirs(), { op: 'stop' })).ok).toBe(true);
    expect(await until(() => h.procs().length === 0)).toBe(true);
    expect(existsSync(run('dns.pid'))).toBe(false);
    expect(existsSync(run('dns-supervisor.pid'))).toBe(false);
    await h.ok(['ps']);
    await h.ok(['network', 'ls']);
    await sleep(1000);
    expect(h.procs()).toEqual([]);
    expect(await dig(a, b)).toEqual([]);
    expect(readFileSync(run('dns.log'), 'utf8')).toMatch(/supervisor: server \(pid \d+\) stopped cleanly; exiting/);
    expect(readFileSync(run('dns.log'), 'utf8')).not.toMatch(/taking over/); // the standby saw the clean stop
    // A change to a sandbox on a user network starts it again.
    const c = h.sb('c');
    await h.ok(['create', '--name', c, '--network', `n-${h.tag}`]);
    expect(await dig(a, c)).toEqual(['172.18.0.4']);
    // 2. SIGTERM to the supervisor: it stops the server, then itself.
    const sup = h.supervisorPid()!;
    expect(live(sup)).toBe(true);
    process.kill(sup, 'SIGTERM');
    expect(await until(() => h.procs().length === 0)).toBe(true);
    await h.ok(['inspect', a]);
    await sleep(1000);
    expect(h.procs()).toEqual([]);
    expect(await dig(a, b)).toEqual([]);
  }, 60_000);

  test('under umask 000 the control socket and the dns files are 0600, and another user cannot connect (or stop the server)', async () => {
    const net0 = `n-${h.tag}`;
    const a = h.sb('a');
    expect((await h.nsnet(['network', 'create', net0], { umask: '000' })).code).toBe(0);
    const r = await h.nsnet(['create', '--name', a, '--network', net0], { umask: '000' });
    expect(r.code, r.stderr).toBe(0);
    // The umask did reach nsnet: the run directory it made is open to all.
    expect(statSync(path.join(h.root, 'run')).mode & 0o777).toBe(0o777);
    for (const f of ['dns.sock', 'dns.pid', 'dns.lock', 'dns.log', 'dns-supervisor.pid', 'dns-supervisor.lock']) {
      expect((statSync(run(f)).mode & 0o777).toString(8), f).toBe('600');
    }
    // Let user nobody reach the directory (mkdtemp made the test root 0700), as it could /run/nsnet.
    chmodSync(h.root, 0o755);
    const asNobody = (sock: string) => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '-e',
      `require('net').connect(process.argv[1]).on('connect', function () { this.end('{"op":"stop"}\\n'); console.log('connected') })
        .on('error', (e) => console.log(e.code))`, sock], { reject: false });
    // The control: a socket open to all in the same directory is reachable by nobody.
    const probe = net.createServer((c) => c.end());
    await new Promise<void>((res) => probe.listen(run('probe.sock'), res));
    chmodSync(run('probe.sock'), 0o666);
    try {
      expect((await asNobody(run('probe.sock'))).stdout.trim()).toBe('connected');
    } finally {
      probe.close();
    }
    expect((await asNobody(run('dns.sock'))).stdout.trim()).toBe('EACCES');
    await sleep(200);
    expect(live(h.dnsPid())).toBe(true);
    expect(await dig(a, a)).toEqual(['172.18.0.2']);
  }, 60_000);

  test('in-process: a stop request stops the server, not the process that runs it', async () => {
    const ctx: Context = { host: h.ns, dirs: dirs(), etcNetns: h.etc, warn: () => {} };
    const local = await inProcessDns(ctx);
    expect(h.dnsPid()).toBe(process.pid);
    expect(readFileSync(run('dns.lock'), 'utf8')).toBe(`in-process ${process.pid}\n`);
    expect((await request(dirs(), { op: 'stop' })).ok).toBe(true);
    await local.server.stopRequested;
    expect(await until(() => !existsSync(run('dns.pid')))).toBe(true);
    expect(await until(() => ctx.dns === undefined)).toBe(true);
    await local.stop(); // once more: nothing left to do
    // This process is alive (this line runs), and the CLI starts no server for a cleanly stopped one.
    await h.ok(['ps']);
    expect(h.procs()).toEqual([]);
  });

  test('in-process: a server that cannot start rejects, and the process that embeds it carries on (issue 12)', async () => {
    const exit = vi.spyOn(process, 'exit');
    const lost: unknown[] = [];
    const onLost = (e: unknown) => lost.push(e);
    process.on('unhandledRejection', onLost);
    try {
      const ctx: Context = { host: h.ns, dirs: dirs(), etcNetns: h.etc, warn: () => {} };
      const first = await inProcessDns(ctx);
      // Another server in this same process: the lock is held (a flock per open file), so it can't start.
      const other: Context = { ...ctx };
      delete other.dns;
      await expect(inProcessDns(other)).rejects.toMatchObject({ code: 'EBUSY', message: expect.stringMatching(/another nsnet DNS server is running \(lock .*dns\.lock\)/) });
      expect(other.dns).toBeUndefined();
      // The failed start took nothing from the running server: its pid file, lock and socket.
      expect(h.dnsPid()).toBe(process.pid);
      expect((await request(dirs(), { op: 'ping' })).ok).toBe(true);
      await first.stop();

      // A damaged run directory (something else where the control socket goes): the start fails
      // after taking the lock, and undoes what it did: lock released, no dns.pid left behind.
      mkdirSync(run('dns.sock/x'), { recursive: true });
      await expect(inProcessDns(ctx)).rejects.toThrow();
      expect(existsSync(run('dns.pid'))).toBe(false);
      expect(ctx.dns).toBeUndefined();
      rmdirSync(run('dns.sock/x'));
      rmdirSync(run('dns.sock'));
      // So a later start succeeds (the lock is free again).
      const again = await inProcessDns(ctx);
      expect((await request(dirs(), { op: 'ping' })).ok).toBe(true);
      await again.stop();

      await sleep(100); // a stray rejection would surface by now
      expect(lost).toEqual([]);
      expect(exit).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', onLost);
      exit.mockRestore();
    }
  });

  test("under systemd (NSNET_DNS_MANAGER=systemd): the unit's server takes over from the on-demand one, and commands start no supervisor for it", async () => {
    const [a, b] = await twoSandboxes();
    // What the unit runs (its ExecStart, with its Environment=).
    const unit = execa('nsenter', [`--net=/run/netns/${h.name}`, '--', 'node', BIN, '--root', h.root, 'dns'],
      { env: { NSNET_ETC_NETNS: h.etc, NSNET_RESOLV_CONF: h.resolvConf, NSNET_DNS_MANAGER: 'systemd' }, reject: false });
    try {
      expect(await until(() => readFileSync(run('dns.lock'), 'utf8').startsWith('systemd '), 10_000)).toBe(true);
      expect(await until(() => supervisors().length === 0 && standbys().length === 0)).toBe(true);
      expect(await untilResolves(a, b, '172.18.0.3', Date.now())).toBeLessThan(5000);
      await h.ok(['ps']);
      await h.ok(['network', 'ls']);
      await sleep(500);
      expect(supervisors()).toEqual([]);
      expect(h.procs().map((p) => p.pid)).toEqual([unit.pid]);
    } finally {
      unit.kill('SIGTERM');
    }
    expect((await unit).exitCode).toBe(0);
    expect(existsSync(run('dns.pid'))).toBe(false);
  }, 60_000);
});
