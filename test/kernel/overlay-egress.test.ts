// The way out of an overlay network (issue 17, Docker's docker_gwbridge): a
// sandbox on a non-internal overlay network also gets eth1 on a local bridge
// network, nsnet_gwbridge (made on first use, icc off, masquerade on), which
// carries its default route and its published ports. Three simulated hosts
// with an etcd cluster (test/helpers/cluster.ts); the "outside world" is the
// test process itself, on the underlay LAN at 198.51.100.254: a TCP server
// there reports the source address it sees.
import { createServer, connect, type Server } from 'node:net';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeCluster, nsnetOn, settled } from '../helpers/cluster-tests.js';
import { Cluster, UNDERLAY, type ClusterHost } from '../helpers/cluster.js';
import { tag as newTag } from '../helpers/kernel.js';

const SLOW = 180_000;


let c: Cluster;
let wan: Server;
let wanPort = 0;
const bg: ResultPromise[] = [];

/** nsnet on host h; fails the test with its stderr when it fails. */
const nsnet = (h: ClusterHost, ...args: string[]) => nsnetOn(c, h, ...args);

const inSandbox = (h: ClusterHost, sb: string, cmd: string[], timeout = 20_000) =>
  h.node.exec(['ip', 'netns', 'exec', sb, ...cmd], { reject: false, timeout });

const out = async (p: Promise<{ stdout?: unknown }>) => String((await p).stdout ?? '').trim();

/** Asks the "WAN" server, from sandbox `sb`, which source address it sees (TCP through bash's /dev/tcp). */
const seenByWan = (h: ClusterHost, sb: string) =>
  inSandbox(h, sb, ['timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${UNDERLAY.test}/${wanPort}; cat <&3`]);

const gwInspect = async (h: ClusterHost) => JSON.parse(await nsnet(h, 'network', 'inspect', 'nsnet_gwbridge'))[0];

const storeAddresses = async (id: string) =>
  String((await c.etcdctl(c.hosts[0]!, 'get', '--prefix', '--keys-only', `/nsnet/v1/addresses/${id}/`)).stdout).split('\n').filter(Boolean).sort();

const storeNames = async (id: string) =>
  String((await c.etcdctl(c.hosts[0]!, 'get', '--prefix', '--print-value-only', `/nsnet/v1/endpoints/${id}/`)).stdout)
    .split('\n').filter(Boolean).map((l) => JSON.parse(l).name as string).sort();

/** The host ends of veths on host h. */
const hostVeths = async (h: ClusterHost) =>
  (JSON.parse(await out(h.node.exec(['ip', '-j', 'link', 'show', 'type', 'veth']))) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith('veth')).sort();


describeCluster('overlay egress: nsnet_gwbridge (Docker\'s docker_gwbridge)', () => {
  let ovId = '';

  beforeAll(async () => {
    c = await Cluster.make(newTag());
    await c.startEtcd();
    // The outside world: the test's own address on the LAN. It answers with the peer's address.
    wan = createServer((s) => s.end(`${s.remoteAddress}\n`));
    await new Promise<void>((r) => wan.listen(0, UNDERLAY.test, r));
    wanPort = (wan.address() as { port: number }).port;
    await nsnet(c.hosts[0]!, 'network', 'create', '-d', 'overlay', '--subnet', '10.70.0.0/24', 'ov');
    await nsnet(c.hosts[0]!, 'network', 'create', '-d', 'overlay', '--internal', '--subnet', '10.71.0.0/24', 'sealed');
    ovId = JSON.parse(await nsnet(c.hosts[0]!, 'network', 'inspect', 'ov'))[0].Id;
  }, SLOW);

  afterAll(async () => {
    for (const p of bg) p.kill('SIGKILL');
    await Promise.allSettled(bg);
    await new Promise((r) => (wan ? wan.close(r) : r(undefined)));
    await c?.stop();
  }, SLOW);

  test('a sandbox on an overlay network reaches the outside through eth1 on nsnet_gwbridge, masqueraded to its host\'s address', async () => {
    const h2 = c.hosts[1]!;
    await nsnet(h2, 'run', '-d', '--name', 'web', '--network', 'ov', '--', 'sleep', '1d');
    await nsnet(h2, 'run', '-d', '--name', 'web2', '--network', 'ov', '--', 'sleep', '1d');
    // The network, made on first use: a bridge network with Docker's docker_gwbridge options, not internal.
    const gw = await gwInspect(h2);
    expect(gw).toMatchObject({ Driver: 'bridge', Scope: 'local', Internal: false, Options: {
      'com.docker.network.bridge.name': 'nsnet_gwbridge', 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'true' } });
    const { Subnet: subnet, Gateway: gateway } = gw.IPAM.Config[0];
    expect(subnet).toMatch(/^172\.\d+\.0\.0\/16$/);
    // Its endpoints are named as libnetwork's: gateway_<12 of the sandbox id>.
    const webId = await nsnet(h2, 'inspect', '--format', '{{.Id}}', 'web');
    expect(gw.Containers[webId]).toMatchObject({ Name: `gateway_${webId.slice(0, 12)}` });
    const gwIp = String(gw.Containers[webId].IPv4Address).split('/')[0]!;
    // Inside: eth0 on the overlay, eth1 on nsnet_gwbridge with the default route.
    const addrs = JSON.parse(await out(inSandbox(h2, 'web', ['ip', '-j', '-4', 'addr', 'show']))) as { ifname: string; addr_info: { local: string }[] }[];
    const webIp = addrs.find((a) => a.ifname === 'eth0')!.addr_info[0]!.local;
    expect(webIp).toMatch(/^10\.70\.0\.\d+$/);
    expect(addrs.find((a) => a.ifname === 'eth1')!.addr_info[0]!.local).toBe(gwIp);
    expect(await out(inSandbox(h2, 'web', ['ip', 'route', 'show', 'default']))).toBe(`default via ${gateway} dev eth1`);
    // `inspect web` shows the overlay network only, as Docker's does.
    expect(Object.keys(JSON.parse(await nsnet(h2, 'inspect', 'web'))[0].NetworkSettings.Networks)).toEqual(['ov']);
    expect(await nsnet(h2, 'ps', '--filter', 'name=web2', '--format', '{{.Networks}}')).toBe('ov');
    // The host: the bridge, its masquerade, icc off for the sandbox's port.
    const br = JSON.parse(await out(h2.node.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', 'nsnet_gwbridge'])))[0];
    expect(br.addr_info[0].local).toBe(gateway);
    expect(await out(h2.node.exec(['nft', 'list', 'set', 'ip', 'nsnet', 'masq_subnets']))).toContain(subnet);
    const ports = await out(h2.node.exec(['ip', '-j', 'link', 'show', 'master', 'nsnet_gwbridge']));
    const icc = await out(h2.node.exec(['nft', 'list', 'set', 'bridge', 'nsnet', 'icc_off_ports']));
    for (const p of JSON.parse(ports) as { ifname: string }[]) expect(icc).toContain(`"${p.ifname}"`);
    // The outside: by ping and by TCP, seen from host 2's underlay address (masquerade).
    expect((await inSandbox(h2, 'web', ['ping', '-c1', '-W2', UNDERLAY.test])).exitCode).toBe(0);
    expect(await out(seenByWan(h2, 'web'))).toBe(h2.address);
    // enable_icc=false: the two sandboxes do not meet on nsnet_gwbridge, only on their overlay network.
    const web2Gw = String(gw.Containers[await nsnet(h2, 'inspect', '--format', '{{.Id}}', 'web2')].IPv4Address).split('/')[0]!;
    expect((await inSandbox(h2, 'web', ['ping', '-c1', '-W1', web2Gw])).exitCode).not.toBe(0);
    // Names on the overlay network answer between sandboxes of one host too (the watcher seeing their own endpoints leaves them be).
    expect((await inSandbox(h2, 'web', ['ping', '-c1', '-W2', 'web2'])).exitCode).toBe(0);
    expect(await out(inSandbox(h2, 'web2', ['getent', 'hosts', 'web']))).toBe(`${webIp}       web`);
    // Names: the overlay address only (the gwbridge endpoint registers none), in DNS and in /etc/hosts.
    expect((await out(inSandbox(h2, 'web', ['getent', 'ahostsv4', 'web2']))).split(/\s+/)[0]).toMatch(/^10\.70\.0\.\d+$/);
    expect(await out(inSandbox(h2, 'web', ['getent', 'hosts', 'web']))).not.toContain(gwIp);
    expect(await out(inSandbox(h2, 'web', ['cat', '/etc/hosts']))).not.toContain(gwIp);
    const ptr = await inSandbox(h2, 'web2', ['getent', 'hosts', gwIp]);
    expect(String(ptr.stdout)).not.toMatch(/\bweb\b/);
  }, SLOW);

  test('-p publishes through the gwbridge endpoint: the host\'s underlay address reaches the sandbox', async () => {
    const h2 = c.hosts[1]!;
    await nsnet(h2, 'run', '-d', '--name', 'pub', '--network', 'ov', '-p', '8088:7001', '--', 'python3', '-c',
      'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",7001))\ns.listen()\n'
      + 'while True:\n  c,a=s.accept()\n  c.sendall((a[0]+"\\n").encode())\n  c.close()\n');
    expect(await nsnet(h2, 'inspect', '--format', '{{json .NetworkSettings.Ports}}', 'pub')).toBe('{"7001/tcp":[{"HostIp":"0.0.0.0","HostPort":"8088"}]}');
    const ask = () => new Promise<string>((resolve, reject) => {
      const s = connect({ host: h2.address, port: 8088, timeout: 2000 });
      let text = '';
      s.on('data', (d) => (text += String(d)));
      s.on('end', () => resolve(text.trim()));
      s.on('timeout', () => { s.destroy(); reject(new Error('timeout')); });
      s.on('error', reject);
    });
    // From outside (the test, on the LAN): DNAT to eth1's address; the server sees the client's own address.
    expect(await settled(ask)).toBe(UNDERLAY.test);
    await nsnet(h2, 'rm', '-f', 'pub');
    await expect(ask()).rejects.toThrow();
  }, SLOW);

  test('an --internal overlay network: no eth1, no default route, no way out', async () => {
    const h2 = c.hosts[1]!;
    const r = await c.nsnet(h2, ['run', '-d', '--name', 'inner', '--network', 'sealed', '-p', '8089:80', '--', 'sleep', '1d']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toContain('Published ports are discarded when using an internal overlay network');
    const links = (JSON.parse(await out(inSandbox(h2, 'inner', ['ip', '-j', 'link', 'show']))) as { ifname: string }[]).map((l) => l.ifname).sort();
    expect(links).toEqual(['eth0', 'lo']);
    expect(await out(inSandbox(h2, 'inner', ['ip', 'route', 'show', 'default']))).toBe('');
    expect((await inSandbox(h2, 'inner', ['ping', '-c1', '-W1', UNDERLAY.test])).exitCode).not.toBe(0);
    expect((await seenByWan(h2, 'inner')).exitCode).not.toBe(0);
    const id = await nsnet(h2, 'inspect', '--format', '{{.Id}}', 'inner');
    expect(Object.keys((await gwInspect(h2)).Containers)).not.toContain(id);
    await nsnet(h2, 'rm', '-f', 'inner');
  }, SLOW);

  test('--dry-run shows the gwbridge steps (the network made on first use) and makes nothing; the traced run has the same steps', async () => {
    const h3 = c.hosts[2]!;
    const plan = await nsnet(h3, 'run', '-d', '--dry-run', '--name', 'dry', '--network', 'ov', '--', 'sleep', '1d');
    expect(plan).toContain('# creating bridge nsnet_gwbridge');
    expect(plan).toMatch(/ip addr add 172\.\d+\.0\.1\/16 dev nsnet_gwbridge/);
    expect(plan).toMatch(/ip link add veth[0-9a-f]{7} master nsnet_gwbridge up type veth peer name eth1 netns dry address 02:42:ac:/);
    expect(plan).toMatch(/# adding default route via 172\.\d+\.0\.1/);
    expect(plan).toMatch(/# isolating veth[0-9a-f]{7} from the other ports of nsnet_gwbridge \(enable_icc=false\)/);
    // The gwbridge steps come after the overlay endpoint's (eth0, published in the store).
    expect(plan.indexOf('peer name eth1')).toBeGreaterThan(plan.indexOf('in the cluster store'));
    // Nothing made: no bridge, no network, no claim.
    expect((await h3.node.exec(['ip', 'link', 'show', 'nsnet_gwbridge'], { reject: false })).exitCode).not.toBe(0);
    expect(await nsnet(h3, 'network', 'ls', '--format', '{{.Name}}')).not.toContain('nsnet_gwbridge');
    const norm = (text: string) => text.split('\n').filter((l) => l.startsWith('# ')).map((l) => l.replace(/veth[0-9a-f]{7}/g, 'vethX').replace(/[0-9a-f]{64}/g, 'ID'));
    const traced = await c.nsnet(h3, ['run', '-d', '--name', 'dry', '--network', 'ov', '--', 'sleep', '1d'], { env: { NSNET_TRACE: '1' } });
    expect(traced.exitCode, String(traced.stderr)).toBe(0);
    expect(norm(String(traced.stderr))).toEqual(norm(plan));
    expect(await out(seenByWan(h3, 'dry'))).toBe(h3.address);
    // rm --dry-run: the gwbridge endpoint's undo (its icc element) is among the undos.
    expect(await nsnet(h3, 'rm', '--dry-run', '-f', 'dry')).toMatch(/# removing veth[0-9a-f]{7} from icc_off_ports/);
  }, SLOW);

  test('rm takes the eth1 veth and the gwbridge address with it; network rm nsnet_gwbridge is refused while a sandbox uses it', async () => {
    const h3 = c.hosts[2]!;
    const gw = await gwInspect(h3);
    const id = await nsnet(h3, 'inspect', '--format', '{{.Id}}', 'dry');
    const addr = String(gw.Containers[id].IPv4Address).split('/')[0];
    const before = await hostVeths(h3);
    expect(before).toHaveLength(2); // eth0's on the overlay bridge, eth1's on nsnet_gwbridge
    const refused = await c.nsnet(h3, ['network', 'rm', 'nsnet_gwbridge']);
    expect(refused.exitCode).not.toBe(0);
    expect(String(refused.stderr)).toContain('has active endpoints (dry)');
    await nsnet(h3, 'rm', '-f', 'dry');
    expect(await hostVeths(h3)).toEqual([]);
    expect((await gwInspect(h3)).Containers).toEqual({});
    expect(await storeNames(ovId)).not.toContain('dry');
    // The network stays (as Docker's); its address is free again: the next sandbox gets it.
    await nsnet(h3, 'run', '-d', '--name', 'again', '--network', 'ov', '--', 'sleep', '1d');
    const id2 = await nsnet(h3, 'inspect', '--format', '{{.Id}}', 'again');
    expect(String((await gwInspect(h3)).Containers[id2].IPv4Address).split('/')[0]).toBe(addr);
    await nsnet(h3, 'rm', '-f', 'again');
    // No claim left: the network can be removed now (nothing marks an address in use), and comes back on next use.
    await nsnet(h3, 'network', 'rm', 'nsnet_gwbridge');
    expect((await h3.node.exec(['ip', 'link', 'show', 'nsnet_gwbridge'], { reject: false })).exitCode).not.toBe(0);
  }, SLOW);

  test('a failure in the gwbridge steps rolls back everything: no store claim, no endpoint, no namespace, no veth', async () => {
    const h1 = c.hosts[0]!;
    // Something that is not a bridge holds the name: the eth1 veth cannot be enslaved to it.
    await h1.node.exec(['ip', 'link', 'add', 'nsnet_gwbridge', 'type', 'veth', 'peer', 'name', 'gwpeer']);
    const [addrs, names] = [await storeAddresses(ovId), await storeNames(ovId)];
    const r = await c.nsnet(h1, ['run', '-d', '--name', 'broken', '--network', 'ov', '--', 'sleep', '1d']);
    expect(r.exitCode).not.toBe(0);
    expect(String(r.stderr)).toMatch(/creating veth veth[0-9a-f]{7} \(peer eth1 in netns broken\)/);
    expect(await storeAddresses(ovId)).toEqual(addrs);
    expect(await storeNames(ovId)).toEqual(names);
    expect((await c.nsnet(h1, ['inspect', 'broken'])).exitCode).not.toBe(0);
    expect(await out(h1.node.exec(['ip', 'netns', 'list']))).not.toContain('broken');
    expect(await hostVeths(h1)).toEqual([]);
    // It was host 1's first sandbox on ov: the overlay bridge and vxlan device went too.
    expect(await out(h1.node.exec(['ip', '-br', 'link', 'show', 'type', 'vxlan']))).toBe('');
    // The network (its record) stays, with no address in use; with the name free, the next run makes the bridge.
    expect((await gwInspect(h1)).Containers).toEqual({});
    await h1.node.exec(['ip', 'link', 'del', 'nsnet_gwbridge']);
    await nsnet(h1, 'run', '-d', '--name', 'fixed', '--network', 'ov', '--', 'sleep', '1d');
    expect(await out(seenByWan(h1, 'fixed'))).toBe(h1.address);
    await nsnet(h1, 'rm', '-f', 'fixed');
  }, SLOW);
});
