// 50 ADDs at once through the INSTALLED plugin executable (issue 14,
// conformance): runtimes start one plugin process per pod and run them in
// parallel (containerd's CRI does for every pod sandbox). 50 plugin processes
// on a CniNode, each forwarding its call to the resident nsnet process (the
// native plugin, src/cli/cni-serve.ts: checked by NSNET_CNI_TRACE's line), whose
// 50 concurrent calls take turns at nsnet's state lock: every one gets its own
// address, then 50 DELs at once leave nothing (no record, no veth, no
// reservation: the next ADD gets the lowest address again).
// test/kernel/cni-backend.test.ts does the same in-process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CniRuntime, servedBy, type Attachment, type Conflist, type PluginRun } from '../helpers/cni-exec.js';
import { describeKernel, eventually, tag as newTag } from '../helpers/kernel.js';
import { CniNode, nodeLinks, nodeNetns, nsnetChain } from '../helpers/runtimes.js';

// 50 Node starts on a loaded 2-vCPU machine: minutes, not seconds.
const SLOW = 300_000;
const N = 50;
const NSNET = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/nsnet.js');

describeKernel('CNI: parallel plugin processes', () => {
  const tag = newTag();
  let node: CniNode;
  let cacheDir: string;
  let rt: CniRuntime;
  const list: Conflist = {
    cniVersion: '1.0.0', name: `par${tag}`,
    plugins: [{ type: 'nsnet', bridge: 'cbr7', isGateway: true, ipMasq: true, ipam: { type: 'nsnet', subnet: '10.244.7.0/24' } }],
  };

  beforeAll(async () => {
    await nsnetChain.prepare!();
    node = await CniNode.make(tag, nsnetChain.pluginDirs[0]!);
    cacheDir = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-par-'));
    rt = new CniRuntime({ path: nsnetChain.pluginDirs, cacheDir, wrap: node.enter });
  }, SLOW);
  afterAll(async () => {
    await node?.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const nsnetPs = async () => String((await node.exec([process.execPath, NSNET, 'ps', '-aq'], { env: { NSNET_DATA_DIR: '/var/lib/nsnet', NSNET_RUN_DIR: '/run/nsnet' } })).stdout).trim();
  const hostVeths = async () => (await nodeLinks(node)).filter((l) => /^veth/.test(l));

  test(`${N} ADDs at once, one plugin process each: distinct addresses; ${N} DELs at once leave nothing`, async () => {
    const pods: Attachment[] = [];
    for (let i = 0; i < N; i++) {
      await node.exec(['ip', 'netns', 'add', `p${i}`]);
      pods.push({ containerId: `par${i}-${tag}`, netns: `/run/netns/p${i}`, ifname: 'eth0' });
    }
    // The first ADD on the node runs the Node plugin, which starts the resident process (the DNS server): from
    // then on the native plugin forwards every call to it. A pod added and deleted first, so the 50 go that way.
    await node.exec(['ip', 'netns', 'add', 'warm']);
    const warm = { containerId: `warm-${tag}`, netns: '/run/netns/warm', ifname: 'eth0' };
    await rt.add(list, warm);
    await rt.del(list, warm);
    await node.exec(['ip', 'netns', 'del', 'warm']);
    const log: PluginRun[] = [];
    const traced = new CniRuntime({ ...rt.o, env: { NSNET_CNI_TRACE: '1' }, log });
    let t0 = performance.now();
    const results = await Promise.all(pods.map((p) => traced.add(list, p) as Promise<{ ips: { address: string }[] }>));
    const addMs = performance.now() - t0;
    const addrs = results.map((r) => r.ips[0]!.address);
    expect(new Set(addrs).size).toBe(N);
    for (const a of addrs) expect(a).toMatch(/^10\.244\.7\.\d+\/24$/);
    // Lowest free, no holes, whatever order the processes got the lock in: .2 .. .51.
    expect(addrs.map((a) => Number(a.split('/')[0]!.split('.')[3])).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 2));
    // Each pod has the address its result names.
    for (const i of [0, N - 1]) {
      const shown = String((await node.exec(['ip', '-n', `p${i}`, '-4', '-o', 'addr', 'show', 'eth0'])).stdout);
      expect(shown).toContain(addrs[i]);
    }
    expect(await hostVeths()).toHaveLength(N);

    t0 = performance.now();
    await Promise.all(pods.map((p) => traced.del(list, p)));
    const delMs = performance.now() - t0;
    // Every one of the 100 calls was served by the one resident process: no Node started for any.
    expect(log).toHaveLength(2 * N);
    const pids = new Set(log.map((r) => servedBy(r)));
    expect([...pids].length, log.find((r) => !r.stderr.includes('served by'))?.stderr).toBe(1);
    expect([...pids][0]).toMatch(/^\d+$/);
    // How long the resident process's event loop (its DNS answers) was held, at most, while the 100 calls ran.
    const blocked = Math.max(...log.map((r) => Number(/blocked at most ([\d.]+) ms/.exec(r.stderr)?.[1] ?? NaN)));
    console.log(`resident process: event loop blocked at most ${blocked} ms during the ${2 * N} calls`);
    console.log(`${N} parallel plugin processes: ADD ${Math.round(addMs)} ms, DEL ${Math.round(delMs)} ms (wall, all of them)`);
    expect(await nsnetPs()).toBe('');
    // The resident process answers a DEL before its veth is deleted (the address held until it is): gone shortly after.
    await eventually(async () => (await hostVeths()).length === 0, 10_000, 'the host veths deleted after the DELs answered').catch(() => {});
    expect(await hostVeths()).toEqual([]);
    for (let i = 0; i < N; i++) await node.exec(['ip', 'netns', 'del', `p${i}`]);
    expect(nodeNetns(node)).toEqual([]);
    // No reservation left: a new pod gets the lowest address again.
    await node.exec(['ip', 'netns', 'add', 'again']);
    const again = { containerId: `again-${tag}`, netns: '/run/netns/again', ifname: 'eth0' };
    expect(((await rt.add(list, again)) as { ips: { address: string }[] }).ips[0]!.address).toBe('10.244.7.2/24');
    await rt.del(list, again);
    await node.exec(['ip', 'netns', 'del', 'again']);
    expect(await nsnetPs()).toBe('');
  }, SLOW);
});
