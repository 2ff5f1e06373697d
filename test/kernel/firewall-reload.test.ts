// A firewall reload never leaves nsnet's networks open for long, and never
// wedges nsnet: after `nft flush ruleset` (what firewall-cmd --reload,
// iptables-restore or a distribution's nftables service do) or `nft delete
// table ip nsnet`, the DNS server's watcher puts the tables back within a
// second, with no nsnet command run; without the watcher, the next nsnet
// command of any kind does. Checked with real packets against a fake WAN.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeKernel, eventually, ping } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, wanHost, type Wan } from '../helpers/wan.js';
import { WHO } from '../helpers/who.js';

let h: TestHost;
let wan: Wan;
let stop: () => Promise<void>;

beforeEach(async () => {
  ({ h, wan, stop } = await wanHost({ who: true }));
});
afterEach(() => stop());

// Every check below runs without nsnet (ip netns exec, curl, ping): an nsnet command would repair.
async function curl(ns: string | undefined, url: string, tries = 20): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const cmd = ['curl', '-s', '-m', '1', url];
    const r = await execa('ip', ['netns', 'exec', ns ?? h.name, ...cmd], { reject: false });
    if (r.exitCode === 0) return String(r.stdout);
    await new Promise((res) => setTimeout(res, 50));
  }
  return '<unreachable>';
}

interface World {
  web: string; webIp: string; // network A, publishes 8080
  b: string; bIp: string; // network B
  inner: string; // --internal network I
}

async function build(): Promise<World> {
  const [web, b, inner] = [h.sb('web'), h.sb('b'), h.sb('in')];
  await h.ok(['network', 'create', `a-${h.tag}`]);
  await h.ok(['network', 'create', `b-${h.tag}`]);
  await h.ok(['network', 'create', '--internal', `i-${h.tag}`]);
  await h.ok(['run', '-d', '--name', web, '--network', `a-${h.tag}`, '-p', '8080:80', '--', 'node', '-e', WHO, '80', '0.0.0.0']);
  await h.ok(['create', '--name', b, '--network', `b-${h.tag}`]);
  await h.ok(['create', '--name', inner, '--network', `i-${h.tag}`]);
  const ip = async (n: string) => JSON.parse(await h.ok(['inspect', n]))[0].NetworkSettings.Networks as Record<string, { IPAddress: string }>;
  return { web, webIp: Object.values(await ip(web))[0]!.IPAddress, b, bIp: Object.values(await ip(b))[0]!.IPAddress, inner };
}

/** Everything the firewall does, with packets. */
async function works(w: World): Promise<void> {
  expect(await curl(undefined, `http://127.0.0.1:8080/`), 'published port from the host').not.toBe('<unreachable>');
  expect(await curl(wan.name, `http://${WAN.hostAddr}:8080/`), 'published port from the WAN').toBe(WAN.gateway);
  expect(await curl(w.b, `http://${WAN.server}/`), 'egress, masqueraded').toBe(WAN.hostAddr);
  expect(await ping(w.b, w.webIp), 'isolation between networks').toBe(false);
  expect(await ping(w.inner, w.bIp), '--internal: nothing routed out').toBe(false);
  expect(await ping(w.b, w.bIp.replace(/\.\d+$/, '.1')), 'the gateway').toBe(true);
}

const tables = async () => (await h.run(['nft', 'list', 'tables'])).stdout;
const hasTables = async () => {
  const t = await tables();
  return t.includes('table ip nsnet') && t.includes('table ip6 nsnet') && t.includes('table bridge nsnet');
};
const dnsLog = () => {
  try {
    return readFileSync(path.join(h.root, 'run', 'dns.log'), 'utf8');
  } catch {
    return '';
  }
};

describeKernel('firewall reloads (kernel)', () => {
  for (const fault of [['nft', 'flush', 'ruleset'], ['nft', 'delete', 'table', 'ip', 'nsnet']]) {
    test(`after \`${fault.join(' ')}\`: restored within a second by the watcher, or by the next nsnet command without it`, async () => {
      const w = await build();
      await works(w);
      expect(h.dnsPid(), 'the DNS server (the watcher) runs').toBeDefined();

      // With the watcher: no nsnet command at all.
      const t0 = Date.now();
      await h.run(fault, { reject: true });
      await eventually(hasTables, 1000, 'the watcher to restore the tables');
      const took = Date.now() - t0;
      console.log(`firewall-reload: \`${fault.join(' ')}\` -> tables back after ${took} ms (no nsnet command)`);
      await works(w);
      expect(dnsLog()).toMatch(/firewall: rebuilt nftables tables/);
      // Restored from the state: the published port's element is back.
      expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).toContain(`8080 : ${w.webIp} . 80`);

      // Without the watcher: the tables stay gone until an nsnet command, of any kind, runs.
      await h.stopDns();
      await h.run(fault, { reject: true });
      await new Promise((r) => setTimeout(r, 1200));
      expect(await hasTables()).toBe(false);
      // Meanwhile --internal holds without nftables: the kernel routes nothing in from its bridge.
      expect(await ping(w.inner, w.bIp)).toBe(false);
      const ls = await h.nsnet(['network', 'ls']);
      expect(ls.code, ls.stderr).toBe(0);
      expect(ls.stderr).toMatch(/rebuilt nftables tables ip nsnet, ip6 nsnet and bridge nsnet/);
      expect(await hasTables()).toBe(true);
      await works(w);

      // Removal works on a flushed firewall: nothing is "already gone" to fail on.
      await h.stopDns();
      await h.run(fault, { reject: true });
      const rm = await h.nsnet(['rm', '-f', w.b]);
      expect(rm.code, rm.stderr).toBe(0);
      await h.stopDns();
      await h.run(fault, { reject: true });
      const nrm = await h.nsnet(['network', 'rm', `b-${h.tag}`]);
      expect(nrm.code, nrm.stderr).toBe(0);
      expect((await h.run(['nft', 'list', 'set', 'ip', 'nsnet', 'subnets'])).stdout).not.toContain(w.bIp.replace(/\.\d+$/, '.0'));
    }, 90_000);
  }

  test('a hand-flushed nsnet table (rules gone, table kept) is rebuilt by the watcher; system reconcile repairs a deleted element and says so', async () => {
    const w = await build();
    await h.run(['nft', 'flush', 'table', 'ip', 'nsnet'], { reject: true });
    await eventually(async () => (await h.run(['nft', 'list', 'chain', 'ip', 'nsnet', 'forward'])).stdout.includes('drop'), 1000, 'rules back');
    await eventually(async () => (await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout.includes('8080'), 1000, 'ports back');
    await works(w);

    await h.run(['nft', 'delete', 'element', 'ip', 'nsnet', 'ports', '{ tcp . 8080 }'], { reject: true });
    const plan = await h.ok(['system', 'reconcile', '--dry-run']);
    expect(plan).toContain('add element ip nsnet ports { tcp . 8080 : ');
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).not.toContain('8080'); // a dry run changes nothing
    expect(await h.ok(['system', 'reconcile'])).toMatch(/^repaired: rebuilt nftables tables .*contents differed/);
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).toContain('8080');
    expect(await h.ok(['system', 'reconcile'])).toBe('nothing to repair');
  }, 90_000);

  test('elements deleted by hand (an interval set answers EINVAL "element does not exist") do not stop network rm', async () => {
    await h.ok(['network', 'create', '--subnet', '10.231.7.0/24', `e-${h.tag}`]);
    await h.run(['nft', 'delete', 'element', 'ip', 'nsnet', 'subnets', '{ 10.231.7.0/24 }'], { reject: true });
    await h.run(['nft', 'delete', 'element', 'ip', 'nsnet', 'same_subnet', '{ 10.231.7.0/24 . 10.231.7.0/24 }'], { reject: true });
    const rm = await h.nsnet(['network', 'rm', `e-${h.tag}`]);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await h.run(['nft', 'list', 'set', 'ip', 'nsnet', 'masq_subnets'])).stdout).not.toContain('10.231.7.0');
  }, 90_000);
});
