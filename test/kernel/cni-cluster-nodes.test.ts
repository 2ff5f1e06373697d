// Three Kubernetes-style nodes running nsnet as their CNI plugin with the
// cluster store (issue 17, Must show 4): like test/kernel/cni-nodes.test.ts,
// but no node is given a pod CIDR and the test sets no route. Each node's
// conflist says only `clusterCIDR: 10.244.0.0/16` and `ipam: {type: nsnet}`;
// its first ADD leases a /24 from etcd (podcidrs/10.244.0.0_16/...), and the
// resident nsnet process on every node routes the other nodes' /24s via their
// addresses, from the store (flannel's host-gw).
//
//             lan-<tag>: bridge br0 (198.51.100.0/24; test/helpers/cluster.ts)
//     ┌──────────────────┬──────────────────┬──────────────────┐
//   node 1             node 2             node 3          the test's namespace
//   198.51.100.1       198.51.100.2       198.51.100.3    198.51.100.254: "the WAN" (who-am-I server)
//   etcd h1            etcd h2            etcd h3         (no route to 10.244.0.0/16: only masqueraded traffic is answered)
//   cbr0 10.244.?.1/24 (leased), routes to the others' /24s (proto 78, made by nsnet)
//
// Node 2 names the store in NSNET_CLUSTER_STORE (the runtime's environment),
// nodes 1 and 3 in the conflist's `clusterStore`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CniRuntime, type Attachment, type Conflist } from '../helpers/cni-exec.js';
import { describeCluster, settled } from '../helpers/cluster-tests.js';
import { Cluster, UNDERLAY, type ClusterHost } from '../helpers/cluster.js';
import { tag as newTag } from '../helpers/kernel.js';
import { nsnetChain } from '../helpers/runtimes.js';
import { WHO } from '../helpers/who.js';

// Routes follow a store change through the resident process's watch: 30 s (a lease's TTL), not the default 20.
const SETTLE_MS = 30_000;
const settledIn = <T>(fn: () => Promise<T>, ms = SETTLE_MS) => settled(fn, ms);
const SLOW = 240_000;
const CLUSTER = '10.244.0.0/16';
const NETWORK = 'k8s-pod-network';
/** The "WAN" server's port in the test's namespace (not 80: other files' servers share the sandbox's namespace). */
const WAN_PORT = 18080 + Math.floor(Math.random() * 1000);


interface Node {
  h: ClusterHost;
  rt: CniRuntime;
  list: Conflist;
}

interface Pod {
  node: Node;
  name: string;
  att: Attachment;
  ip: string;
}

const tag = newTag();
let c: Cluster;
const nodes: Node[] = [];
const pods: Pod[] = [];
const bg: ResultPromise[] = [];
let cacheRoot: string;

/** Node i's conflist: no subnet; the store in `clusterStore`, unless the runtime's environment has it. */
const podNetwork = (store?: string): Conflist => ({
  cniVersion: '1.0.0',
  name: NETWORK,
  plugins: [{
    type: 'nsnet', bridge: 'cbr0', isGateway: true, ipMasq: true, hairpinMode: true, clusterCIDR: CLUSTER,
    ...(store && { clusterStore: store }),
    ipam: { type: 'nsnet' },
  }],
});

async function addPod(node: Node, name: string): Promise<Pod> {
  await node.h.node.exec(['ip', 'netns', 'add', name]);
  const att: Attachment = { containerId: `${name}-${tag}`, netns: `/run/netns/${name}`, ifname: 'eth0', args: { K8S_POD_NAME: name, K8S_POD_NAMESPACE: 'default' } };
  const pod: Pod = { node, name, att, ip: '' };
  pods.push(pod);
  const r = await node.rt.add(node.list, att) as { ips: { address: string }[] };
  pod.ip = r.ips[0]!.address.split('/')[0]!;
  return pod;
}

async function delPods(): Promise<void> {
  for (const p of pods.splice(0)) {
    await p.node.rt.del(p.node.list, p.att);
    await p.node.h.node.exec(['ip', 'netns', 'del', p.name]);
  }
}

const inPod = (p: Pod, cmd: string[]) => p.node.h.node.exec(['ip', 'netns', 'exec', p.name, ...cmd], { reject: false });

async function curlFrom(p: Pod, url: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 20; i++) {
    const r = await inPod(p, ['curl', '-s', '-m', '2', url]);
    if (r.exitCode === 0) return String(r.stdout);
    last = `exit ${r.exitCode}: ${String(r.stderr)}`;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`curl ${url} from pod ${p.name} on node ${p.node.h.index}: ${last}`);
}

function whoInPod(p: Pod): void {
  bg.push(p.node.h.node.spawn(['ip', 'netns', 'exec', p.name, process.execPath, '-e', WHO, '80', '0.0.0.0']));
}

/** The store's pod CIDR leases of the cluster range: CIDR -> {host, hostAddress}. */
async function leases(): Promise<Map<string, { host: string; hostAddress: string }>> {
  const r = await c.etcdctl(c.hosts[0]!, 'get', '--prefix', `/nsnet/v1/podcidrs/${CLUSTER.replace('/', '_')}/`);
  const lines = String(r.stdout).split('\n').filter(Boolean);
  const out = new Map<string, { host: string; hostAddress: string }>();
  for (let i = 0; i + 1 < lines.length; i += 2) out.set(lines[i]!.slice(lines[i]!.lastIndexOf('/') + 1).replace('_', '/'), JSON.parse(lines[i + 1]!));
  return out;
}

/** The lease of the node at `address`: its CIDR. */
async function leaseOf(address: string): Promise<string> {
  const hit = [...(await leases())].filter(([, l]) => l.hostAddress === address);
  expect(hit, `one lease for ${address}`).toHaveLength(1);
  return hit[0]![0];
}

/** Node h's routes that nsnet made (proto 78): "CIDR via ADDRESS". */
async function nsnetRoutes(h: ClusterHost): Promise<string[]> {
  const r = JSON.parse(String((await h.node.exec(['ip', '-j', 'route', 'show', 'proto', '78'])).stdout)) as { dst: string; gateway?: string }[];
  return r.map((x) => `${x.dst} via ${x.gateway}`).sort();
}

/** What node h's routes should be: every other node's lease, via its address. */
async function wantedRoutes(h: ClusterHost): Promise<string[]> {
  return [...(await leases())].filter(([, l]) => l.hostAddress !== h.address).map(([cidr, l]) => `${cidr} via ${l.hostAddress}`).sort();
}


/** Every node's nsnet routes are the other nodes' leases (and there are two). */
const routesMatchStore = () => settledIn(async () => {
  for (const n of nodes) {
    const want = await wantedRoutes(n.h);
    expect(want).toHaveLength(2);
    expect(await nsnetRoutes(n.h)).toEqual(want);
  }
});

describeCluster('CNI with the cluster store: three nodes lease their pod CIDRs from etcd and route to each other', () => {
  beforeAll(async () => {
    await nsnetChain.prepare!();
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-cluster-'));
    c = await Cluster.make(tag, 3, { pluginDir: nsnetChain.pluginDirs[0]! });
    await c.startEtcd();
    for (const h of c.hosts) {
      const viaEnv = h.index === 2;
      nodes.push({
        h,
        list: podNetwork(viaEnv ? undefined : c.storeUrl),
        rt: new CniRuntime({ path: nsnetChain.pluginDirs, cacheDir: path.join(cacheRoot, `node${h.index}`), wrap: h.node.enter, ...(viaEnv && { env: { NSNET_CLUSTER_STORE: c.storeUrl } }) }),
      });
    }
    // "The WAN": the test's own namespace on the LAN, which has no route to the pods.
    bg.push(execa(process.execPath, ['-e', WHO, String(WAN_PORT), UNDERLAY.test], { reject: false }));
  }, SLOW);

  afterAll(async () => {
    for (const p of bg.splice(0)) p.kill();
    await Promise.allSettled(bg);
    await delPods().catch(() => {});
    await c?.stop();
    rmSync(cacheRoot, { recursive: true, force: true });
  }, SLOW);

  test('each node leases a distinct /24; pods on node 1 and node 3 talk TCP with their own addresses over routes nsnet made', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const a = await addPod(n1, 'pod-a');
    const cc = await addPod(n3, 'pod-c');
    const b = await addPod(n2, 'pod-b');

    // Three leases, distinct /24s of the cluster range, one per node, each holding that node's pod.
    const l = await leases();
    expect(l.size).toBe(3);
    for (const [p, n] of [[a, n1], [b, n2], [cc, n3]] as const) {
      const cidr = await leaseOf(n.h.address);
      expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(p.ip.split('.').slice(0, 3).join('.')).toBe(cidr.split('.').slice(0, 3).join('.'));
      // The node's nsnet network has that subnet, its gateway .1 on cbr0.
      const net = JSON.parse(String((await c.nsnet(n.h, ['network', 'inspect', NETWORK], { store: false })).stdout))[0];
      expect(net.IPAM.Config[0]).toMatchObject({ Subnet: cidr, Gateway: cidr.replace('.0/24', '.1') });
      expect(String((await n.h.node.exec(['ip', '-4', 'addr', 'show', 'dev', 'cbr0'])).stdout)).toContain(`${cidr.replace('.0/24', '.1')}/24`);
    }
    expect(new Set([...l.keys()]).size).toBe(3);

    // The test set no route: each node has a route to each other node's /24 via that node, made by nsnet (proto 78).
    await routesMatchStore();

    // Node 1 -> node 3 and back, TCP: the listener sees the pod's own address (routed, never masqueraded in the cluster).
    whoInPod(cc);
    expect(await curlFrom(a, `http://${cc.ip}/`)).toBe(a.ip);
    whoInPod(a);
    expect(await curlFrom(cc, `http://${a.ip}/`)).toBe(cc.ip);
    expect(await curlFrom(b, `http://${cc.ip}/`)).toBe(b.ip);

    // Leaving the cluster range: masqueraded to the node's address (the WAN has no route back to 10.244.0.0/16).
    expect(await curlFrom(a, `http://${UNDERLAY.test}:${WAN_PORT}/`)).toBe(n1.h.address);
    expect(await curlFrom(cc, `http://${UNDERLAY.test}:${WAN_PORT}/`)).toBe(n3.h.address);
  }, SLOW);

  test('a node keeps its CIDR across a restart of its resident process, which puts its routes back', async () => {
    const n2 = nodes[1]!;
    const before = await leases();
    const pidFile = n2.h.node.path('/run/nsnet/dns.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    // Routes stay in the kernel when the process goes; removed by hand here, the next process must add them back.
    await n2.h.node.exec(['ip', 'route', 'flush', 'proto', '78']);
    expect(await nsnetRoutes(n2.h)).toEqual([]);
    // The supervisor's standby takes over (or the next nsnet command revives it).
    await settledIn(async () => {
      const now = Number(readFileSync(pidFile, 'utf8'));
      expect(now).not.toBe(pid);
    });
    await c.nsnet(n2.h, ['network', 'ls'], { store: false });
    await routesMatchStore();
    expect(await leases()).toEqual(before);
    const [b, cc] = [pods.find((p) => p.name === 'pod-b')!, pods.find((p) => p.name === 'pod-c')!];
    expect(await curlFrom(b, `http://${cc.ip}/`)).toBe(b.ip);
  }, SLOW);

  test('a node\'s etcd lease gone (revoked, as when it expires): the others drop their routes to it; its resident process takes its CIDR back', async () => {
    const n3 = nodes[2]!;
    const cidr = await leaseOf(n3.h.address);
    const hostRec = async () => {
      const r = await c.etcdctl(c.hosts[0]!, 'get', '--prefix', '--print-value-only', '/nsnet/v1/hosts/');
      return String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; address: string; lease: string }).find((h) => h.address === n3.h.address)!;
    };
    const old = await hostRec();
    // Seen as they happen (node 3 may take its CIDR back before a poll would see it gone).
    const monitors = nodes.slice(0, 2).map((n) => {
      const p = n.h.node.spawn(['ip', 'monitor', 'route']);
      bg.push(p);
      const out: string[] = [];
      p.stdout!.on('data', (d: Buffer) => out.push(String(d)));
      return out;
    });
    const watch = c.hosts[0]!.node.spawn(['env', 'ETCDCTL_API=3', '/usr/bin/etcdctl', '--endpoints', `http://${c.hosts[0]!.address}:2379`, 'watch', '--prefix', '/nsnet/v1/podcidrs/']);
    bg.push(watch);
    const events: string[] = [];
    watch.stdout!.on('data', (d: Buffer) => events.push(String(d)));
    await new Promise((r) => setTimeout(r, 500));
    const revoked = await c.etcdctl(c.hosts[0]!, 'lease', 'revoke', BigInt(old.lease).toString(16));
    expect(revoked.exitCode, String(revoked.stderr)).toBe(0);
    // The lease took node 3's pod CIDR with it: the other nodes delete their routes to it.
    const key = `/nsnet/v1/podcidrs/${CLUSTER.replace('/', '_')}/${cidr.replace('/', '_')}`;
    await settledIn(async () => {
      expect(events.join('')).toContain(`DELETE\n${key}`);
      for (const out of monitors) expect(out.join('')).toMatch(new RegExp(`Deleted ${cidr.replace(/\./g, '\\.')} via ${n3.h.address.replace(/\./g, '\\.')} .*proto 78`));
    });
    // Node 3's resident process finds its lease gone (at its next renewal), joins again and holds the same CIDR again.
    await settledIn(async () => expect(await leaseOf(n3.h.address)).toBe(cidr), 45_000);
    expect((await hostRec()).lease).not.toBe(old.lease);
    await routesMatchStore();
    const [a, cc] = [pods.find((p) => p.name === 'pod-a')!, pods.find((p) => p.name === 'pod-c')!];
    expect(await curlFrom(a, `http://${cc.ip}/`)).toBe(a.ip);
  }, SLOW);

  test('DEL of every pod leaves the leases (a node keeps its CIDR); after its network is removed the next ADD leases the same CIDR', async () => {
    const before = await leases();
    for (const p of bg.splice(0)) p.kill();
    await delPods();
    for (const n of nodes) expect(String((await c.nsnet(n.h, ['ps', '-aq'], { store: false })).stdout).trim()).toBe('');
    expect(await leases()).toEqual(before);
    await routesMatchStore();
    // Even with its nsnet network removed (a node reinstalled, its host id kept), the node asks by its host id and gets its CIDR back.
    const n1 = nodes[0]!;
    const cidr = await leaseOf(n1.h.address);
    const rm = await c.nsnet(n1.h, ['network', 'rm', NETWORK], { store: false });
    expect(rm.exitCode, String(rm.stderr)).toBe(0);
    const again = await addPod(n1, 'pod-d');
    expect(again.ip.split('.').slice(0, 3).join('.')).toBe(cidr.split('.').slice(0, 3).join('.'));
    expect(await leases()).toEqual(before);
    await routesMatchStore();
    await delPods();
  }, SLOW);
});
