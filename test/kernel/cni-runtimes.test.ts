// The real CNI clients Debian ships - Podman 4 (network_backend "cni"),
// containerd 1.6 + `ctr run --cni`, and libcni 1.1.2 through a small Go
// driver - driving a plugin chain on a fake node inside the test sandbox
// (test/helpers/runtimes.ts), with a fake WAN behind the node.
//
// Parameterised by the chain: the same tests run for each name in `chains`.
// The reference chain (containernetworking-plugins: bridge + host-local +
// portmap) proves the harness; the nsnet plugin gets its own describe block by
// adding its name (issue 14).
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { describeKernel, eventually, tag as newTag } from '../helpers/kernel.js';
import {
  body,
  buildCniDriver,
  busyboxImage,
  cniDriver,
  CniNode,
  Containerd,
  ipamReservations,
  NC_GET,
  nodeLinks,
  nodeNetns,
  nodeRuleset,
  Podman,
  nsnetChain,
  referenceChain,
  runtimesMissing,
  type Chain,
} from '../helpers/runtimes.js';
import { makeWan, WAN, type Wan } from '../helpers/wan.js';
import { startWho } from '../helpers/who.js';

// The same scenarios on the reference plugins and on nsnet.
const chains: Record<string, Chain> = { reference: referenceChain, nsnet: nsnetChain };

const SUBNET = '10.244.1.0/24';
// Each test starts a runtime and several containers: 10-20 s on a loaded 2-vCPU machine.
const SLOW = 180_000;
const BRIDGE = 'cbr0';

/** Times measured in this file, printed at the end (ms). */
const timings: Record<string, number[]> = {};
const note = (k: string, ms: number) => (timings[k] ??= []).push(Math.round(ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
afterAll(() => {
  const rows = Object.entries(timings).map(([k, v]) => `  ${k}: median ${median(v)} ms (${v.join(', ')})`);
  if (rows.length) console.log(`CNI runtime timings:\n${rows.join('\n')}`);
});

/** Retries `f` until it gives a string containing `want` (or returns the last answer). */
async function retry(f: () => Promise<string>, want: string, tries = 30): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    last = await f().catch((e) => String(e));
    if (last.includes(want)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

/** describeKernel, also skipped (visibly; failed under CI) when the runtimes are not installed. */
function describeRuntimes(name: string, fn: () => void): void {
  const missing = runtimesMissing();
  if (missing === null) describeKernel(name, fn);
  else if (process.env.CI === 'true') describe(name, () => test('the CNI runtimes are installed', () => expect.fail(missing)));
  else describe.skip(`${name} [skipped: ${missing}]`, fn);
}

for (const [chainName, chain] of Object.entries(chains)) {
  describeRuntimes(`CNI runtimes (${chainName} chain)`, () => {
    let image: { tar: string; name: string };
    // What each test made; afterEach stops all of it, in reverse order, even when the test failed.
    let stops: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const s of stops.reverse()) await s().catch(() => {});
      stops = [];
    });
    beforeAll(async () => {
      image = await busyboxImage();
      await buildCniDriver();
      await chain.prepare?.();
    }, 300_000);

    /** A node with the chain's conflist as its only network, and a fake WAN behind it. */
    async function node(o: { who?: boolean } = {}) {
      const tag = newTag();
      const n = await CniNode.make(tag, chain.pluginDirs[0]!);
      stops.push(() => n.stop());
      const wan: Wan = await makeWan(n.ns, tag);
      stops.push(() => wan.remove());
      if (o.who) {
        const who = startWho(wan.name, WAN.server);
        stops.push(() => who.stop());
      }
      const list = chain.conflist({ name: `net${tag}`, bridge: BRIDGE, subnet: SUBNET });
      const conflist = n.writeConflist(list);
      return { n, wan, net: String(list.name), conflist };
    }

    /** Nothing of a removed container is left on the node: only lo, the bridge and the uplink. */
    async function expectClean(n: CniNode, wan: Wan, net: string, ids: string[]) {
      const links = async () => (await nodeLinks(n)).filter((l) => l !== 'lo' && l !== BRIDGE && l !== wan.hostIf);
      // nsnet's resident process answers DEL before the veth is deleted, holding the address until it is: shortly after.
      await eventually(async () => (await links()).length === 0 && ipamReservations(n, chain, net).length === 0, 5000, 'veths and reservations gone').catch(() => {});
      expect(await links()).toEqual([]);
      expect(nodeNetns(n)).toEqual([]);
      expect(ipamReservations(n, chain, net)).toEqual([]);
      const rules = await nodeRuleset(n);
      for (const id of ids) expect(rules).not.toContain(id);
    }

    test('Podman: two containers reach each other, a published port answers from the WAN, 127.0.0.1 and hairpin, rm -f leaves nothing', async () => {
      const { n, wan, net } = await node();
      const pm = await Podman.start(n, chain, image);
      stops.push(() => pm.stop());

      const web = await pm.run('web', ['--network', net, '-p', '8080:80'], ['httpd', '-f', '-p', '80', '-h', '/var/www']);
      const peer = await pm.run('peer', ['--network', net], ['sleep', '600']);
      note('podman run -d (with CNI ADD)', web.ms);
      note('podman run -d (with CNI ADD)', peer.ms);
      const addr = String((await pm.podman(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, 'web'])).stdout).trim();
      expect(addr).toMatch(/^10\.244\.1\.\d+$/);

      // By address, container to container across the bridge.
      expect((await pm.podman(['exec', 'peer', 'ping', '-c1', '-W2', addr], { reject: false })).exitCode).toBe(0);
      const direct = await retry(async () => String((await pm.podman(['exec', 'peer', ...NC_GET(addr, 80)], { reject: false })).stdout), 'nsnet busybox');
      expect(body(direct)).toBe('nsnet busybox image');

      // The published port: from the fake WAN to the node's WAN address, and from the node's 127.0.0.1
      // (portmap's snat: it sets route_localnet on the bridge and masquerades 127.0.0.1 sources).
      const fromWan = await retry(
        async () => String((await execa('ip', ['netns', 'exec', wan.name, 'curl', '-s', '-m', '2', `http://${WAN.hostAddr}:8080/`], { reject: false })).stdout),
        'nsnet busybox',
      );
      expect(fromWan).toBe('nsnet busybox image');
      const fromLocal = await retry(async () => String((await n.exec(['curl', '-s', '-m', '2', 'http://127.0.0.1:8080/'], { reject: false })).stdout), 'nsnet busybox');
      expect(fromLocal).toBe('nsnet busybox image');
      // Hairpin: a container of the same network through the node's WAN address.
      const hairpin = await retry(async () => String((await pm.podman(['exec', 'peer', ...NC_GET(WAN.hostAddr, 8080)], { reject: false })).stdout), 'nsnet busybox');
      expect(body(hairpin)).toBe('nsnet busybox image');

      const rm = await pm.rm('web', 'peer');
      note('podman rm -f -t 0 (two containers, with CNI DEL)', rm.ms);
      await expectClean(n, wan, net, [web.id, peer.id]);
    }, SLOW);

    test.skipIf(!chain.features.dnsByName)('Podman: containers resolve each other by name (aliases capability, 127.0.0.11)', async () => {
      const { n, net } = await node();
      const pm = await Podman.start(n, chain, image);
      stops.push(() => pm.stop());
      await pm.run('web', ['--network', net], ['httpd', '-f', '-p', '80', '-h', '/var/www']);
      await pm.run('peer', ['--network', net], ['sleep', '600']);
      const resolv = String((await pm.podman(['exec', 'peer', 'cat', '/etc/resolv.conf'])).stdout);
      expect(resolv).toContain('nameserver 127.0.0.11');
      const byName = await retry(async () => String((await pm.podman(['exec', 'peer', ...NC_GET('web', 80)], { reject: false })).stdout), 'nsnet busybox');
      expect(body(byName)).toBe('nsnet busybox image');
    }, SLOW);

    test('containerd: two pods on the bridge, a second container in a pod on 127.0.0.1, masqueraded egress, nothing left', async () => {
      const { n, wan, net } = await node({ who: true });
      const ctd = await Containerd.start(n, image);
      stops.push(() => ctd.stop());

      const p1 = await ctd.run('p1', ['sleep', '600'], { cni: true });
      const p2 = await ctd.run('p2', ['sleep', '600'], { cni: true });
      note('ctr run --cni (to running)', p1.ms);
      note('ctr run --cni (to running)', p2.ms);
      const addrOf = async (pid: number) => {
        const r = await n.exec(['nsenter', '-t', String(pid), '-n', 'ip', '-j', '-4', 'addr', 'show', 'eth0']);
        return String(JSON.parse(String(r.stdout))[0].addr_info[0].local);
      };
      const a1 = await addrOf(p1.pid);
      const a2 = await addrOf(p2.pid);
      expect(a1).toMatch(/^10\.244\.1\.\d+$/);
      expect(a2).toMatch(/^10\.244\.1\.\d+$/);
      expect(a1).not.toBe(a2);
      // Both pods' host-side veths are ports of the bridge.
      const ports = JSON.parse(String((await n.exec(['ip', '-j', 'link', 'show', 'master', BRIDGE])).stdout)) as unknown[];
      expect(ports).toHaveLength(2);
      expect((await ctd.ctr(['task', 'exec', '--exec-id', 'ping1', 'p2', 'ping', '-c1', '-W2', a1], { reject: false })).exitCode).toBe(0);
      expect((await ctd.ctr(['task', 'exec', '--exec-id', 'ping2', 'p1', 'ping', '-c1', '-W2', a2], { reject: false })).exitCode).toBe(0);

      // The pod model: a second container joins p1's network namespace and serves on 127.0.0.1 there.
      const side = await ctd.run('p1-side', ['httpd', '-f', '-p', '127.0.0.1:81', '-h', '/var/www'], { withNs: `/proc/${p1.pid}/ns/net` });
      const nsOf = async (pid: number) => String((await n.exec(['readlink', `/proc/${pid}/ns/net`])).stdout).trim();
      expect(await nsOf(side.pid)).toBe(await nsOf(p1.pid));
      let k = 0;
      const local = await retry(async () => String((await ctd.ctr(['task', 'exec', '--exec-id', `lo${k++}`, 'p1', ...NC_GET('127.0.0.1', 81)], { reject: false })).stdout), 'nsnet busybox');
      expect(body(local)).toBe('nsnet busybox image');

      // Egress: the WAN's who-am-I server sees the node's WAN address (masqueraded).
      const who = await retry(async () => String((await ctd.ctr(['task', 'exec', '--exec-id', `who${k++}`, 'p2', ...NC_GET(WAN.server, 80)], { reject: false })).stdout), WAN.hostAddr);
      expect(body(who)).toBe(WAN.hostAddr);

      await ctd.rm('p1-side');
      note('ctr task kill + run --rm exit (with CNI DEL)', (await ctd.rm('p1')).ms);
      note('ctr task kill + run --rm exit (with CNI DEL)', (await ctd.rm('p2')).ms);
      // ctr's CNI_CONTAINERID is <namespace>-<id>.
      await expectClean(n, wan, net, ['default-p1', 'default-p2']);
    }, SLOW);

    test('libcni (Go driver): ADD, CHECK, DEL through libcni 1.1.2; DEL twice; GC/STATUS by hand', async () => {
      const { n, wan, net, conflist } = await node();
      const version = await cniDriver(n, chain, 'version', { conflist });
      expect(version.code).toBe(0);
      for (const p of (JSON.parse(readFileSync(n.path(conflist), 'utf8')).plugins as { type: string }[])) {
        expect(version.json[p.type]).toContain('1.0.0');
      }

      const ports = { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] };
      for (let i = 0; i < 5; i++) {
        const pod = `pod${i}`;
        await n.exec(['ip', 'netns', 'add', pod]);
        const add = await cniDriver(n, chain, 'add', { conflist, id: pod, netns: `/run/netns/${pod}`, cap: ports });
        expect(add.code, add.stderr).toBe(0);
        note(`libcni ADD (${chainName} chain)`, add.ms);
        expect(add.json.cniVersion).toBe('1.0.0');
        expect(add.json.ips[0].address).toMatch(/^10\.244\.1\.\d+\/24$/);
        expect(add.json.interfaces.find((x: { name: string; sandbox?: string }) => x.name === 'eth0')?.sandbox).toBe(`/run/netns/${pod}`);
        const check = await cniDriver(n, chain, 'check', { conflist, id: pod, netns: `/run/netns/${pod}` });
        expect(check.code, check.stderr).toBe(0);
        note(`libcni CHECK (${chainName} chain)`, check.ms);
        if (i === 0) {
          // CHECK fails once the interface is gone (prevResult from libcni's cache).
          await n.exec(['ip', '-n', pod, 'link', 'del', 'eth0']);
          const bad = await cniDriver(n, chain, 'check', { conflist, id: pod, netns: `/run/netns/${pod}` });
          expect(bad.code).not.toBe(0);
        }
        const del = await cniDriver(n, chain, 'del', { conflist, id: pod, netns: `/run/netns/${pod}` });
        expect(del.code, del.stderr).toBe(0);
        note(`libcni DEL (${chainName} chain)`, del.ms);
        // DEL again, with the namespace gone: still success.
        await n.exec(['ip', 'netns', 'del', pod]);
        expect((await cniDriver(n, chain, 'del', { conflist, id: pod })).code).toBe(0);
      }
      await expectClean(n, wan, net, ['pod0', 'pod1', 'pod2', 'pod3', 'pod4']);

      if (chain.features.gcStatus) {
        // GC and STATUS are CNI 1.1.0 (libcni sends them only for a 1.1.0 list): a pod that got no DEL
        // (ctr's detached containers, a crashed runtime) is collected when it is not a valid attachment.
        const list11 = { ...JSON.parse(readFileSync(n.path(conflist), 'utf8')), cniVersion: '1.1.0' };
        const conflist11 = '/etc/cni/gc-1.1.0.conflist';
        n.write(conflist11, JSON.stringify(list11));
        await n.exec(['ip', 'netns', 'add', 'kept']);
        await n.exec(['ip', 'netns', 'add', 'lost']);
        for (const pod of ['kept', 'lost']) expect((await cniDriver(n, chain, 'add', { conflist, id: pod, netns: `/run/netns/${pod}` })).code).toBe(0);
        const gc = await cniDriver(n, chain, 'gc', { conflist: conflist11, valid: [{ containerID: 'kept', ifname: 'eth0' }] });
        expect(gc.code, gc.stderr).toBe(0);
        expect(String((await n.exec(['ip', '-n', 'lost', 'link', 'show'])).stdout)).not.toContain('eth0');
        expect(String((await n.exec(['ip', '-n', 'kept', 'link', 'show'])).stdout)).toContain('eth0');
        const status = await cniDriver(n, chain, 'status', { conflist: conflist11 });
        expect(status.code, status.stderr).toBe(0);
        expect((await cniDriver(n, chain, 'del', { conflist, id: 'kept', netns: '/run/netns/kept' })).code).toBe(0);
        for (const pod of ['kept', 'lost']) await n.exec(['ip', 'netns', 'del', pod]);
        await expectClean(n, wan, net, ['kept', 'lost']);
      } else {
        const gc = await cniDriver(n, chain, 'gc', { conflist, valid: [] });
        const status = await cniDriver(n, chain, 'status', { conflist });
        // containernetworking-plugins 1.1.1 predate CNI 1.1: they refuse both with an error JSON.
        expect(gc.code).not.toBe(0);
        expect(gc.json?.code).toBeGreaterThan(0);
        expect(status.code).not.toBe(0);
      }
    }, SLOW);
  });
}
