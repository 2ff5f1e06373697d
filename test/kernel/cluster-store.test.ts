// The cluster store (issue 17) on three simulated hosts with a three-member
// etcd cluster (test/helpers/cluster.ts): what one host writes the others
// read; addresses handed out under concurrency from separate processes on
// different hosts never collide; a host that dies loses its endpoints when its
// lease expires, and watchers elsewhere see them go; one member down is
// survived, all down is a clear error naming the store.
//
// The store is driven by test/helpers/cluster-client.mjs on each host (one
// process per call, as the CLI will), and checked with etcdctl.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeCluster } from '../helpers/cluster-tests.js';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { eventually, tag as newTag } from '../helpers/kernel.js';

const SLOW = 120_000;
const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/cluster-client.mjs');
const MODULE_LOG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/module-log.mjs');


let c: Cluster;
const bg: ResultPromise[] = [];

/** cluster-client.mjs on host `h` against the whole store. */
const client = (h: ClusterHost, ...args: string[]) => c.node(h, [CLIENT, c.storeUrl, ...args]);

/** A long-running cluster-client.mjs on host `h`, its stdout lines collected. */
function background(h: ClusterHost, ...args: string[]): { p: ResultPromise; lines: string[] } {
  const p = h.node.spawn([process.execPath, CLIENT, c.storeUrl, ...args]);
  const lines: string[] = [];
  let buf = '';
  p.stdout!.on('data', (d: Buffer) => {
    buf += String(d);
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  bg.push(p);
  return { p, lines };
}

const keysUnder = async (h: ClusterHost, prefix: string) =>
  String((await c.etcdctl(h, 'get', '--prefix', '--keys-only', prefix)).stdout).split('\n').filter(Boolean);

describeCluster('cluster store: three hosts, three etcd members', () => {
  beforeAll(async () => {
    c = await Cluster.make(newTag());
    await c.startEtcd();
  }, SLOW);

  afterAll(async () => {
    for (const p of bg) p.kill('SIGKILL');
    await Promise.allSettled(bg);
    await c?.stop();
  }, SLOW);

  test('a network written on host 1 is read on hosts 2 and 3; names and VNIs are unique under concurrency', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const made = await client(h1, 'create', 'ov1', '10.10.0.0/24');
    expect(made.stderr).toBe('');
    const net = JSON.parse(String(made.stdout));
    expect(net).toMatchObject({ name: 'ov1', driver: 'overlay', subnet: '10.10.0.0/24', gateway: '10.10.0.1', vni: 4096 });
    for (const h of [h2, h3]) {
      const seen = await client(h, 'show', 'ov1');
      expect(JSON.parse(String(seen.stdout))).toEqual(net);
    }
    // etcdctl on host 3 shows the record and its claims.
    expect(await keysUnder(h3, '/nsnet/v1/')).toEqual(expect.arrayContaining([
      `/nsnet/v1/networks/${net.id}`, '/nsnet/v1/network-names/ov1', '/nsnet/v1/vnis/4096', '/nsnet/v1/subnets/10.10.0.0_24',
    ]));
    // The same name again, from another host: refused.
    const again = await client(h2, 'create', 'ov1', '10.11.0.0/24');
    expect(again.exitCode).toBe(1);
    expect(String(again.stderr)).toContain('network with name ov1 already exists');

    // Six networks created at once from the three hosts (default subnets): six VNIs, six subnets, all distinct.
    const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => client(c.hosts[i % 3]!, 'create', `par${i}`)));
    const nets = rs.map((r) => {
      expect(String(r.stderr)).toBe('');
      return JSON.parse(String(r.stdout)) as { vni: number; subnet: string };
    });
    expect(new Set(nets.map((n) => n.vni)).size).toBe(6);
    expect(new Set(nets.map((n) => n.subnet)).size).toBe(6);
    expect(nets.every((n) => n.vni > 4096 && n.vni <= 4096 + 6)).toBe(true);
  }, SLOW);

  test('30 concurrent address requests from separate processes on 3 hosts: 30 distinct addresses, the lowest 30', async () => {
    const [h1] = c.hosts as [ClusterHost];
    expect((await client(h1, 'create', 'ov30', '10.30.0.0/24')).exitCode).toBe(0);
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => client(c.hosts[i % 3]!, 'claim', 'ov30', `host${i % 3}`, `sb${i}`)));
    for (const r of rs) expect(String(r.stderr)).toBe('');
    const ips = rs.map((r) => String(r.stdout).trim());
    expect(new Set(ips).size).toBe(30);
    const want = Array.from({ length: 30 }, (_, i) => `10.30.0.${i + 2}`);
    expect([...ips].sort()).toEqual([...want].sort());
    // The store agrees: 30 claims, one per address.
    const net = JSON.parse(String((await client(h1, 'show', 'ov30')).stdout));
    expect((await keysUnder(h1, `/nsnet/v1/addresses/${net.id}/`)).map((k) => k.split('/').pop()).sort()).toEqual([...want].sort());
  }, SLOW);

  test("a host's lease expiring removes its endpoints; a watcher on another host sees the deletes", async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    expect((await client(h1, 'create', 'ovl', '10.20.0.0/24')).exitCode).toBe(0);
    const net = JSON.parse(String((await client(h1, 'show', 'ovl')).stdout));
    const watcher = background(h2, 'watch', 'ovl');
    await eventually(() => watcher.lines.length > 0, 10_000, 'the watcher snapshot');
    expect(JSON.parse(watcher.lines[0]!)).toEqual({ snapshot: [] });

    // Host 3 joins with a 2 s lease and publishes three endpoints, then renews until it "dies" (SIGKILL).
    const host3 = background(h3, 'publish', 'ovl', 'h3', h3.address, '2', '3');
    await eventually(() => host3.lines.includes('ready'), 20_000, 'host 3 publishing');
    await eventually(() => watcher.lines.filter((l) => l.includes('"put"')).length === 3, 10_000, 'the watcher seeing 3 puts');
    // Renewed: still there after more than the TTL.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await keysUnder(h1, `/nsnet/v1/endpoints/${net.id}/`)).toHaveLength(3);
    expect(await keysUnder(h1, '/nsnet/v1/hosts/h3')).toEqual(['/nsnet/v1/hosts/h3']);

    host3.p.kill('SIGKILL');
    await host3.p.catch(() => {});
    await eventually(() => watcher.lines.filter((l) => l.includes('"delete"')).length === 3, 15_000, 'the watcher seeing 3 deletes');
    expect(watcher.lines.slice(-3).map((l) => JSON.parse(l).delete).sort()).toEqual(['h3-s0', 'h3-s1', 'h3-s2']);
    expect(await keysUnder(h1, `/nsnet/v1/endpoints/${net.id}/`)).toEqual([]);
    expect(await keysUnder(h1, '/nsnet/v1/hosts/h3')).toEqual([]);
    // Its address claims went with its lease too.
    expect(await keysUnder(h1, `/nsnet/v1/addresses/${net.id}/`)).toEqual([]);
    watcher.p.kill();
  }, SLOW);

  test('one member stopped: reads, writes and watches go on (quorum); a watch resumes on another member without missing a change', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    expect((await client(h2, 'create', 'ovq', '10.40.0.0/24')).exitCode).toBe(0);
    // The store URL lists member 1 first: the watcher on host 3 is on member 1 when it stops.
    const watcher = background(h3, 'watch', 'ovq');
    await eventually(() => watcher.lines.length > 0, 10_000, 'the watcher snapshot');
    const pub1 = background(h2, 'publish', 'ovq', 'h2', h2.address, '30', '1');
    await eventually(() => pub1.lines.includes('ready'), 20_000, 'host 2 publishing');
    await eventually(() => watcher.lines.some((l) => l.includes('"put":"h2-s0"')), 10_000, 'the first put');

    await c.stopEtcd(h1);
    const r = await client(h1, 'claim', 'ovq', 'h1', 'x');
    expect(String(r.stderr)).toBe('');
    expect(String(r.stdout).trim()).toBe('10.40.0.3');
    expect(JSON.parse(String((await client(h3, 'show', 'ovq')).stdout)).name).toBe('ovq');
    // A change made while the watcher's member is down reaches it through another member, once.
    const pub2 = background(h1, 'publish', 'ovq', 'h1', h1.address, '30', '1');
    await eventually(() => pub2.lines.includes('ready'), 20_000, 'host 1 publishing');
    await eventually(() => watcher.lines.some((l) => l.includes('"put":"h1-s0"')), 15_000, 'the put after the member stopped');
    expect(watcher.lines.filter((l) => l.includes('"put":"h2-s0"'))).toHaveLength(1);
    for (const p of [watcher, pub1, pub2]) p.p.kill();
    await c.startEtcd([h1]);
  }, SLOW);

  test('a watch that comes back after etcd compacted its revisions reads the whole set again', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    expect((await client(h2, 'create', 'ovc', '10.60.0.0/24')).exitCode).toBe(0);
    const watcher = background(h3, 'watch', 'ovc');
    await eventually(() => watcher.lines.length > 0, 10_000, 'the watcher snapshot');
    expect(JSON.parse(watcher.lines[0]!)).toEqual({ snapshot: [] });
    // Frozen while its member (the first of the URL) stops, changes are made and compacted away...
    process.kill(watcher.p.pid!, 'SIGSTOP');
    try {
      await c.stopEtcd(h1);
      const pub = background(h2, 'publish', 'ovc', 'h2', h2.address, '30', '2');
      await eventually(() => pub.lines.includes('ready'), 20_000, 'host 2 publishing');
      const status = JSON.parse(String((await c.etcdctl(h2, 'get', '/nsnet/v1/hosts/h2', '-w', 'json')).stdout));
      expect((await c.etcdctl(h2, 'compact', String(status.header.revision))).exitCode).toBe(0);
    } finally {
      process.kill(watcher.p.pid!, 'SIGCONT');
    }
    // ...it reconnects to another member, is told its revision is gone, and re-reads: both endpoints, in a snapshot.
    await eventually(() => watcher.lines.length > 1, 15_000, 'the watcher catching up');
    expect(watcher.lines.slice(1).map((l) => JSON.parse(l))).toEqual([{ snapshot: ['h2-s0', 'h2-s1'] }]);
    expect(String(watcher.lines)).not.toContain('"put"');
    watcher.p.kill();
    await c.startEtcd([h1]);
  }, SLOW);

  test('without a cluster store nothing of it is loaded; with one, commands on local objects do not load it either', async () => {
    const [h1] = c.hosts as [ClusterHost];
    const log = '/run/nsnet-modules.log';
    const loaded = async (env: Record<string, string>, args: string[], header: RegExp) => {
      h1.node.write(log, '');
      const r = await c.nsnet(h1, args, { store: false, env: { ...env, NSNET_MODULE_LOG: log, NODE_OPTIONS: `--import=${MODULE_LOG}` } });
      expect(String(r.stderr)).toBe('');
      expect(String(r.stdout)).toMatch(header);
      const urls = readFileSync(h1.node.path(log), 'utf8').split('\n');
      // The log works: the CLI's own modules (dist/cli/*.js), or with the bundle
      // (one file, loaded through vm) the builtins it requires.
      expect(urls.some((u) => u.includes('/dist/cli/') || u === 'node:vm')).toBe(true);
      return urls.filter((u) => u.includes('/state/cluster/') || u === 'node:http');
    };
    expect(await loaded({}, ['network', 'ls'], /NETWORK ID +NAME +DRIVER +SCOPE/)).toEqual([]);
    // A store configured (in the config file, here): `ps` and inspecting a local network never open it...
    h1.node.write('/run/nsnet-config.json', JSON.stringify({ 'cluster-store': c.storeUrl }));
    const config = { NSNET_CONFIG: '/run/nsnet-config.json' };
    expect(await loaded(config, ['ps'], /CONTAINER ID +/)).toEqual([]);
    expect(await loaded(config, ['network', 'inspect', '--format', '{{.Scope}}', 'bridge'], /^local$/m)).toEqual([]);
    // ...while `network ls` lists the cluster's networks, so it does (and the config file is what pointed it there).
    expect(await loaded(config, ['network', 'ls'], / ov1 +overlay +global$/m)).toContain('node:http');
  }, SLOW);

  test('nsnet network create -d overlay on host 1: every host lists and inspects it with Scope "global"; rm from another host', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    // The store given as the global option here (the others take NSNET_CLUSTER_STORE).
    const made = await c.nsnet(h1, ['--cluster-store', c.storeUrl, 'network', 'create', '-d', 'overlay', '--subnet', '10.50.0.0/24', '--label', 'team=a', 'ovcli'], { store: false });
    expect(String(made.stderr)).toBe('');
    const id = String(made.stdout).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    for (const h of [h1, h2, h3]) {
      const ls = await c.nsnet(h, ['network', 'ls']);
      expect(String(ls.stderr)).toBe('');
      expect(String(ls.stdout)).toMatch(new RegExp(`^${id.slice(0, 12)} +ovcli +overlay +global$`, 'm'));
      expect(String(ls.stdout)).toMatch(/ bridge +bridge +local$/m);
    }
    const global = await c.nsnet(h2, ['network', 'ls', '--filter', 'scope=global', '--format', '{{.Name}} {{.Scope}}']);
    expect(String(global.stdout).trim().split('\n')).toContain('ovcli global');
    expect(String(global.stdout)).not.toContain('bridge');
    const inspect = JSON.parse(String((await c.nsnet(h3, ['network', 'inspect', 'ovcli'])).stdout))[0];
    expect(inspect).toMatchObject({
      Name: 'ovcli', Id: id, Scope: 'global', Driver: 'overlay', Labels: { team: 'a' },
      IPAM: { Config: [{ Subnet: '10.50.0.0/24', Gateway: '10.50.0.1' }] },
    });
    expect(Number(inspect.Options['com.docker.network.driver.overlay.vxlanid_list'])).toBeGreaterThanOrEqual(4096);
    // The same name again on another host: Docker's conflict.
    const again = await c.nsnet(h2, ['network', 'create', '-d', 'overlay', 'ovcli']);
    expect(again.exitCode).toBe(1);
    expect(String(again.stderr)).toContain('network with name ovcli already exists');
    // Without a store, overlay is refused with the way to give one; bridge networks are untouched.
    const none = await c.nsnet(h3, ['network', 'create', '-d', 'overlay', 'nostore'], { store: false });
    expect(none.exitCode).toBe(1);
    expect(String(none.stderr)).toContain('overlay networks need a cluster store: --cluster-store etcd://');
    expect(String((await c.nsnet(h3, ['network', 'ls'], { store: false })).stdout)).not.toContain('ovcli');
    // Removed from host 2: gone everywhere, its keys too.
    const rm = await c.nsnet(h2, ['network', 'rm', 'ovcli']);
    expect(String(rm.stderr)).toBe('');
    expect(String(rm.stdout).trim()).toBe('ovcli');
    expect(String((await c.nsnet(h1, ['network', 'ls'])).stdout)).not.toContain('ovcli');
    expect((await keysUnder(h1, '/nsnet/v1/')).filter((k) => k.includes(id) || k.endsWith('/ovcli') || k.endsWith('10.50.0.0_24'))).toEqual([]);
  }, SLOW);

  test('all members stopped: a clear error naming the store', async () => {
    const [h1] = c.hosts as [ClusterHost];
    await c.stopAllEtcd();
    const r = await client(h1, 'show', 'ov1');
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr).trim()).toBe(`cluster store ${c.storeUrl}: reading /nsnet/v1/networks/*: connection refused on all 3 members`);
    // The CLI: an overlay command fails naming the store; local networks are listed, with a warning.
    const create = await c.nsnet(h1, ['network', 'create', '-d', 'overlay', 'ovdown']);
    expect(create.exitCode).toBe(1);
    expect(String(create.stderr).trim()).toBe(`Error: cluster store ${c.storeUrl}: reading /nsnet/v1/networks/*: connection refused on all 3 members`);
    const ls = await c.nsnet(h1, ['network', 'ls']);
    expect(ls.exitCode).toBe(0);
    expect(String(ls.stdout)).toMatch(/ bridge +bridge +local$/m);
    expect(String(ls.stderr)).toContain(`nsnet: cluster store ${c.storeUrl}: reading /nsnet/v1/networks/*: connection refused on all 3 members (overlay networks not listed)`);
    // A local network is made and removed as ever.
    expect((await c.nsnet(h1, ['network', 'create', '--subnet', '10.99.0.0/24', 'localnet'])).exitCode).toBe(0);
    expect((await c.nsnet(h1, ['network', 'rm', 'localnet'])).exitCode).toBe(0);
  }, SLOW);
});

