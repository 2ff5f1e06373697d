// Chaining (issue 14): plugins of containernetworking-plugins (Debian's
// /usr/lib/cni) after nsnet in one conflist, run by the test runtime
// (test/helpers/cni-exec.ts: libcni's rules - each plugin's result is the
// next one's prevResult, the last result cached, CHECK and DEL get the cached
// result, DEL runs the list in reverse) with the INSTALLED nsnet executable,
// on a CniNode (its own network and mount namespaces: nsnet's state, libcni's
// cache and tuning's saved settings are the node's).
//
//   tuning     sysctl net.core.somaxconn, MAC and MTU of eth0 in the pod: it reads
//              nsnet's result as prevResult, changes the interface, and returns the
//              result with the new MAC; CHECK compares, DEL puts the old values back
//   bandwidth  a tbf qdisc on the host veth it finds through nsnet's result
//   firewall   iptables rules (CNI-FORWARD) for the pod's address from the result
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { CniRuntime, type Attachment, type Conflist, type PluginRun } from '../helpers/cni-exec.js';
import { describeKernel, eventually, tag as newTag } from '../helpers/kernel.js';
import { CniNode, nodeLinks, nsnetChain } from '../helpers/runtimes.js';

const SLOW = 180_000;
const REF = '/usr/lib/cni';
const NSNET = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/nsnet.js');
const haveRef = ['tuning', 'bandwidth', 'firewall'].every((p) => existsSync(path.join(REF, p)));

const MAC = '0a:58:0a:f4:01:63';

describeKernel('CNI chaining: containernetworking-plugins after nsnet', () => {
  let node: CniNode;
  let cacheDir: string;
  let log: PluginRun[];
  let rt: CniRuntime;
  const pods: string[] = [];
  const tag = newTag();

  beforeAll(async () => {
    await nsnetChain.prepare!();
    node = await CniNode.make(tag, nsnetChain.pluginDirs[0]!);
    cacheDir = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-chain-'));
  }, SLOW);
  afterAll(async () => {
    await node?.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const p of pods.splice(0)) await node.exec(['ip', 'netns', 'del', p], { reject: false });
  });

  const runtime = (env: Record<string, string> = {}) => {
    log = [];
    rt = new CniRuntime({ path: nsnetChain.pluginDirs, cacheDir, wrap: node.enter, log, env });
    return rt;
  };
  const pod = async (name: string): Promise<Attachment> => {
    await node.exec(['ip', 'netns', 'add', name]);
    pods.push(name);
    return { containerId: `${name}-${tag}`, netns: `/run/netns/${name}`, ifname: 'eth0' };
  };
  const inPod = async (name: string, cmd: string[]) => String((await node.exec(['ip', 'netns', 'exec', name, ...cmd])).stdout).trim();
  const eth0 = async (name: string) => JSON.parse(await inPod(name, ['ip', '-j', 'link', 'show', 'eth0']))[0] as { address: string; mtu: number };
  const nsnetPs = async () => String((await node.exec([process.execPath, NSNET, 'ps', '-aq'], { env: { NSNET_DATA_DIR: '/var/lib/nsnet', NSNET_RUN_DIR: '/run/nsnet' } })).stdout).trim();
  const hostVeths = async () => (await nodeLinks(node)).filter((l) => /^veth/.test(l));
  const order = () => log.map((r) => `${r.command} ${path.basename(r.plugin)}`);

  const nsnetPlugin = (subnet: string, bridge: string) => ({
    type: 'nsnet', bridge, isGateway: true, ipMasq: true, ipam: { type: 'nsnet', subnet },
  });

  test.skipIf(!haveRef)('tuning after nsnet: prevResult chain on ADD, its sysctl/MAC/MTU in the pod, CHECK passes, DEL in reverse leaves nothing', async () => {
    const list: Conflist = {
      cniVersion: '1.0.0', name: `chain${tag}`,
      plugins: [
        nsnetPlugin('10.244.5.0/24', 'cbr5'),
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '511' }, mac: MAC, mtu: 1400 },
      ],
    };
    runtime();
    const att = await pod('tun');
    const before = await inPod('tun', ['cat', '/proc/sys/net/core/somaxconn']);
    expect(before).not.toBe('511');

    const result = await rt.add(list, att) as { ips: { address: string }[]; interfaces: { name: string; mac: string; sandbox?: string }[] };
    expect(order()).toEqual(['ADD nsnet', 'ADD tuning']);
    // tuning got nsnet's result as its prevResult, and built its own on it: nsnet's address, tuning's MAC.
    const nsnetResult = log[0]!.json as { ips: { address: string }[] };
    expect(log[1]!.stdin.prevResult).toEqual(nsnetResult);
    expect(nsnetResult.ips[0]!.address).toMatch(/^10\.244\.5\.\d+\/24$/);
    expect(result.ips).toEqual(nsnetResult.ips);
    expect(result.interfaces.find((i) => i.name === 'eth0' && i.sandbox === att.netns)?.mac).toBe(MAC);
    // What tuning did is there in the pod, on nsnet's interface.
    expect(await inPod('tun', ['cat', '/proc/sys/net/core/somaxconn'])).toBe('511');
    expect(await eth0('tun')).toMatchObject({ address: MAC, mtu: 1400 });
    expect(await inPod('tun', ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).toContain(nsnetResult.ips[0]!.address);

    // CHECK: both plugins, each with the cached (final) result as prevResult.
    log.length = 0;
    await rt.check(list, att);
    expect(order()).toEqual(['CHECK nsnet', 'CHECK tuning']);
    expect(log.every((r) => JSON.stringify(r.stdin.prevResult) === JSON.stringify(result))).toBe(true);
    // Nothing hides a real fault: CHECK fails once the address is gone.
    await node.exec(['ip', '-n', 'tun', 'addr', 'flush', 'dev', 'eth0']);
    await expect(rt.check(list, att)).rejects.toThrow(/nsnet CHECK failed.*address/);

    // DEL: the list in reverse, then nothing left (nsnet's record, the host veth, the cache entry, tuning's saved state).
    log.length = 0;
    await rt.del(list, att);
    expect(order()).toEqual(['DEL tuning', 'DEL nsnet']);
    expect(await nsnetPs()).toBe('');
    // The resident process answers DEL before the veth is deleted: gone shortly after.
    await eventually(async () => (await hostVeths()).length === 0, 5000, 'the host veth deleted after DEL answered').catch(() => {});
    expect(await hostVeths()).toEqual([]);
    expect(await inPod('tun', ['ip', '-o', 'link', 'show'])).not.toContain('eth0');
    expect(rt.cachedResult(list.name, att)).toBeUndefined();
    const tuningDir = node.path('/var/lib/cni/tuning');
    expect(existsSync(tuningDir) ? readdirSync(tuningDir) : []).toEqual([]);
    // DEL again (the runtime retrying): still success for both.
    await rt.del(list, att);
  }, SLOW);

  test.skipIf(!haveRef)('bandwidth and firewall after nsnet and tuning: they find the host veth and the address in the result; DEL removes their part', async () => {
    const list: Conflist = {
      cniVersion: '1.0.0', name: `chainbw${tag}`,
      plugins: [
        nsnetPlugin('10.244.6.0/24', 'cbr6'),
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '511' } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
        { type: 'firewall', backend: 'iptables' },
      ],
    };
    // firewall runs iptables from PATH: the runtimes pass theirs on (containerd and Podman give plugins their environment).
    runtime({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
    const att = await pod('bw');
    att.capabilityArgs = { bandwidth: { ingressRate: 8_000_000, ingressBurst: 100_000, egressRate: 8_000_000, egressBurst: 100_000 } };
    const result = await rt.add(list, att) as { ips: { address: string }[]; interfaces: { name: string; sandbox?: string }[] };
    expect(order()).toEqual(['ADD nsnet', 'ADD tuning', 'ADD bandwidth', 'ADD firewall']);
    const addr = result.ips[0]!.address.split('/')[0]!;
    // bandwidth: a tbf on nsnet's host veth (the result's interface without a sandbox that is eth0's peer).
    const [veth] = await hostVeths();
    expect(result.interfaces.map((i) => i.name)).toContain(veth);
    expect(String((await node.exec(['tc', 'qdisc', 'show', 'dev', veth!])).stdout)).toMatch(/tbf/);
    // firewall: its chain holds the pod's address.
    expect(String((await node.exec(['iptables', '-S', 'CNI-FORWARD'])).stdout)).toContain(addr);

    log.length = 0;
    await rt.check(list, att);
    expect(order()).toEqual(['CHECK nsnet', 'CHECK tuning', 'CHECK bandwidth', 'CHECK firewall']);

    log.length = 0;
    await rt.del(list, att);
    expect(order()).toEqual(['DEL firewall', 'DEL bandwidth', 'DEL tuning', 'DEL nsnet']);
    expect(await nsnetPs()).toBe('');
    // The resident process answers DEL before the veth is deleted: gone shortly after.
    await eventually(async () => (await hostVeths()).length === 0, 5000, 'the host veth deleted after DEL answered').catch(() => {});
    expect(await hostVeths()).toEqual([]);
    expect(String((await node.exec(['iptables', '-S', 'CNI-FORWARD'], { reject: false })).stdout)).not.toContain(addr);
    expect((await nodeLinks(node)).filter((l) => /^bwp/.test(l))).toEqual([]); // bandwidth's ifb device
  }, SLOW);
});
