// Sandboxes on an overlay network (issue 17) across three simulated hosts
// with a three-member etcd cluster (test/helpers/cluster.ts): `nsnet run
// --network ov` on each host; the sandboxes reach each other at their own
// addresses through VXLAN on the underlay; two overlay networks stay apart;
// concurrent runs on every host get distinct addresses, and what the store
// says matches what each host's kernel holds; rm takes it all away.
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeCluster, nsnetOn, settled } from '../helpers/cluster-tests.js';
import { Cluster, type ClusterHost } from '../helpers/cluster.js';
import { tag as newTag } from '../helpers/kernel.js';

const SLOW = 180_000;


let c: Cluster;
const bg: ResultPromise[] = [];

/** nsnet on host h; fails the test with its stderr when it fails. */
const nsnet = (h: ClusterHost, ...args: string[]) => nsnetOn(c, h, ...args);

/** A command in sandbox `sb` on host h. */
const inSandbox = (h: ClusterHost, sb: string, cmd: string[], timeout = 20_000) =>
  h.node.exec(['ip', 'netns', 'exec', sb, ...cmd], { reject: false, timeout });

const ipOf = async (h: ClusterHost, sb: string) =>
  (await nsnet(h, 'inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', sb)).trim();

/** Overlay network `name`'s id and VNI, as `network inspect` shows them. */
async function overlayOf(h: ClusterHost, name: string): Promise<{ id: string; vni: number }> {
  const n = JSON.parse(await nsnet(h, 'network', 'inspect', name))[0];
  return { id: n.Id, vni: Number(n.Options['com.docker.network.driver.overlay.vxlanid_list']) };
}

/** The store's endpoints of network `id`. */
async function storeEndpoints(id: string): Promise<{ name: string; ip: string; mac: string; hostAddress: string }[]> {
  const r = await c.etcdctl(c.hosts[0]!, 'get', '--prefix', '--print-value-only', `/nsnet/v1/endpoints/${id}/`);
  return String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The store's address claims of network `id`. */
async function storeAddresses(id: string): Promise<string[]> {
  const r = await c.etcdctl(c.hosts[0]!, 'get', '--prefix', '--keys-only', `/nsnet/v1/addresses/${id}/`);
  return String(r.stdout).split('\n').filter(Boolean).map((k) => k.slice(k.lastIndexOf('/') + 1)).sort();
}

/** What host h's vxlan device of `vni` holds: its own fdb entries (MAC dst) and its permanent neighbours (IP MAC); null: no device. */
async function kernelEntries(h: ClusterHost, vni: number): Promise<{ fdb: string[]; neigh: string[] } | null> {
  const dev = `vxlan${vni}`;
  const link = await h.node.exec(['ip', 'link', 'show', 'dev', dev], { reject: false });
  if (link.exitCode !== 0) return null;
  const fdb = JSON.parse(String((await h.node.exec(['bridge', '-j', 'fdb', 'show', 'dev', dev])).stdout)) as { mac: string; dst?: string; flags?: string[] }[];
  const neigh = JSON.parse(String((await h.node.exec(['ip', '-j', 'neigh', 'show', 'dev', dev])).stdout)) as { dst: string; lladdr: string; state: string[] }[];
  return {
    fdb: fdb.filter((f) => f.dst).map((f) => `${f.mac} ${f.dst}`).sort(),
    neigh: neigh.filter((n) => n.state.includes('PERMANENT')).map((n) => `${n.dst} ${n.lladdr}`).sort(),
  };
}

/** What host h's vxlan device should hold: an entry for every endpoint of the store on another host. */
async function wantedEntries(h: ClusterHost, id: string): Promise<{ fdb: string[]; neigh: string[] }> {
  const eps = (await storeEndpoints(id)).filter((e) => e.hostAddress !== h.address);
  return { fdb: eps.map((e) => `${e.mac} ${e.hostAddress}`).sort(), neigh: eps.map((e) => `${e.ip} ${e.mac}`).sort() };
}


/** tcpdump on host h's underlay (lan0), UDP 4789 only; stop() returns the lines it printed. */
async function capture(h: ClusterHost): Promise<{ stop: () => Promise<string[]> }> {
  const p = h.node.spawn(['tcpdump', '-l', '-n', '-v', '-i', 'lan0', 'udp', 'port', '4789']);
  bg.push(p);
  const out: string[] = [];
  p.stdout!.on('data', (d: Buffer) => out.push(...String(d).split('\n').filter(Boolean)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
    p.stderr!.on('data', (d: Buffer) => {
      if (String(d).includes('listening on')) { clearTimeout(t); resolve(); }
    });
  });
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      p.kill('SIGINT');
      await p.catch(() => {});
      return out;
    },
  };
}

describeCluster('overlay sandboxes: three hosts, one etcd cluster', () => {
  beforeAll(async () => {
    c = await Cluster.make(newTag());
    await c.startEtcd();
  }, SLOW);

  afterAll(async () => {
    for (const p of bg) p.kill('SIGKILL');
    await Promise.allSettled(bg);
    await c?.stop();
  }, SLOW);

  let ov: { id: string; vni: number };
  let ips: string[] = [];

  test('sandboxes on hosts 1, 2 and 3 ping each other and talk TCP over VXLAN with their own addresses', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    await nsnet(h1, 'network', 'create', '-d', 'overlay', '--subnet', '10.60.0.0/24', 'ov');
    ov = await overlayOf(h2, 'ov');
    for (const h of [h1, h2, h3]) await nsnet(h, 'run', '-d', '--name', `s${h.index}`, '--network', 'ov', '--', 'sleep', '1d');
    ips = await Promise.all([h1, h2, h3].map((h) => ipOf(h, `s${h.index}`)));
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^10\.60\.0\.\d+$/);
    // The store: three endpoints, each with its host's underlay address; three addresses claimed.
    expect((await storeEndpoints(ov.id)).map((e) => `${e.name} ${e.ip} ${e.hostAddress}`).sort())
      .toEqual([h1, h2, h3].map((h, i) => `s${h.index} ${ips[i]} ${h.address}`).sort());
    expect(await storeAddresses(ov.id)).toEqual([...ips].sort());
    // Each host: the network's bridge and vxlan device (UDP 4789, learning off, MTU 1500 - 50), the veth at 1450.
    for (const h of [h1, h2, h3]) {
      const vx = JSON.parse(String((await h.node.exec(['ip', '-d', '-j', 'link', 'show', 'dev', `vxlan${ov.vni}`])).stdout))[0];
      expect(vx).toMatchObject({ mtu: 1450, master: `ov-${ov.id.slice(0, 12)}` });
      expect(vx.linkinfo.info_data).toMatchObject({ id: ov.vni, port: 4789, learning: false, proxy: true, local: h.address });
      const eth0 = JSON.parse(String((await inSandbox(h, `s${h.index}`, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout))[0];
      expect(eth0.mtu).toBe(1450);
      // Its entries: exactly the endpoints on the other two hosts.
      await settled(async () => expect(await kernelEntries(h, ov.vni)).toEqual(await wantedEntries(h, ov.id)));
    }
    for (const [i, h] of [h1, h2, h3].entries()) {
      for (const [j, ip] of ips.entries()) {
        if (i === j) continue;
        const r = await inSandbox(h, `s${h.index}`, ['ping', '-c1', '-W2', ip]);
        expect(r.exitCode, `s${i + 1} -> ${ip}: ${String(r.stdout)}${String(r.stderr)}`).toBe(0);
      }
    }
    // TCP from s1 (host 1) to a server in s3 (host 3), which sees s1's own address: no NAT on the way.
    const server = h3.node.spawn(['ip', 'netns', 'exec', 's3', 'python3', '-c',
      'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",7000))\ns.listen()\nprint("ready",flush=True)\n'
      + 'while True:\n  c,a=s.accept()\n  c.recv(100)\n  c.sendall((a[0]+"\\n").encode())\n  c.close()\n']);
    bg.push(server);
    await new Promise<void>((resolve) => server.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve()));
    const tcp = await inSandbox(h1, 's1', ['bash', '-c', `exec 3<>/dev/tcp/${ips[2]}/7000; echo hello >&3; cat <&3`]);
    expect(String(tcp.stdout).trim()).toBe(ips[0]);
  }, SLOW);

  test('names resolve across hosts through 127.0.0.11 (name and alias, from the store, watched)', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const getent = (h: ClusterHost, sb: string, name: string) => inSandbox(h, sb, ['getent', 'hosts', name], 10_000);
    expect(String((await inSandbox(h1, 's1', ['cat', '/etc/resolv.conf'])).stdout)).toContain('nameserver 127.0.0.11');
    // s3 (host 3) from s1 (host 1) and s2 (host 2); the local one too.
    await settled(async () => expect(String((await getent(h1, 's1', 's3')).stdout)).toMatch(new RegExp(`^${ips[2]!.replace(/\./g, '\\.')}\\s+s3`)));
    expect(String((await getent(h2, 's2', 's1')).stdout)).toMatch(new RegExp(`^${ips[0]!.replace(/\./g, '\\.')}\\s`));
    expect(String((await getent(h3, 's3', 's3')).stdout)).toMatch(new RegExp(`^${ips[2]!.replace(/\./g, '\\.')}\\s`));
    // A sandbox that joins later, with an alias, is found by both as soon as the others' watchers see it...
    await nsnet(h3, 'run', '-d', '--name', 'web', '--network', 'ov', '--network-alias', 'www', '--', 'sleep', '1d');
    const web = await ipOf(h3, 'web');
    for (const name of ['web', 'www']) {
      await settled(async () => expect(String((await getent(h1, 's1', name)).stdout).split(/\s+/)[0]).toBe(web));
    }
    expect((await inSandbox(h1, 's1', ['ping', '-c1', '-W2', 'web'])).exitCode).toBe(0);
    // ...and is gone from them once removed.
    await nsnet(h3, 'rm', '-f', 'web');
    await settled(async () => expect((await getent(h1, 's1', 'web')).exitCode).not.toBe(0));
  }, SLOW);

  test('--dry-run prints the plan and claims, makes and publishes nothing; NSNET_TRACE=1 runs the same steps', async () => {
    const [, h2] = c.hosts as [ClusterHost, ClusterHost];
    const before = await storeAddresses(ov.id);
    const plan = await nsnet(h2, 'run', '-d', '--dry-run', '--name', 'dry', '--network', 'ov', '--', 'sleep', '1d');
    const br = `ov-${ov.id.slice(0, 12)}`;
    expect(plan).toContain(`# creating bridge ${br} (overlay network ov)`);
    expect(plan).toMatch(new RegExp(`ip link add vxlan${ov.vni} mtu 1450 master ${br} up type vxlan id ${ov.vni} dstport 4789 local ${h2.address} dev lan0 nolearning proxy`));
    expect(plan).toContain(`# programming vxlan${ov.vni} for the endpoints of ov on other hosts (from the store, if vxlan${ov.vni} is new; then the host's watcher does)`);
    expect(plan).toMatch(new RegExp(`ip link add veth[0-9a-f]{7} mtu 1450 master ${br} up type veth peer name eth0 netns dry address 02:42:0a:3c:00:[0-9a-f]{2} mtu 1450`));
    expect(plan).toMatch(/# publishing dry \(10\.60\.0\.\d+, 02:42:0a:3c:00:[0-9a-f]{2} on 198\.51\.100\.2\) in the cluster store/);
    // The default route is the way out's (eth1 on nsnet_gwbridge, overlay-egress.test.ts), never eth0's.
    expect(plan).not.toMatch(/default via 10\.60\.0\.1/);
    expect(plan).toMatch(/peer name eth1 netns dry/);
    // Nothing claimed, published or recorded.
    expect(await storeAddresses(ov.id)).toEqual(before);
    expect((await storeEndpoints(ov.id)).map((e) => e.name)).not.toContain('dry');
    expect((await c.nsnet(h2, ['inspect', 'dry'])).exitCode).not.toBe(0);
    // The real run, traced: the same steps (veth names and ids are random).
    const norm = (text: string) => text.split('\n').filter((l) => l.startsWith('# ')).map((l) => l.replace(/veth[0-9a-f]{7}/g, 'vethX').replace(/[0-9a-f]{64}/g, 'ID'));
    const traced = await c.nsnet(h2, ['run', '-d', '--name', 'dry', '--network', 'ov', '--', 'sleep', '1d'], { env: { NSNET_TRACE: '1' } });
    expect(traced.exitCode, String(traced.stderr)).toBe(0);
    expect(norm(String(traced.stderr))).toEqual(norm(plan));
    // rm --dry-run: the undos (the store's delete of its endpoint and address), the sandbox still there; then rm.
    const rmPlan = await nsnet(h2, 'rm', '--dry-run', '-f', 'dry');
    expect(rmPlan).toMatch(new RegExp(`etcdctl del /nsnet/v1/endpoints/${ov.id}/[0-9a-f]{64}`));
    expect(rmPlan).not.toContain(`deleting vxlan${ov.vni}`); // s2 is still on ov here
    expect((await storeEndpoints(ov.id)).map((e) => e.name)).toContain('dry');
    await nsnet(h2, 'rm', '-f', 'dry');
    expect((await storeEndpoints(ov.id)).map((e) => e.name)).not.toContain('dry');
    expect(await storeAddresses(ov.id)).toEqual(before);
  }, SLOW);

  test('tcpdump on the underlay: VXLAN (UDP 4789, the network\'s VNI) to the destination host only', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    const [c2, c3] = [await capture(h2), await capture(h3)];
    let seen2: string[] = [];
    let seen3: string[] = [];
    try {
      const r = await inSandbox(h1, 's1', ['ping', '-c2', '-W2', ips[1]!]);
      expect(r.exitCode).toBe(0);
    } finally {
      seen2 = await c2.stop();
      seen3 = await c3.stop();
    }
    const outer = seen2.filter((l) => l.includes('VXLAN'));
    expect(outer.length).toBeGreaterThanOrEqual(4); // two requests in, two replies out
    expect(outer.every((l) => l.includes(`vni ${ov.vni}`))).toBe(true);
    expect(seen2.some((l) => l.includes(`${h1.address}.`) && l.includes(`> ${h2.address}.4789`))).toBe(true);
    expect(seen2.some((l) => l.includes(`${ips[0]} > ${ips[1]}: ICMP echo request`))).toBe(true);
    // Host 3 holds neither end: not one packet reaches it (nothing is flooded).
    expect(seen3).toEqual([]);
  }, SLOW);

  test('two overlay networks are isolated, even with a route and a neighbour entry forced by hand', async () => {
    const [h1, h2] = c.hosts as [ClusterHost, ClusterHost];
    await nsnet(h2, 'network', 'create', '-d', 'overlay', '--subnet', '10.61.0.0/24', 'ov2');
    const ov2 = await overlayOf(h1, 'ov2');
    expect(ov2.vni).not.toBe(ov.vni);
    await nsnet(h2, 'run', '-d', '--name', 't2', '--network', 'ov2', '--', 'sleep', '1d');
    await nsnet(h1, 'run', '-d', '--name', 't1', '--network', 'ov2', '--', 'sleep', '1d');
    const [t1, t2] = [await ipOf(h1, 't1'), await ipOf(h2, 't2')];
    const t2mac = (await storeEndpoints(ov2.id)).find((e) => e.name === 't2')!.mac;
    expect((await inSandbox(h1, 't1', ['ping', '-c1', '-W2', t2])).exitCode).toBe(0);
    // s1 (ov, host 1) told t2 (ov2, host 2) is on its link, with t2's MAC: its frames go into ov's VNI, which has no entry for it.
    await inSandbox(h1, 's1', ['ip', 'route', 'add', '10.61.0.0/24', 'dev', 'eth0']);
    await inSandbox(h1, 's1', ['ip', 'neigh', 'replace', t2, 'lladdr', t2mac, 'dev', 'eth0']);
    expect((await inSandbox(h1, 's1', ['ping', '-c1', '-W1', t2])).exitCode).not.toBe(0);
    // And no ov2 sandbox reaches an ov one.
    await inSandbox(h1, 't1', ['ip', 'route', 'add', '10.60.0.0/24', 'dev', 'eth0']);
    expect((await inSandbox(h1, 't1', ['ping', '-c1', '-W1', ips[1]!])).exitCode).not.toBe(0);
    await inSandbox(h1, 's1', ['ip', 'route', 'del', '10.61.0.0/24', 'dev', 'eth0']);
    // rm: the endpoint and its address leave the store; host 2's last ov2 sandbox takes ov2's devices with it; host 1 drops t2's entries.
    await nsnet(h2, 'rm', '-f', 't2');
    expect((await storeEndpoints(ov2.id)).map((e) => e.name)).toEqual(['t1']);
    expect(await storeAddresses(ov2.id)).toEqual([t1]);
    expect(await kernelEntries(h2, ov2.vni)).toBeNull();
    expect((await h2.node.exec(['ip', 'link', 'show', 'dev', `ov-${ov2.id.slice(0, 12)}`], { reject: false })).exitCode).not.toBe(0);
    await settled(async () => expect(await kernelEntries(h1, ov2.vni)).toEqual({ fdb: [], neigh: [] }));
    await nsnet(h1, 'rm', '-f', 't1');
    expect(await kernelEntries(h1, ov2.vni)).toBeNull();
    await nsnet(h1, 'network', 'rm', 'ov2');
    // A local bridge network connected to an overlay sandbox: eth2 (eth1 is its way out, nsnet_gwbridge, which keeps the default route).
    await nsnet(h1, 'network', 'create', '--subnet', '10.98.0.0/24', 'out1');
    await nsnet(h1, 'network', 'connect', 'out1', 's1');
    expect(String((await inSandbox(h1, 's1', ['ip', 'route', 'show', 'default'])).stdout)).toMatch(/^default via 172\.\d+\.0\.1 dev eth1/);
    expect(String((await inSandbox(h1, 's1', ['ip', '-4', '-br', 'addr', 'show', 'dev', 'eth2'])).stdout)).toContain('10.98.0.');
    expect((await inSandbox(h1, 's1', ['ping', '-c1', '-W2', '10.98.0.1'])).exitCode).toBe(0);
    expect((await inSandbox(h1, 's1', ['ping', '-c1', '-W2', ips[1]!])).exitCode).toBe(0);
    await nsnet(h1, 'network', 'disconnect', 'out1', 's1');
    // network connect to an overlay network: refused, saying what works.
    await nsnet(h1, 'run', '-d', '--name', 'b1', '--network', 'out1', '--', 'sleep', '1d');
    const conn = await c.nsnet(h1, ['network', 'connect', 'ov', 'b1']);
    expect(conn.exitCode).not.toBe(0);
    expect(String(conn.stderr)).toContain('network connect and disconnect do not take overlay networks yet (ov): create the sandbox with --network ov');
    await nsnet(h1, 'rm', '-f', 'b1');
    await nsnet(h1, 'network', 'rm', 'out1');
  }, SLOW);

  test('30 concurrent `nsnet run --network ov` over the three hosts: 30 distinct addresses; the store and every kernel agree', async () => {
    const N = 30;
    const runs = Array.from({ length: N }, (_, i) => {
      const h = c.hosts[i % 3]!;
      return c.nsnet(h, ['run', '-d', '--name', `c${i}`, '--network', 'ov', '--', 'sleep', '1d'], { timeout: 120_000 });
    });
    const done = await Promise.all(runs);
    for (const [i, r] of done.entries()) expect(r.exitCode, `c${i}: ${String(r.stderr)}`).toBe(0);
    const eps = await storeEndpoints(ov.id);
    expect(eps).toHaveLength(N + 3);
    expect(new Set(eps.map((e) => e.ip)).size).toBe(N + 3);
    expect(await storeAddresses(ov.id)).toEqual(eps.map((e) => e.ip).sort());
    // Each sandbox has the address the store gave it.
    for (let i = 0; i < N; i += 7) {
      const h = c.hosts[i % 3]!;
      expect(eps.find((e) => e.name === `c${i}`)).toMatchObject({ ip: await ipOf(h, `c${i}`), hostAddress: h.address });
    }
    for (const h of c.hosts) await settled(async () => expect(await kernelEntries(h, ov.vni)).toEqual(await wantedEntries(h, ov.id)));
    // Any two across hosts talk: c0 (host 1) -> c29 (host 3), c1 (host 2) -> c27 (host 1).
    const ip = (name: string) => eps.find((e) => e.name === name)!.ip;
    expect((await inSandbox(c.hosts[0]!, 'c0', ['ping', '-c1', '-W2', ip('c29')])).exitCode).toBe(0);
    expect((await inSandbox(c.hosts[1]!, 'c1', ['ping', '-c1', '-W2', ip('c27')])).exitCode).toBe(0);
    // All removed at once: their endpoints and addresses leave the store, the entries leave the kernels.
    const rms = await Promise.all(Array.from({ length: N }, (_, i) => c.nsnet(c.hosts[i % 3]!, ['rm', '-f', `c${i}`], { timeout: 120_000 })));
    for (const [i, r] of rms.entries()) expect(r.exitCode, `rm c${i}: ${String(r.stderr)}`).toBe(0);
    expect((await storeEndpoints(ov.id)).map((e) => e.name).sort()).toEqual(['s1', 's2', 's3']);
    expect(await storeAddresses(ov.id)).toEqual([...ips].sort());
    for (const h of c.hosts) await settled(async () => expect(await kernelEntries(h, ov.vni)).toEqual(await wantedEntries(h, ov.id)));
  }, 300_000);

  test('a host\'s process restarted re-reads the store and repairs its entries; a host killed loses its endpoints when its lease expires', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    // Host 2 "missed" s1 (its entries deleted by hand), then its DNS server (the store's watcher) is killed and comes back.
    const s1 = (await storeEndpoints(ov.id)).find((e) => e.name === 's1')!;
    await h2.node.exec(['bridge', 'fdb', 'del', s1.mac, 'dev', `vxlan${ov.vni}`, 'dst', s1.hostAddress, 'self']);
    await h2.node.exec(['ip', 'neigh', 'del', s1.ip, 'dev', `vxlan${ov.vni}`]);
    expect((await kernelEntries(h2, ov.vni))!.fdb).not.toContain(`${s1.mac} ${s1.hostAddress}`);
    const pid = String((await h2.node.exec(['cat', '/run/nsnet/dns.pid'])).stdout).trim();
    await h2.node.exec(['kill', '-KILL', pid]);
    await nsnet(h2, 'ps'); // a command revives the server if its supervisor has not yet
    await settled(async () => expect(await kernelEntries(h2, ov.vni)).toEqual(await wantedEntries(h2, ov.id)), 30_000);
    expect((await inSandbox(h2, 's2', ['ping', '-c1', '-W2', ips[0]!])).exitCode).toBe(0);
    // Host 3 killed: its processes, its namespaces, its etcd member. Its endpoint stays until its lease expires (30 s)...
    await h3.node.stop();
    h3.etcd = undefined;
    expect((await storeEndpoints(ov.id)).map((e) => e.name)).toContain('s3');
    // ...then goes, and hosts 1 and 2 drop its entries. The two remaining etcd members keep the store working.
    await settled(async () => expect((await storeEndpoints(ov.id)).map((e) => e.name).sort()).toEqual(['s1', 's2']), 60_000);
    expect(await storeAddresses(ov.id)).toEqual([ips[0], ips[1]].sort());
    for (const h of [h1, h2]) await settled(async () => expect(await kernelEntries(h, ov.vni)).toEqual(await wantedEntries(h, ov.id)));
    // A sandbox joining now takes s3's freed address (and so its MAC, which host 1's bridge learnt behind
    // its vxlan device): programmed on host 2 by its watcher, pinned to its veth on host 1, and reached at once.
    await nsnet(h1, 'run', '-d', '--name', 'late', '--network', 'ov', '--', 'sleep', '1d');
    expect(await ipOf(h1, 'late')).toBe(ips[2]);
    await settled(async () => expect(await kernelEntries(h2, ov.vni)).toEqual(await wantedEntries(h2, ov.id)));
    expect((await inSandbox(h2, 's2', ['ping', '-c1', '-W2', ips[2]!])).exitCode).toBe(0);
    // Every member stopped: joining an overlay network fails naming the store, and leaves nothing; a bridge sandbox is made as ever.
    await c.stopAllEtcd();
    const down = await c.nsnet(h1, ['run', '-d', '--name', 'nostore', '--network', 'ov', '--', 'sleep', '1d']);
    expect(down.exitCode).toBe(125); // docker run's own failures
    expect(String(down.stderr)).toContain(`cluster store ${c.storeUrl}`);
    expect((await c.nsnet(h1, ['inspect', 'nostore'])).exitCode).not.toBe(0);
    expect(String((await h1.node.exec(['ip', 'netns', 'list'])).stdout)).not.toContain('nostore');
    await nsnet(h1, 'network', 'create', '--subnet', '10.99.0.0/24', 'localnet');
    await nsnet(h1, 'run', '-d', '--name', 'local1', '--network', 'localnet', '--', 'sleep', '1d');
    await nsnet(h1, 'run', '-d', '--name', 'local2', '--network', 'localnet', '--', 'sleep', '1d');
    expect((await inSandbox(h1, 'local1', ['ping', '-c1', '-W2', 'local2'])).exitCode).toBe(0);
  }, SLOW);
});
