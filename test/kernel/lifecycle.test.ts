// start/stop/restart/kill/wait/logs on real processes in sandboxes, as
// Docker's: the exit status a detached command's supervisor writes, the log
// file run -d and start append to, the network side kept across a stop.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { alive, describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy (or fails the test after `ms`). */
async function until<T>(what: string, fn: () => Promise<T> | T, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const record = (name: string) => JSON.parse(readFileSync(path.join(h.root, 'run', 'sandboxes', `${name}.json`), 'utf8'));
const AGO = '(Less than a second|1 second|\\d+ seconds) ago';

describeKernel('start, stop, restart, kill, wait, logs', () => {
  test('stop keeps the network; start again: a new pid, the same address and name; the log goes on', async () => {
    const net = `lc-${h.tag}`;
    const [web, cli] = [h.sb('web'), h.sb('cli')];
    await h.ok(['network', 'create', '--subnet', '10.84.0.0/24', net]);
    // --pid host: the command is not PID 1 of a namespace of its own, so SIGTERM's default action kills it (143).
    await h.ok(['run', '-d', '--name', web, '--network', net, '--pid', 'host', '--', 'sh', '-c', 'echo hi; exec sleep 100']);
    await h.ok(['run', '-d', '--name', cli, '--network', net, '--', 'sleep', '100']);
    await until('hi in the log', async () => (await h.ok(['logs', web])) === 'hi');
    const addr = await h.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, web]);
    expect(addr).toMatch(/^10\.84\.0\.\d+$/);
    const pid1 = Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]));
    expect(alive(pid1)).toBe(true);

    expect(await h.ok(['stop', web])).toBe(web);
    expect(alive(pid1)).toBe(false);
    expect(await h.ok(['ps', '-a', '--filter', `name=^${web}$`, '--format', '{{.Status}}'])).toMatch(new RegExp(`^Exited \\(143\\) ${AGO}$`));
    expect(await h.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', web])).toBe('exited 143 false');
    expect(await h.ok(['wait', web])).toBe('143');
    // The network side stays: the namespace, its address, its name in the embedded DNS.
    expect((await h.run(['ip', 'netns', 'exec', web, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout).toContain(`${addr}/24`);
    expect(await h.ok(['stop', web])).toBe(web); // not running: nothing to do, as Docker

    expect(await h.ok(['start', web])).toBe(web);
    const pid2 = Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]));
    expect(pid2).not.toBe(pid1);
    expect(alive(pid2)).toBe(true);
    expect(await h.ok(['ps', '--filter', `name=^${web}$`, '--format', '{{.Status}}'])).toMatch(/^Up /);
    expect(await h.ok(['start', web])).toBe(web); // running already: nothing to do
    expect(Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]))).toBe(pid2);
    expect(await h.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, web])).toBe(addr);
    expect((await h.ok(['exec', cli, 'getent', 'hosts', web])).split(/\s+/)[0]).toBe(addr);
    await until('hi twice', async () => (await h.ok(['logs', web])) === 'hi\nhi');
    expect(await h.ok(['logs', '--tail', '1', web])).toBe('hi');

    // restart: stop, then start (a new pid again).
    expect(await h.ok(['restart', '-t', '1', web])).toBe(web);
    const pid3 = Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]));
    expect(pid3).not.toBe(pid2);
    expect(alive(pid2)).toBe(false);
    expect(alive(pid3)).toBe(true);
  }, 180_000);

  test('PID 1 ignores SIGTERM: stop kills it after -t (137), as under Docker; kill -s reaches a trap', async () => {
    const [plain, trap] = [h.sb('plain'), h.sb('trap')];
    await h.ok(['run', '-d', '--name', plain, '--network', 'none', '--', 'sh', '-c', 'sleep 100']);
    const t0 = Date.now();
    expect(await h.ok(['stop', '-t', '1', plain])).toBe(plain);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(await h.ok(['wait', plain])).toBe('137');

    await h.ok(['run', '-d', '--name', trap, '--network', 'none', '--', 'sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done']);
    await until('ready', async () => (await h.ok(['logs', trap])).includes('ready'));
    expect(await h.ok(['kill', '-s', 'USR1', trap])).toBe(trap);
    await until('the trap ran', async () => (await h.ok(['logs', trap])).includes('got-usr1'));
    expect(await h.ok(['ps', '--filter', `name=^${trap}$`, '--format', '{{.State}}'])).toBe('running');
    expect(await h.ok(['kill', trap])).toBe(trap); // KILL by default
    expect(await h.ok(['wait', trap])).toBe('137');
    const again = await h.nsnet(['kill', trap]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^Error: Cannot kill sandbox: ${trap}: Sandbox [0-9a-f]{64} is not running`));
    const bad = await h.nsnet(['kill', '-s', 'NOPE', trap]);
    expect(bad.code).toBe(1); // Docker: "Error response from daemon: Invalid signal: NOPE", 1
    expect(bad.stderr).toContain('Invalid signal: NOPE');
  }, 180_000);

  test('wait prints exit codes; several sandboxes: the ones done, then the error (exit 1); rm -f takes the files', async () => {
    const [three, zero, long] = [h.sb('three'), h.sb('zero'), h.sb('long')];
    await h.ok(['run', '-d', '--name', three, '--network', 'none', '--', 'sh', '-c', 'echo bye; exit 3']);
    await h.ok(['run', '-d', '--name', zero, '--network', 'none', '--', 'true']);
    await h.ok(['run', '-d', '--name', long, '--network', 'none', '--', 'sleep', '100']);
    expect(await h.ok(['wait', three, zero])).toBe('3\n0');
    expect(await h.ok(['ps', '-a', '--filter', `name=^${three}$`, '--format', '{{.Status}}'])).toMatch(new RegExp(`^Exited \\(3\\) ${AGO}$`));

    const r = await h.nsnet(['stop', '-t', '0', zero, `missing-${h.tag}`, long]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe(`${zero}\n${long}`);
    expect(r.stderr.trim()).toBe(`Error: No such sandbox: missing-${h.tag}`);
    expect(await h.ok(['wait', long])).toBe('137');

    const id = await h.ok(['inspect', '-f', '{{.Id}}', three]);
    const files = [path.join(h.root, 'run', 'logs', `${id}.log`), path.join(h.root, 'run', 'exits', id)];
    expect(files.map((f) => existsSync(f))).toEqual([true, true]);
    expect(readFileSync(files[0]!, 'utf8')).toBe('bye\n');
    const plan = await h.ok(['rm', '--dry-run', three]);
    expect(plan).toContain(`rm -f ${files[0]} ${files[1]}`);
    expect(await h.ok(['rm', '-f', three])).toBe(three);
    expect(files.map((f) => existsSync(f))).toEqual([false, false]);
  }, 180_000);

  test('logs -f ends when the command ends; start -a prints its output and exits with its code', async () => {
    const [talk, job, bare] = [h.sb('talk'), h.sb('job'), h.sb('bare')];
    await h.ok(['run', '-d', '--name', talk, '--network', 'none', '--', 'sh', '-c', 'echo one; sleep 1; echo two']);
    const t0 = Date.now();
    const f = await h.nsnet(['logs', '-f', talk], { timeout: 15_000 });
    expect(f.code).toBe(0);
    expect(f.stdout).toBe('one\ntwo'); // execa drops the last newline
    expect(Date.now() - t0).toBeLessThan(10_000);

    await h.ok(['create', '--name', job, '--network', 'none', '--', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    const a = await h.nsnet(['start', '-a', job]);
    expect(a.stdout).toBe('out\nerr');
    expect(a.code).toBe(5);
    expect(await h.ok(['wait', job])).toBe('5');

    await h.ok(['create', '--name', bare, '--network', 'none']);
    const s = await h.nsnet(['start', bare]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain(`sandbox ${bare} has no command to start; create it with -- COMMAND`);
  }, 180_000);

  test('a supervisor killed with SIGKILL: the command runs on, and once it is gone its status reads Exited (255)', async () => {
    const orphan = h.sb('orphan');
    await h.ok(['run', '-d', '--name', orphan, '--network', 'none', '--', 'sleep', '100']);
    const rec = record(orphan);
    expect(rec.supervisor.pid).toBeGreaterThan(0);
    // The supervisor stays in nsnet's own (the test host's) network namespace, holds no fd, and ignores SIGHUP.
    expect(readlinkSync(`/proc/${rec.supervisor.pid}/ns/net`)).toBe(`net:[${statSync(`/run/netns/${h.name}`).ino}]`);
    expect(readlinkSync(`/proc/${rec.supervisor.pid}/ns/net`)).not.toBe(readlinkSync(`/proc/${rec.pid}/ns/net`));
    expect(readlinkSync(`/proc/${rec.supervisor.pid}/ns/mnt`)).not.toBe(readlinkSync(`/proc/${rec.pid}/ns/mnt`));
    expect(readdirSync(`/proc/${rec.supervisor.pid}/fd`)).toEqual([]);
    process.kill(rec.supervisor.pid, 'SIGHUP');
    await sleep(100);
    expect(alive(rec.supervisor.pid)).toBe(true);
    process.kill(rec.supervisor.pid, 'SIGKILL');
    await until('the supervisor gone', () => !alive(rec.supervisor.pid));
    expect(alive(rec.pid)).toBe(true);
    expect(await h.ok(['ps', '--filter', `name=^${orphan}$`, '--format', '{{.State}}'])).toBe('running');
    expect(await h.ok(['kill', orphan])).toBe(orphan);
    expect(await h.ok(['wait', orphan])).toBe('255');
    expect(await h.ok(['ps', '-a', '--filter', `name=^${orphan}$`, '--format', '{{.Status}}'])).toMatch(/^Exited \(255\) /);
  }, 180_000);

  test('--dry-run of stop, kill and start prints the plan and changes nothing', async () => {
    const web = h.sb('dry');
    await h.ok(['run', '-d', '--name', web, '--network', 'none', '--', 'sleep', '100']);
    const pid = Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]));
    expect((await h.ok(['stop', '--dry-run', web])).split('\n')).toEqual([
      `# stopping the main process of sandbox ${web} (SIGKILL after 10s)`,
      `kill -TERM ${pid}`,
      `timeout 10 tail --pid=${pid} -f /dev/null || kill -KILL ${pid}`,
    ]);
    expect(await h.ok(['kill', '--dry-run', '-s', 'sigterm', web])).toBe(`# sending SIGTERM to the main process of sandbox ${web}\nkill -TERM ${pid}`);
    expect(alive(pid)).toBe(true);
    const restart = await h.ok(['restart', '--dry-run', '-t', '3', web]);
    expect(restart).toContain(`kill -TERM ${pid}`);
    expect(restart).toContain('# starting sleep 100');
    expect(Number(await h.ok(['inspect', '-f', '{{.State.Pid}}', web]))).toBe(pid);
  }, 180_000);
});
