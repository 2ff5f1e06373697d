// Three simulated Kubernetes nodes running nsnet as their CNI plugin (issue
// 14, "pods across nodes"): the pod model of seed 004 with the routing that
// flannel's host-gw backend (or a cloud route controller) sets up.
//
//            lan-<tag> (a namespace holding bridge br0: the nodes' LAN, 192.0.2.0/24)
//        ┌────────────────────┼────────────────────┐
//   node 1 192.0.2.1     node 2 192.0.2.2     node 3 192.0.2.3
//   cbr0 10.244.1.1/24   cbr0 10.244.2.1/24   cbr0 10.244.3.1/24
//   10.244.2.0/24 via .2 10.244.1.0/24 via .1 10.244.1.0/24 via .1
//   10.244.3.0/24 via .3 10.244.3.0/24 via .3 10.244.2.0/24 via .2
//   default: the WAN     default via .1       default via .1
//        │
//   wan-<tag> (198.51.100.1; "a server on the internet" at 203.0.113.1)
//
// Each node is a CniNode (test/helpers/runtimes.ts): a network namespace and
// a mount namespace of its own, so nsnet's state (/var/lib/nsnet, /run/nsnet),
// the result cache and /run/netns are the node's. Pods are `ip netns add`
// namespaces on the node, attached by the INSTALLED plugin executable run on
// the node the way libcni runs it (test/helpers/cni-exec.ts, wrapped in
// nsenter). Every node's conflist has clusterCIDR 10.244.0.0/16 and ipMasq.
//
// What it shows: pod -> pod across nodes keeps the pod's own source address
// (the listener on node 3 sees 10.244.1.x, not node 1's 192.0.2.1); pod ->
// WAN is masqueraded to the node's address.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CniRuntime, type Attachment, type Conflist } from '../helpers/cni-exec.js';
import { describeKernel, tag as newTag } from '../helpers/kernel.js';
import { CniNode, nodeLinks, nodeNetns, nsnetChain } from '../helpers/runtimes.js';
import { makeWan, WAN, type Wan } from '../helpers/wan.js';
import { WHO } from '../helpers/who.js';

const SLOW = 240_000;
const CLUSTER = '10.244.0.0/16';
const NSNET = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/nsnet.js');

interface K8sNode {
  n: CniNode;
  index: number;
  addr: string;
  podCidr: string;
  rt: CniRuntime;
  list: Conflist;
}

interface Pod {
  node: K8sNode;
  name: string;
  att: Attachment;
  ip: string;
}

const tag = newTag();
const lan = `lan-${tag}`;
const nodes: K8sNode[] = [];
const pods: Pod[] = [];
let wan: Wan | undefined;
let cacheRoot: string;
const bg: ResultPromise[] = [];

/** The conflist kubelet's CNI config would hold on node `i`: nsnet, its pod CIDR, the cluster's range. */
const podNetwork = (i: number): Conflist => ({
  cniVersion: '1.0.0',
  name: 'k8s-pod-network',
  plugins: [{
    type: 'nsnet', bridge: 'cbr0', isGateway: true, ipMasq: true, hairpinMode: true, clusterCIDR: CLUSTER,
    ipam: { type: 'nsnet', subnet: `10.244.${i}.0/24` },
    capabilities: { portMappings: true },
  }],
});

const ip = (...args: string[]) => execa('ip', args);

/** A pod on a node: a namespace (`ip netns add` on the node, as the CRI's sandbox), then CNI ADD. */
async function addPod(node: K8sNode, name: string): Promise<Pod> {
  await node.n.exec(['ip', 'netns', 'add', name]);
  const att: Attachment = { containerId: `${name}-${tag}`, netns: `/run/netns/${name}`, ifname: 'eth0', args: { K8S_POD_NAME: name, K8S_POD_NAMESPACE: 'default' } };
  const pod: Pod = { node, name, att, ip: '' };
  pods.push(pod);
  const r = await node.rt.add(node.list, att) as { ips: { address: string }[] };
  pod.ip = r.ips[0]!.address.split('/')[0]!;
  return pod;
}

/** The nsnet CLI on a node, on the state the plugin keeps there (its defaults: the plugin runs with a bare environment). */
const nsnetOn = (node: K8sNode, args: string[]) =>
  node.n.exec([process.execPath, NSNET, ...args], { env: { NSNET_DATA_DIR: '/var/lib/nsnet', NSNET_RUN_DIR: '/run/nsnet' } });

/** Runs a command in a pod. */
const inPod = (p: Pod, cmd: string[]) => p.node.n.exec(['ip', 'netns', 'exec', p.name, ...cmd], { reject: false });

/** curl from a pod until it answers (the first packets may race ARP and a listener's start). */
async function curlFrom(p: Pod, url: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 15; i++) {
    const r = await inPod(p, ['curl', '-s', '-m', '2', url]);
    if (r.exitCode === 0) return String(r.stdout);
    last = `exit ${r.exitCode}: ${String(r.stderr)}`;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`curl ${url} from pod ${p.name} on node ${p.node.index}: ${last}`);
}

/** Ends background processes and waits for them. */
async function stopAll(ps: ResultPromise[]): Promise<void> {
  for (const p of ps) p.kill();
  await Promise.allSettled(ps);
}

/** The who-am-I server (answers with the peer's address) in a pod, on port 80. */
function whoInPod(p: Pod): void {
  bg.push(p.node.n.spawn(['ip', 'netns', 'exec', p.name, process.execPath, '-e', WHO, '80', '0.0.0.0']));
}

describeKernel('CNI: three nodes, pods across them (clusterCIDR, host-gw routes)', () => {
  beforeAll(async () => {
    await nsnetChain.prepare!();
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-nodes-'));
    // The LAN: a bridge in a namespace of its own.
    await ip('netns', 'add', lan);
    await ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', lan, 'link', 'set', 'br0', 'up');
    for (const i of [1, 2, 3]) {
      const n = await CniNode.make(`${tag}${i}`, nsnetChain.pluginDirs[0]!);
      const node: K8sNode = {
        n, index: i, addr: `192.0.2.${i}`, podCidr: `10.244.${i}.0/24`, list: podNetwork(i),
        rt: new CniRuntime({ path: nsnetChain.pluginDirs, cacheDir: path.join(cacheRoot, `node${i}`), wrap: n.enter }),
      };
      nodes.push(node);
      await ip('-n', lan, 'link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', n.name);
      await ip('-n', lan, 'link', 'set', `n${i}`, 'master', 'br0', 'up');
      await ip('-n', n.name, 'addr', 'add', `${node.addr}/24`, 'dev', 'lan0');
      await ip('-n', n.name, 'link', 'set', 'lan0', 'up');
      n.writeConflist({ ...node.list });
    }
    // flannel host-gw: every node routes each other node's pod CIDR via that node.
    for (const a of nodes) for (const b of nodes) if (a !== b) await ip('-n', a.n.name, 'route', 'add', b.podCidr, 'via', b.addr);
    // The WAN behind node 1 (its uplink and default route); the others leave through node 1.
    wan = await makeWan(nodes[0]!.n.ns, tag);
    for (const b of nodes.slice(1)) await ip('-n', b.n.name, 'route', 'add', 'default', 'via', nodes[0]!.addr);
    // The upstream router knows the nodes' LAN (as a real one would), not the pods' range.
    await ip('-n', wan.name, 'route', 'add', '192.0.2.0/24', 'via', WAN.hostAddr);
    bg.push(execa('ip', ['netns', 'exec', wan.name, process.execPath, '-e', WHO, '80', WAN.server], { reject: false }));
  }, SLOW);

  afterAll(async () => {
    await stopAll(bg.splice(0));
    for (const p of pods.splice(0)) await p.node.rt.del(p.node.list, p.att).catch(() => {});
    for (const node of nodes.splice(0)) await node.n.stop();
    await wan?.remove().catch(() => {});
    await ip('netns', 'del', lan).catch(() => {});
    rmSync(cacheRoot, { recursive: true, force: true });
  }, SLOW);

  test('a pod on node 1 and a pod on node 3 talk TCP with their own addresses; pods reach the WAN masqueraded; DEL leaves nothing', async () => {
    const [n1, n2, n3] = nodes as [K8sNode, K8sNode, K8sNode];
    const a = await addPod(n1, 'pod-a');
    const c = await addPod(n3, 'pod-c');
    const b = await addPod(n2, 'pod-b');
    expect(a.ip).toMatch(/^10\.244\.1\.\d+$/);
    expect(b.ip).toMatch(/^10\.244\.2\.\d+$/);
    expect(c.ip).toMatch(/^10\.244\.3\.\d+$/);
    // Each node made its own nsnet network on its own cbr0, with the cluster range exempt from masquerade.
    for (const node of nodes) {
      const inspect = await nsnetOn(node, ['network', 'inspect', 'k8s-pod-network']);
      expect(String(inspect.stdout)).toContain(node.podCidr);
      expect(String((await node.n.exec(['nft', 'list', 'set', 'ip', 'nsnet', 'masq_exempt'])).stdout)).toContain(`${node.podCidr} . ${CLUSTER}`);
    }

    // Node 1 -> node 3, TCP: the listener sees pod-a's own address (routed, never masqueraded inside the cluster).
    whoInPod(c);
    expect(await curlFrom(a, `http://${c.ip}/`)).toBe(a.ip);
    // And back, node 3 -> node 1; and node 2 -> node 3.
    whoInPod(a);
    expect(await curlFrom(c, `http://${a.ip}/`)).toBe(c.ip);
    expect(await curlFrom(b, `http://${c.ip}/`)).toBe(b.ip);

    // Leaving the cluster range: masqueraded to the node's address. Node 1's pod leaves by node 1's
    // uplink (198.51.100.2); node 3's pod goes to node 1 as node 3 (192.0.2.3), node 1 only routes it.
    expect(await curlFrom(a, `http://${WAN.server}/`)).toBe(WAN.hostAddr);
    expect(await curlFrom(c, `http://${WAN.server}/`)).toBe(n3.addr);

    // DEL every pod: nothing of them left on any node (links, nsnet records, address reservations).
    await stopAll(bg.splice(0));
    for (const p of pods.splice(0)) {
      await p.node.rt.del(p.node.list, p.att);
      await p.node.n.exec(['ip', 'netns', 'del', p.name]);
    }
    for (const node of nodes) {
      expect((await nodeLinks(node.n)).filter((l) => !['lo', 'lan0', 'cbr0', wan!.hostIf].includes(l))).toEqual([]);
      expect(nodeNetns(node.n)).toEqual([]);
      expect(String((await nsnetOn(node, ['ps', '-aq'])).stdout).trim()).toBe('');
    }
  }, SLOW);
});
