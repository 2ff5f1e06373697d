// The overlay datapath on three simulated hosts (plain network namespaces:
// no mount namespaces are needed, nothing here reads /run or /etc), joined
// by a fake underlay LAN, 198.51.100.0/24 on a bridge in a fourth namespace:
//
//          lan0 (bridge, namespace L)
//        /        |        \
//   h1 eth0   h2 eth0    h3 eth0      198.51.100.1 / .2 / .3
//   vxlan42   vxlan42    vxlan42      VNI 42, UDP 4789, nolearning, proxy
//   ov-<id>   ov-<id>    ov-<id>      the network's bridge on each host
//   s1a s1b   s2         s3           sandboxes, 10.99.0.0/24, MTU 1450
//
// Every entry is programmed by the plan steps of src/docker/vxlan.ts (not by
// `ip`); `ip`, `bridge` and tcpdump are the oracle.
import net from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { overlayBridgeName, overlayEntries, overlayNetworkSteps, remoteEndpointSteps, type RemoteEndpoint } from '../../src/docker/vxlan.js';
import { removeSteps, runSteps, type Action, type Step } from '../../src/docker/plan.js';
import { addrAdd } from '../../src/kernel/addr.js';
import { bridgeAdd } from '../../src/kernel/bridge.js';
import { KernelError } from '../../src/kernel/errors.js';
import { fdbAdd } from '../../src/kernel/fdb.js';
import { linkGet, linkSet } from '../../src/kernel/link.js';
import { netnsAdd, netnsDel, type Netns } from '../../src/kernel/netns.js';
import { socketBind } from '../../src/kernel/socket.js';
import { vethAdd } from '../../src/kernel/veth.js';
import { overlayMtu, vxlanAdd, vxlanName } from '../../src/kernel/vxlan.js';
import { macFromIPv4 } from '../../src/net/mac.js';
import { describeKernel, inNetns, ipJson, ping, tag } from '../helpers/kernel.js';

const T = tag();
const ID = `${T}0123456789`.padEnd(64, 'a');
const VNI = 42;
const VX = vxlanName(VNI);
const BR = overlayBridgeName(ID);
const MTU = overlayMtu(1500);

interface Host { n: number; ns: Netns; ip: string; trace: Action[]; endpointSteps: Map<string, Step[]> }
interface Sandbox { name: string; ns: Netns; host: Host; ip: string; mac: string }

let lan: Netns;
const hosts: Host[] = [];
const sandboxes: Sandbox[] = [];
const all: Netns[] = [];

async function makeHost(n: number): Promise<Host> {
  const ns = await netnsAdd(`vx${T}h${n}`);
  all.push(ns);
  const ip = `198.51.100.${n}`;
  await vethAdd(lan, { name: `h${n}`, master: await linkGet(lan, 'lan0'), up: true, peer: { name: 'eth0', netns: ns } });
  const eth0 = await linkGet(ns, 'eth0');
  await linkSet(ns, eth0, { up: true });
  await addrAdd(ns, eth0, `${ip}/24`);
  const h: Host = { n, ns, ip, trace: [], endpointSteps: new Map() };
  await runSteps(overlayNetworkSteps(ns, { name: 'ov', id: ID, vni: VNI, local: ip, underlay: 'eth0', mtu: MTU }),
    { observe: (s) => { h.trace.push(s); } });
  return h;
}

async function makeSandbox(name: string, host: Host, last: number): Promise<Sandbox> {
  const ns = await netnsAdd(`vx${T}${name}`);
  all.push(ns);
  const ip = `10.99.0.${last}`;
  const mac = macFromIPv4(ip);
  await vethAdd(host.ns, { name: `v${name}`, master: await linkGet(host.ns, BR), up: true, mtu: MTU,
    peer: { name: 'eth0', netns: ns, address: mac, mtu: MTU } });
  const eth0 = await linkGet(ns, 'eth0');
  await linkSet(ns, eth0, { up: true });
  await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
  await addrAdd(ns, eth0, `${ip}/24`);
  return { name, ns, host, ip, mac };
}

const remote = (s: Sandbox): RemoteEndpoint => ({ ip: s.ip, mac: s.mac, host: s.host.ip, name: s.name });

/** Programs, on `h`, the entries for every sandbox on the other hosts (what the store's watch would do). */
async function programRemotes(h: Host): Promise<void> {
  for (const s of sandboxes.filter((x) => x.host !== h)) {
    const steps = remoteEndpointSteps(h.ns, VNI, remote(s));
    await runSteps(steps, { observe: (a) => { h.trace.push(a); } });
    h.endpointSteps.set(s.name, steps);
  }
}

const sb = (name: string) => sandboxes.find((s) => s.name === name)!;

/** tcpdump on a host's underlay, for UDP 4789 only; stop() returns the lines it printed. */
async function capture(h: Host): Promise<{ stop: () => Promise<string[]> }> {
  const p: ResultPromise = execa('ip', ['netns', 'exec', h.ns.name!, 'tcpdump', '-l', '-n', '-v', '-i', 'eth0', 'udp', 'port', '4789'],
    { reject: false, buffer: true, timeout: 30_000 });
  // Ready once it says it is listening (on stderr).
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
    p.stderr!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) { clearTimeout(t); resolve(); }
    });
  });
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300)); // let the last packets be printed
      p.kill('SIGINT');
      const r = await p;
      return String(r.stdout).split('\n').filter(Boolean);
    },
  };
}

/** One TCP exchange from `from` to `to`:7000; returns what the server saw as the client's address. */
async function tcpFrom(from: Sandbox, port: number, to: Sandbox): Promise<string> {
  const r = await inNetns(from.ns.name!, ['bash', '-c', `exec 3<>/dev/tcp/${to.ip}/${port}; echo hello >&3; cat <&3`], { reject: false });
  return r.stdout.trim();
}

/** What `ip`/`bridge` see on a host: the vxlan device, its bridge, its own fdb entries and its neighbour entries. */
async function kernelState(h: Host) {
  const name = h.ns.name!;
  const [vx] = await ipJson<any[]>(['-d', 'link', 'show', 'dev', VX], name);
  const [br] = await ipJson<any[]>(['-d', 'link', 'show', 'dev', BR], name);
  const fdb = JSON.parse((await execa('bridge', ['-n', name, '-j', 'fdb', 'show', 'dev', VX])).stdout) as any[];
  const neigh = await ipJson<any[]>(['neigh', 'show', 'dev', VX], name);
  const sorted = <T>(a: T[]) => a.map((x) => JSON.stringify(x)).sort();
  return {
    vxlan: { mtu: vx.mtu, master: vx.master, flags: [...vx.flags].sort(), kind: vx.linkinfo.info_kind, data: vx.linkinfo.info_data, slave: vx.linkinfo.info_slave_kind },
    bridge: { mtu: br.mtu, address: br.address, flags: [...br.flags].sort(), kind: br.linkinfo.info_kind },
    fdb: sorted(fdb.filter((f) => f.flags?.includes('self')).map((f) => ({ mac: f.mac, dst: f.dst, state: f.state, flags: f.flags }))),
    neigh: sorted(neigh.map((n) => ({ dst: n.dst, lladdr: n.lladdr, state: n.state }))),
  };
}

describeKernel('VXLAN overlay datapath on three hosts', () => {
  beforeAll(async () => {
    lan = await netnsAdd(`vx${T}l`);
    all.push(lan);
    await bridgeAdd(lan, { name: 'lan0', up: true });
    for (const n of [1, 2, 3]) hosts.push(await makeHost(n));
    const [h1, h2, h3] = hosts as [Host, Host, Host];
    sandboxes.push(await makeSandbox('s1a', h1, 1), await makeSandbox('s1b', h1, 11), await makeSandbox('s2', h2, 2), await makeSandbox('s3', h3, 3));
    for (const h of hosts) await programRemotes(h);
  });
  afterAll(async () => {
    for (const ns of all.reverse()) await netnsDel(ns).catch(() => {});
  });

  test('each host has vxlan42 (VNI 42, UDP 4789, its own local address, nolearning, proxy) in the bridge, MTU underlay - 50', async () => {
    for (const h of hosts) {
      const [vx] = await ipJson<any[]>(['-d', 'link', 'show', 'dev', VX], h.ns.name);
      expect(vx.linkinfo.info_kind).toBe('vxlan');
      expect(vx.linkinfo.info_data).toMatchObject({ id: VNI, port: 4789, local: h.ip, link: 'eth0', learning: false, proxy: true });
      expect(vx.master).toBe(BR);
      expect(vx.mtu).toBe(1450);
      expect(vx.flags).toContain('UP');
      // The addon reads the same back (for checks and reconcile).
      const l = await linkGet(h.ns, VX);
      expect(l.vxlan).toMatchObject({ id: VNI, port: 4789, local: h.ip, learning: false, proxy: true });
      // One fdb and one neighbour entry per sandbox elsewhere, and nothing else of its own: no all-zeros (flood) entry.
      const others = sandboxes.filter((s) => s.host !== h);
      const e = await overlayEntries(h.ns, VNI);
      expect(e.fdb.map((f) => `${f.mac} ${f.dst}`).sort()).toEqual(others.map((s) => `${s.mac} ${s.host.ip}`).sort());
      expect(e.neigh.map((n) => `${n.ip} ${n.mac} ${n.state.join()}`).sort()).toEqual(others.map((s) => `${s.ip} ${s.mac} PERMANENT`).sort());
      const fdb = JSON.parse((await execa('bridge', ['-n', h.ns.name!, '-j', 'fdb', 'show', 'dev', VX])).stdout) as any[];
      expect(fdb.filter((f) => f.mac === '00:00:00:00:00:00')).toEqual([]);
    }
  });

  test('every step was traced with its ip/bridge equivalent', () => {
    const h1 = hosts[0]!;
    const lines = h1.trace.flatMap((s) => s.equivalent);
    expect(h1.trace.every((s) => s.equivalent.length === 1)).toBe(true);
    expect(lines.slice(0, 2)).toEqual([
      `ip -n ${h1.ns.name} link add ${BR} mtu 1450 address 02:${ID.slice(0, 10).match(/../g)!.join(':')} up type bridge`,
      `ip -n ${h1.ns.name} link add ${VX} mtu 1450 master ${BR} up type vxlan id 42 dstport 4789 local 198.51.100.1 dev eth0 nolearning proxy`,
    ]);
    expect(lines).toContain(`bridge -n ${h1.ns.name} fdb replace ${sb('s3').mac} dev ${VX} dst 198.51.100.3 self permanent`);
    expect(lines).toContain(`ip -n ${h1.ns.name} neigh replace 10.99.0.3 lladdr ${sb('s3').mac} dev ${VX} nud permanent`);
    expect(lines).toHaveLength(2 + 2 * 2); // the network, then s2 and s3
  });

  test('sandboxes on different hosts ping each other and exchange TCP with their own addresses', async () => {
    for (const [a, b] of [['s1a', 's2'], ['s1a', 's3'], ['s2', 's3'], ['s1b', 's3'], ['s3', 's1b'], ['s1a', 's1b']] as const) {
      expect(await ping(sb(a).ns.name!, sb(b).ip), `${a} -> ${b}`).toBe(true);
    }
    // A TCP server in s3, its socket opened in s3's namespace by the addon; it answers with the client's address.
    const s3 = sb('s3');
    const sock = await socketBind(s3.ns, { type: 'tcp', address: s3.ip, port: 7000 });
    const server = net.createServer((c) => { c.end(`${c.remoteAddress}\n`); });
    await new Promise<void>((resolve) => server.listen({ fd: sock.fd }, resolve));
    try {
      expect(await tcpFrom(sb('s1a'), 7000, s3)).toBe('10.99.0.1');
      expect(await tcpFrom(sb('s2'), 7000, s3)).toBe('10.99.0.2');
      // A full-size segment: the 1450 MTU leaves room for the 50 bytes of VXLAN headers on the 1500 underlay.
      const big = await inNetns(sb('s1a').ns.name!, ['ping', '-c1', '-W2', '-M', 'do', '-s', String(1450 - 28), s3.ip], { reject: false });
      expect(big.exitCode, big.stdout).toBe(0);
    } finally {
      server.close();
    }
  });

  test('tcpdump on the underlay: VXLAN (UDP 4789, VNI 42) only to the destination host, no ARP carried, nothing for local traffic', async () => {
    const [s1a, s2] = [sb('s1a'), sb('s2')];
    // Forget learnt addresses so the next ping must resolve them again.
    for (const s of sandboxes) await execa('ip', ['-n', s.ns.name!, 'neigh', 'flush', 'all']);
    const [c2, c3] = [await capture(hosts[1]!), await capture(hosts[2]!)];
    let seen2: string[] = [];
    let seen3: string[] = [];
    try {
      expect(await ping(s1a.ns.name!, s2.ip)).toBe(true);
      expect(await ping(s1a.ns.name!, sb('s1b').ip)).toBe(true); // same host: stays on h1's bridge
    } finally {
      seen2 = await c2.stop();
      seen3 = await c3.stop();
    }
    const outer = seen2.filter((l) => l.includes('VXLAN'));
    expect(outer.length).toBeGreaterThanOrEqual(2); // request in, reply out
    expect(outer.every((l) => l.includes('vni 42'))).toBe(true);
    expect(seen2.some((l) => l.includes('198.51.100.1.') && l.includes('> 198.51.100.2.4789'))).toBe(true);
    expect(seen2.some((l) => l.includes(`${s1a.ip} > ${s2.ip}: ICMP echo request`))).toBe(true);
    // The sandboxes' ARP was answered on their own hosts (proxy): none inside the tunnel.
    expect(seen2.filter((l) => /ARP|Request who-has/.test(l))).toEqual([]);
    // h3 holds neither destination: not one packet.
    expect(seen3).toEqual([]);
  });

  test('removing a remote endpoint\'s entries stops traffic to it; programming them again restores it', async () => {
    const [h1, s1a, s3] = [hosts[0]!, sb('s1a'), sb('s3')];
    const steps = h1.endpointSteps.get('s3')!;
    await removeSteps(steps);
    const e = await overlayEntries(h1.ns, VNI);
    expect(e.fdb.map((f) => f.mac)).not.toContain(s3.mac);
    expect(e.neigh.map((n) => n.ip)).not.toContain(s3.ip);
    expect(await ipJson(['neigh', 'show', 'dev', VX, 'to', s3.ip], h1.ns.name)).toEqual([]);

    await execa('ip', ['-n', s1a.ns.name!, 'neigh', 'flush', 'all']);
    const c3 = await capture(hosts[2]!);
    let seen3: string[] = [];
    try {
      expect(await ping(s1a.ns.name!, s3.ip)).toBe(false);
      // Even with the MAC known (as if the ARP cache outlived the entries), the vxlan device sends nothing.
      await execa('ip', ['-n', s1a.ns.name!, 'neigh', 'replace', s3.ip, 'lladdr', s3.mac, 'dev', 'eth0']);
      expect(await ping(s1a.ns.name!, s3.ip)).toBe(false);
    } finally {
      seen3 = await c3.stop();
    }
    expect(seen3).toEqual([]);
    expect(await ping(sb('s2').ns.name!, s3.ip)).toBe(true); // the other hosts still reach it

    await runSteps(steps);
    await execa('ip', ['-n', s1a.ns.name!, 'neigh', 'flush', 'all']);
    // The same capture on h3 does see the tunnel once the entries are back (so its silence above meant something).
    const again = await capture(hosts[2]!);
    let back: string[] = [];
    try {
      expect(await ping(s1a.ns.name!, s3.ip)).toBe(true);
    } finally {
      back = await again.stop();
    }
    expect(back.some((l) => l.includes('> 198.51.100.3.4789: VXLAN') && l.includes('vni 42'))).toBe(true);
  });

  test('errors keep the kernel\'s errno and words, and say what was being done', async () => {
    const h1 = hosts[0]!;
    const eth0 = await linkGet(h1.ns, 'eth0');
    // A second device for the same VNI and port in one namespace: the kernel refuses, and explains.
    const dup = await vxlanAdd(h1.ns, { name: 'vxdup', vni: VNI, local: h1.ip, dev: { index: eth0.index, name: 'eth0' } }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(KernelError);
    expect((dup as KernelError).code).toBe('EEXIST');
    expect((dup as KernelError).message).toMatch(/^creating vxlan vxdup \(VNI 42, local 198\.51\.100\.1 on eth0\) in netns \S+: EEXIST/);
    expect((dup as KernelError).extack?.message).toMatch(/VNI/);
    expect((dup as KernelError).equivalent).toMatch(/^ip -n \S+ link add vxdup type vxlan id 42 dstport 4789/);
    // An entry on a device that is gone: ENODEV, named.
    const gone = await fdbAdd(h1.ns, { index: 99999, name: 'vxlan9' }, { mac: sb('s2').mac, dst: '198.51.100.2' }).catch((e: unknown) => e);
    expect((gone as KernelError).code).toBe('ENODEV');
    expect((gone as KernelError).message).toMatch(/^adding forwarding entry 02:42:0a:63:00:02 -> 198\.51\.100\.2 to vxlan9 in netns/);
    // The network's plan on a host whose vxlan42 is someone else's (another local address): refused, nothing deleted.
    const other = overlayNetworkSteps(h1.ns, { name: 'ov', id: ID, vni: VNI, local: '198.51.100.9', underlay: 'eth0', mtu: MTU });
    await expect(runSteps(other)).rejects.toThrow(/vxlan42 already exists in netns \S+ and does not match overlay network ov: local 198\.51\.100\.1, not 198\.51\.100\.9/);
    expect((await linkGet(h1.ns, VX)).vxlan?.local).toBe(h1.ip);
    expect(await ping(sb('s1a').ns.name!, sb('s2').ip)).toBe(true);
  });

  test('replaying the traced ip/bridge equivalents gives the same kernel state, and it works', async () => {
    const h2 = hosts[1]!;
    const before = await kernelState(h2);
    expect(before.fdb).toHaveLength(3);
    expect(before.neigh).toHaveLength(3);
    // Take it all away with the plans' own undos: the entries, then the devices.
    for (const steps of [...h2.endpointSteps.values()].reverse()) await removeSteps(steps);
    await removeSteps(overlayNetworkSteps(h2.ns, { name: 'ov', id: ID, vni: VNI, local: h2.ip, underlay: 'eth0', mtu: MTU }));
    const links = (await ipJson<any[]>(['link', 'show'], h2.ns.name)).map((l) => l.ifname);
    expect(links).not.toContain(VX);
    expect(links).not.toContain(BR);
    // Now the same with iproute2, line by line as traced.
    for (const line of h2.trace.flatMap((s) => s.equivalent)) await execa('sh', ['-c', line]);
    expect(await kernelState(h2)).toEqual(before);
    // The sandbox's veth lost its bridge with the bridge; put it back, and h2 is on the overlay again.
    await execa('ip', ['-n', h2.ns.name!, 'link', 'set', 'dev', 'vs2', 'master', BR]);
    expect(await ping(sb('s2').ns.name!, sb('s1a').ip)).toBe(true);
  });
});
