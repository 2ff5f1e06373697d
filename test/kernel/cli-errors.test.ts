// Bad input: one clear error line, a non-zero exit code, and nothing
// half-made in the kernel. Plus a fault injected halfway through a sandbox's
// setup, through the library API.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { sandboxCreate } from '../../src/docker/sandboxes.js';
import { syncDns } from '../../src/dns/control.js';
import type { Context } from '../../src/docker/context.js';
import { describeKernel, ipJson, netnsNames, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsnet.js');
let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

/** Everything nsnet could have made in the host namespace, for before/after comparisons. */
async function kernelState() {
  const links = ((await ipJson(['link'], h.name)) as any[]).map((l) => l.ifname).sort();
  const nft = (await h.run(['nft', 'list', 'ruleset'])).stdout;
  return { links, nft, netns: netnsNames().filter((n) => n.endsWith(h.tag)).sort() };
}

async function expectError(args: string[], code: number, message: RegExp) {
  const r = await h.nsnet(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^Error: /);
  expect(lines[0]).toMatch(message);
}

describeKernel('bad input is refused cleanly (kernel)', () => {
  test('networks: invalid and overlapping subnets, bad gateways and ranges, duplicate and unusable names', async () => {
    const net = `n-${h.tag}`;
    await h.ok(['network', 'create', '--subnet', '10.10.0.0/16', net]);
    const before = await kernelState();
    await expectError(['network', 'create', '--subnet', '10.10.0.0/33', 'x1'], 1, /invalid subnet 10\.10\.0\.0\/33/);
    await expectError(['network', 'create', '--subnet', 'banana', 'x1'], 1, /invalid subnet banana/);
    await expectError(['network', 'create', '--subnet', '10.10.5.0/24', 'x1'], 1, /Pool overlaps with other one on this address space/);
    await expectError(['network', 'create', '--subnet', '10.20.0.0/16', '--gateway', '10.21.0.1', 'x1'], 1, /invalid gateway 10\.21\.0\.1/);
    await expectError(['network', 'create', '--subnet', '10.20.0.0/16', '--ip-range', '10.30.0.0/24', 'x1'], 1, /invalid ip-range 10\.30\.0\.0\/24/);
    await expectError(['network', 'create', net], 1, new RegExp(`network with name ${net} already exists`));
    await expectError(['network', 'create', '-o', 'com.docker.network.bridge.name=much-too-long-name', 'x1'], 1, /15/);
    await expectError(['network', 'create', 'bad name!'], 1, /invalid network name/);
    await expectError(['network', 'create', '-d', 'overlay', 'x1'], 1, /overlay/);
    expect(await kernelState()).toEqual(before);
    // Sorted by name, as Docker's network ls.
    expect((await h.ok(['network', 'ls', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Name)).toEqual(['bridge', 'host', net, 'none']);
  });

  test('sandboxes: addresses outside the subnet or taken, unknown networks and sandboxes, duplicate names, networks in use', async () => {
    const net = `n-${h.tag}`;
    const web = h.sb('web');
    await h.ok(['network', 'create', '--subnet', '10.10.0.0/24', net]);
    await h.ok(['create', '--name', web, '--network', net, '--ip', '10.10.0.5']);
    const before = await kernelState();
    await expectError(['create', '--name', h.sb('a'), '--network', net, '--ip', '10.99.0.5'], 1, /not in subnet 10\.10\.0\.0\/24/);
    await expectError(['create', '--name', h.sb('a'), '--network', net, '--ip', '10.10.0.5'], 1, /already in use/);
    await expectError(['create', '--name', h.sb('a'), '--ip', '172.17.0.9'], 1, /user defined networks only/);
    await expectError(['create', '--name', h.sb('a'), '--network', 'nope'], 1, /network nope not found/);
    await expectError(['create', '--name', web, '--network', net], 1, /The sandbox name "\/web-.*" is already in use/);
    await expectError(['create', '--name', h.sb('a'), '-p', '99999:80'], 125, /invalid port specification/);
    await expectError(['rm', 'nope'], 1, /No such sandbox: nope/);
    await expectError(['exec', 'nope', 'true'], 1, /No such sandbox: nope/);
    await expectError(['network', 'rm', net], 1, /has active endpoints/);
    await expectError(['network', 'rm', 'bridge'], 1, /pre-defined network and cannot be removed/);
    await expectError(['network', 'connect', 'nope', web], 1, /network nope not found/);
    await expectError(['run', '--name', h.sb('a'), '--', 'no-such-command-xyz'], 127, /executable file not found/);
    expect(await kernelState()).toEqual(before);
    // A wrong number of arguments says how to get help and exits 1 (a plain error in Docker's CLI).
    const u = await h.nsnet(['network', 'create']);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('"nsnet network create" requires exactly 1 argument.');
  });

  test('rm and network rm of several, one missing: the others go and are printed, then the error (as Docker)', async () => {
    const [a, b] = [h.sb('a'), h.sb('b')];
    await h.ok(['create', '--name', a, '--network', 'none']);
    await h.ok(['create', '--name', b, '--network', 'none']);
    const r = await h.nsnet(['rm', a, `missing-${h.tag}`, b]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([a, b]);
    expect(r.stderr).toMatch(/No such sandbox: missing-/);
    expect(await h.ok(['ps', '-aq'])).toBe('');
    const n = `n-${h.tag}`;
    await h.ok(['network', 'create', '--subnet', '10.11.0.0/24', n]);
    const rn = await h.nsnet(['network', 'rm', `missing-${h.tag}`, n]);
    expect(rn.code).toBe(1);
    expect(rn.stdout.trim()).toBe(n);
    expect(rn.stderr).toMatch(/network missing-\S+ not found/);
  });

  test('port: the published ports as docker port prints them', async () => {
    const web = h.sb('web');
    await h.ok(['create', '--name', web, '-p', '8080:80', '-p', '127.0.0.1:5353:53/udp']);
    expect(await h.ok(['port', web])).toBe('53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080');
    expect(await h.ok(['port', web, '80'])).toBe('0.0.0.0:8080');
    await expectError(['port', web, '81/tcp'], 1, new RegExp(`No public port '81/tcp' published for ${web}`));
    await expectError(['port', `missing-${h.tag}`], 1, /No such sandbox/);
  });

  test('exit codes: Docker\'s, case by case (1 for a command\'s error, 125 flags/run/create values, 126, 127, the command\'s own)', async () => {
    const web = h.sb('web');
    const net = `n-${h.tag}`;
    await h.ok(['network', 'create', '--subnet', '10.12.0.0/24', net]);
    await h.ok(['run', '-d', '--name', web, '--', 'sleep', '60']);
    // A file that exists but is not executable.
    const script = path.join(h.root, 'not-exec.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    // [case, argv, Docker's exit code, stdout (when it matters), stderr pattern]
    const cases: Array<[string, string[], number, string | undefined, RegExp]> = [
      ['unknown flag', ['--no-such-flag', 'ps'], 125, undefined, /unknown flag: --no-such-flag/],
      ['bad flag value', ['stop', '-t', 'soon', web], 125, undefined, /invalid argument "soon"/],
      ['missing arguments', ['rm'], 1, undefined, /requires at least 1 argument/],
      ['unknown command', ['no-such-command'], 1, undefined, /unknown command/],
      ['run, bad network', ['run', '--rm', '--network', 'no-such-net', '--', 'true'], 125, undefined, /network no-such-net not found/],
      ['run, missing binary', ['run', '--rm', '--', 'no-such-command-xyz'], 127, undefined, /executable file not found/],
      ['run, not executable', ['run', '--rm', '--', script], 126, undefined, /EACCES/],
      ['run, the command\'s code', ['run', '--rm', '--', 'sh', '-c', 'exit 3'], 3, undefined, /^$/],
      ['exec, the command\'s code', ['exec', web, 'sh', '-c', 'exit 7'], 7, undefined, /^$/],
      ['exec, missing binary', ['exec', web, 'no-such-command-xyz'], 127, undefined, /executable file not found/],
      ['exec, not executable', ['exec', web, script], 126, undefined, /EACCES/],
      ['exec, a directory', ['exec', web, h.root], 126, undefined, /EACCES/],
      ['exec, no such sandbox', ['exec', 'nosuch', 'true'], 1, undefined, /No such sandbox: nosuch/],
      ['create, bad flag value', ['create', '--name', h.sb('p'), '-p', '99999:80'], 125, undefined, /invalid port specification/],
      ['create, bad MAC', ['create', '--name', h.sb('m'), '--mac-address', 'nope'], 125, undefined, /not a MAC address/],
      ['create, no such network', ['create', '--name', h.sb('n'), '--network', 'no-such-net'], 1, undefined, /network no-such-net not found/],
      ['rm nosuch', ['rm', 'nosuch'], 1, '', /No such sandbox: nosuch/],
      ['network rm nosuch', ['network', 'rm', 'nosuch'], 1, '', /network nosuch not found/],
      ['inspect nosuch', ['inspect', 'nosuch'], 1, '[]', /^Error: No such object: nosuch$/],
      ['network inspect nosuch', ['network', 'inspect', 'nosuch'], 1, '[]', /network nosuch not found/],
      ['network create, bad subnet', ['network', 'create', '--subnet', '10.13.0.0/33', `x-${h.tag}`], 1, '', /invalid subnet/],
      ['network connect, no such network', ['network', 'connect', 'nosuch', web], 1, '', /network nosuch not found/],
      ['stop nosuch', ['stop', 'nosuch'], 1, '', /No such sandbox: nosuch/],
      ['port nosuch', ['port', 'nosuch'], 1, '', /No such sandbox: nosuch/],
      ['compose, bad flag', ['compose', 'up', '--no-such-flag'], 1, undefined, /unknown flag/],
    ];
    const wrong: string[] = [];
    for (const [what, argv, code, stdout, stderr] of cases) {
      const r = await h.nsnet(argv);
      const ok = r.code === code && (stdout === undefined || r.stdout.trim() === stdout) && stderr.test(r.stderr.trim());
      if (!ok) wrong.push(`${what}: ${argv.join(' ')} -> exit ${r.code} (Docker: ${code}), stdout ${JSON.stringify(r.stdout.trim())}, stderr ${JSON.stringify(r.stderr.trim())}`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
    // The kind shows with --debug.
    const d = await h.nsnet(['--debug', 'network', 'rm', 'nope']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^Error: network nope not found\n {2}kind: NotFound$/m);
    // inspect: Docker prints what it found, then the error, and exits 1.
    const j = await h.nsnet(['inspect', web, 'missing-xyz']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).map((o: { Name: string }) => o.Name)).toEqual([`/${web}`]);
    expect(j.stderr.trim()).toBe('Error: No such object: missing-xyz');
  });

  test('a user without root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) is told so; --help and --version still work', async () => {
    const nobody = (args: string[]) => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--',
      'node', BIN, '--root', h.root, ...args], { reject: false, env: { NSNET_ETC_NETNS: h.etc }, stdin: 'ignore' });
    for (const args of [['ps'], ['network', 'ls'], ['network', 'create', 'x'], ['run', '--rm', '--', 'true'], ['inspect', 'x'], ['dns']]) {
      const r = await nobody(args);
      // Docker: the daemon unreachable is a plain error (1); run makes any failure before its command 125.
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(args[0] === 'run' ? 125 : 1);
      expect(r.stderr).toBe('Error: nsnet needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN): this process lacks CAP_NET_ADMIN and CAP_SYS_ADMIN');
    }
    const help = await nobody(['--help']);
    expect([help.exitCode, help.stdout]).toEqual([0, expect.stringContaining('Usage:')]);
    const netHelp = await nobody(['network', 'create', '--help']);
    expect([netHelp.exitCode, netHelp.stdout]).toEqual([0, expect.stringContaining('Usage:')]);
    const version = await nobody(['--version']);
    expect([version.exitCode, version.stdout]).toEqual([0, expect.stringMatching(/^nsnet version /)]);
    expect((await nobody(['version'])).exitCode).toBe(0);
    // Usage errors are still usage errors.
    expect((await nobody(['--no-such-flag'])).stderr).toMatch(/unknown flag/);
    // With only one of the two capabilities, the message names the missing one.
    const half = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+net_admin', '--ambient-caps=+net_admin', '--',
      'node', BIN, '--root', h.root, 'ps'], { reject: false, stdin: 'ignore' });
    expect(half.stderr).toMatch(/lacks CAP_SYS_ADMIN$/);
  });

  test('a fault injected in the middle of sandbox setup leaves no trace', async () => {
    // Make the network and its firewall first, so only the sandbox's own objects are in play.
    await h.ok(['network', 'create', `n-${h.tag}`]);
    await h.ok(['create', '--name', h.sb('warm'), '--network', `n-${h.tag}`, '-p', '18000:80']);
    const before = await kernelState();
    const sb = h.sb('doomed');
    for (const failAt of [/^creating veth/, /^adding .* and bringing it up/, /^adding default route/, /^publishing/, /^writing/]) {
      const dirs = { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') };
      const ctx: Context = {
        host: h.ns,
        dirs,
        etcNetns: h.etc,
        warn: () => {},
        // The DNS server (started by the CLI above) attaches while the steps run: a fault must let it go too.
        dns: { sync: (start, ids) => syncDns(dirs, { start, argv: [BIN, '--root', h.root, 'dns'], env: { ...process.env, NSNET_RESOLV_CONF: h.resolvConf }, ...(ids && { ids }) }) },
        observe: (step) => {
          if (failAt.test(step.title)) throw new Error(`injected fault at: ${step.title}`);
        },
      };
      await expect(sandboxCreate(ctx, { name: sb, network: `n-${h.tag}`, publish: ['18001:80'] })).rejects.toThrow(/injected fault/);
      await new Promise((r) => setTimeout(r, 100)); // netns teardown is asynchronous in the kernel
      expect(await kernelState(), `fault at ${failAt}`).toEqual(before);
      expect(existsSync(path.join(h.etc, sb))).toBe(false);
      expect((await h.ok(['ps', '-a', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Names)).toEqual([`warm-${h.tag}`]);
    }
    // And the same request, without the fault, works: nothing stale is in its way.
    await h.ok(['create', '--name', sb, '--network', `n-${h.tag}`, '-p', '18001:80']);
  });
});
void mkdtempSync;
void tmpdir;
