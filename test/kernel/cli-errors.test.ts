// Bad input: one clear error line, a non-zero exit code, and nothing
// half-made in the kernel. Plus a fault injected halfway through a sandbox's
// setup, through the library API.
import { existsSync, mkdtempSync } from 'node:fs';
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
    await expectError(['network', 'create', '--subnet', '10.10.0.0/33', 'x1'], 2, /invalid subnet 10\.10\.0\.0\/33/);
    await expectError(['network', 'create', '--subnet', 'banana', 'x1'], 2, /invalid subnet banana/);
    await expectError(['network', 'create', '--subnet', '10.10.5.0/24', 'x1'], 1, /Pool overlaps with other one on this address space/);
    await expectError(['network', 'create', '--subnet', '10.20.0.0/16', '--gateway', '10.21.0.1', 'x1'], 2, /invalid gateway 10\.21\.0\.1/);
    await expectError(['network', 'create', '--subnet', '10.20.0.0/16', '--ip-range', '10.30.0.0/24', 'x1'], 2, /invalid ip-range 10\.30\.0\.0\/24/);
    await expectError(['network', 'create', net], 1, new RegExp(`network with name ${net} already exists`));
    await expectError(['network', 'create', '-o', 'com.docker.network.bridge.name=much-too-long-name', 'x1'], 2, /15/);
    await expectError(['network', 'create', 'bad name!'], 2, /invalid network name/);
    await expectError(['network', 'create', '-d', 'overlay', 'x1'], 2, /overlay/);
    expect(await kernelState()).toEqual(before);
    expect((await h.ok(['network', 'ls', '--format', 'json'])).split('\n').map((l) => JSON.parse(l).Name)).toEqual(['bridge', 'host', 'none', net]);
  });

  test('sandboxes: addresses outside the subnet or taken, unknown networks and sandboxes, duplicate names, networks in use', async () => {
    const net = `n-${h.tag}`;
    const web = h.sb('web');
    await h.ok(['network', 'create', '--subnet', '10.10.0.0/24', net]);
    await h.ok(['create', '--name', web, '--network', net, '--ip', '10.10.0.5']);
    const before = await kernelState();
    await expectError(['create', '--name', h.sb('a'), '--network', net, '--ip', '10.99.0.5'], 2, /not in subnet 10\.10\.0\.0\/24/);
    await expectError(['create', '--name', h.sb('a'), '--network', net, '--ip', '10.10.0.5'], 2, /already in use/);
    await expectError(['create', '--name', h.sb('a'), '--ip', '172.17.0.9'], 2, /user defined networks only/);
    await expectError(['create', '--name', h.sb('a'), '--network', 'nope'], 1, /network nope not found/);
    await expectError(['create', '--name', web, '--network', net], 1, /The sandbox name "\/web-.*" is already in use/);
    await expectError(['create', '--name', h.sb('a'), '-p', '99999:80'], 2, /invalid port specification/);
    await expectError(['rm', 'nope'], 1, /No such sandbox: nope/);
    await expectError(['exec', 'nope', 'true'], 1, /No such sandbox: nope/);
    await expectError(['network', 'rm', net], 1, /has active endpoints/);
    await expectError(['network', 'rm', 'bridge'], 1, /pre-defined network and cannot be removed/);
    await expectError(['network', 'connect', 'nope', web], 1, /network nope not found/);
    await expectError(['run', '--name', h.sb('a'), '--', 'no-such-command-xyz'], 127, /executable file not found/);
    expect(await kernelState()).toEqual(before);
    // Usage errors exit 2 and say how to get help.
    const u = await h.nsnet(['network', 'create']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('"nsnet network create" requires exactly 1 argument.');
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
