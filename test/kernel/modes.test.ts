// The seeds' walkthroughs, replayed with nsnet's CLI and real packets:
// the default bridge, user-defined networks, host, none, container:, --pid container:.
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, ipJson, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const pingOk = async (sb: string, to: string) => (await h.nsnet(['exec', sb, 'ping', '-c1', '-W1', to])).code === 0;

describeKernel('Docker network modes through the CLI (kernel)', () => {
  test('default bridge: web and db get .2/.3 and 02:42 MACs, ping by IP, no name resolution', async () => {
    const web = h.sb('web');
    const db = h.sb('db');
    expect((await h.ok(['network', 'ls'])).split('\n')).toEqual([
      expect.stringMatching(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/),
      expect.stringMatching(/^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/),
      expect.stringMatching(/^[0-9a-f]{12}\s+host\s+host\s+local$/),
      expect.stringMatching(/^[0-9a-f]{12}\s+none\s+null\s+local$/),
    ]);
    await h.ok(['run', '-d', '--name', web, '--', 'sleep', '300']);
    await h.ok(['run', '-d', '--name', db, '--', 'sleep', '300']);

    const [iw] = JSON.parse(await h.ok(['inspect', web]));
    const [idb] = JSON.parse(await h.ok(['inspect', db]));
    expect(iw.NetworkSettings).toMatchObject({ IPAddress: '172.17.0.2', MacAddress: '02:42:ac:11:00:02', Gateway: '172.17.0.1', SandboxKey: `/run/netns/${web}` });
    expect(idb.NetworkSettings.Networks.bridge).toMatchObject({ IPAddress: '172.17.0.3', MacAddress: '02:42:ac:11:00:03', IPPrefixLen: 16 });
    expect(iw.State).toMatchObject({ Status: 'running', Running: true });

    // The kernel agrees: the bridge nsnet0 with the gateway, eth0 inside with the address and MAC.
    const br = await ipJson(['-d', 'addr', 'show', 'nsnet0'], h.name);
    expect(br[0].linkinfo.info_kind).toBe('bridge');
    expect(br[0].addr_info[0]).toMatchObject({ local: '172.17.0.1', prefixlen: 16 });
    const eth0 = await ipJson(['addr', 'show', 'eth0'], web);
    expect(eth0[0]).toMatchObject({ address: '02:42:ac:11:00:02' });
    expect(await ipJson(['route'], web)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '172.17.0.1' }));

    expect(await pingOk(web, '172.17.0.3')).toBe(true);
    expect(await pingOk(db, '172.17.0.2')).toBe(true);
    // No embedded DNS on the default bridge: the name doesn't resolve.
    expect((await h.nsnet(['exec', web, 'getent', 'hosts', db])).code).not.toBe(0);
    // The netns is a named one, usable with plain iproute2.
    expect((await h.run(['ip', 'netns', 'list'])).stdout).toContain(web);
  });

  test('user-defined networks: ping within, not across; both gateways and the host reach everything', async () => {
    const [a1, a2, b1] = [h.sb('a1'), h.sb('a2'), h.sb('b1')];
    await h.ok(['network', 'create', `neta-${h.tag}`]);
    await h.ok(['network', 'create', `netb-${h.tag}`]);
    const ia = JSON.parse(await h.ok(['network', 'inspect', `neta-${h.tag}`]))[0];
    const ib = JSON.parse(await h.ok(['network', 'inspect', `netb-${h.tag}`]))[0];
    // The default bridge took 172.17 at first use; user networks take the next pools.
    expect(ia.IPAM.Config[0]).toEqual({ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' });
    expect(ib.IPAM.Config[0]).toEqual({ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' });
    const bridgeLink = async () => (await ipJson(['link', 'show', `br-${ia.Id.slice(0, 12)}`], h.name))[0];
    expect((await bridgeLink()).ifname).toBe(`br-${ia.Id.slice(0, 12)}`);
    // The gateway's MAC is the bridge's own, fixed (02 + the id's first bytes), not its lowest port's.
    const gatewayMac = `02:${ia.Id.slice(0, 10).match(/../g).join(':')}`;
    expect((await bridgeLink()).address).toBe(gatewayMac);

    await h.ok(['create', '--name', a1, '--network', `neta-${h.tag}`]);
    await h.ok(['create', '--name', a2, '--network', `neta-${h.tag}`]);
    await h.ok(['create', '--name', b1, '--network', `netb-${h.tag}`]);
    expect(await pingOk(a1, '172.18.0.3')).toBe(true);
    expect((await bridgeLink()).address).toBe(gatewayMac);
    expect(await pingOk(a1, '172.19.0.2')).toBe(false);
    expect(await pingOk(b1, '172.18.0.2')).toBe(false);
    expect(await pingOk(a1, '172.18.0.1')).toBe(true);
    expect(await pingOk(a1, '172.19.0.1')).toBe(true);
    for (const ip of ['172.18.0.2', '172.18.0.3', '172.19.0.2']) {
      expect((await h.run(['ping', '-c1', '-W1', ip])).exitCode, `host -> ${ip}`).toBe(0);
    }
    const net = JSON.parse(await h.ok(['network', 'inspect', `neta-${h.tag}`]))[0];
    expect(Object.values(net.Containers).map((c: any) => c.Name).sort()).toEqual([a1, a2].sort());

    // IPv4-only networks: IPv6 off on eth0, as Docker does (no link-local, no multicast chatter
    // flooded to every port of the bridge); lo keeps ::1. Also on an interface added later.
    const v6 = async (sb: string, dev: string) => ((await ipJson(['-6', 'addr', 'show', 'dev', dev], sb)) as any[]).flatMap((l) => l.addr_info.map((a: any) => a.local));
    expect(await v6(a1, 'eth0')).toEqual([]);
    expect(await v6(a1, 'lo')).toEqual(['::1']);
    expect((await h.run(['ip', 'netns', 'exec', a1, 'sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6'])).stdout).toBe('1');
    await h.ok(['network', 'connect', `netb-${h.tag}`, a1]);
    expect((await h.run(['ip', 'netns', 'exec', a1, 'sysctl', '-n', 'net.ipv6.conf.eth1.disable_ipv6'])).stdout).toBe('1');
  });

  test("host mode: the process sees the host's interfaces and listens on the host's port; -p is ignored with a warning", async () => {
    const r = await h.nsnet(['run', '--rm', '--network', 'host', '-p', '80:80', '--', 'ip', '-o', 'link', 'show']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('WARNING: Published ports are discarded when using host network mode');
    expect(r.stdout).toMatch(/^1: lo:/);
    const srv = h.sb('hostsrv');
    await h.ok(['run', '-d', '--name', srv, '--network', 'host', '--', 'node', '-e',
      "require('http').createServer((q,s)=>s.end('host-mode')).listen(18081,'127.0.0.1')"]);
    let body = '';
    for (let i = 0; i < 50 && body !== 'host-mode'; i++) {
      body = (await h.run(['curl', '-s', '-m', '1', 'http://127.0.0.1:18081/'])).stdout;
      if (body !== 'host-mode') await new Promise((res) => setTimeout(res, 100));
    }
    expect(body).toBe('host-mode');
  });

  test('none: only lo, up, no routes; -p publishes nothing', async () => {
    const r = await h.nsnet(['run', '--rm', '--network', 'none', '-p', '8088:80', '--', 'ip', '-o', 'addr']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['lo', 'lo']);
    const n = h.sb('nobox');
    await h.ok(['create', '--name', n, '--network', 'none']);
    expect(await ipJson(['route'], n)).toEqual([]);
    expect((await ipJson(['link'], n)).map((l: any) => [l.ifname, l.operstate])).toEqual([['lo', 'UNKNOWN']]);
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).not.toContain('8088');
  });

  test("container: shares the other sandbox's namespace (IP, MAC, 127.0.0.1); --pid container: sees its processes", async () => {
    const web = h.sb('web');
    await h.ok(['run', '-d', '--name', web, '--', 'node', '-e',
      "require('http').createServer((q,s)=>s.end('from-web')).listen(9000,'127.0.0.1')"]);
    const joined = await h.nsnet(['run', '--rm', '--network', `container:${web}`, '--', 'sh', '-c',
      'cat /sys/class/net/eth0/address; ip -o -4 addr show eth0 | awk \'{print $4}\'; for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -m 1 http://127.0.0.1:9000/ && break; sleep 0.2; done']);
    expect(joined.code).toBe(0);
    expect(joined.stdout.split('\n')).toEqual(['02:42:ac:11:00:02', '172.17.0.2/16', 'from-web']);

    // args= (/proc/PID/cmdline), not comm=: a thread's name changes between Node versions
    // (Node 24 names its main thread MainThread, Node 26 node-MainThread).
    const ps = await h.nsnet(['run', '--rm', '--network', `container:${web}`, '--pid', `container:${web}`, '--', 'ps', '-e', '-o', 'pid=,args=']);
    expect(ps.code).toBe(0);
    // pid, program (argv[0] is the path nsnet ran: /usr/bin/ps), first argument.
    const procs = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)).map(([pid, argv0, arg1]) => [pid, path.basename(argv0!), arg1]);
    expect(procs).toContainEqual(['1', 'node', '-e']);
    expect(procs.map((p) => p[1])).toContain('ps');

    // Options that contradict a shared namespace are refused, as Docker does.
    for (const bad of [['-p', '80:80'], ['--hostname', 'x'], ['--dns', '1.1.1.1'], ['--network-alias', 'x']]) {
      const r = await h.nsnet(['create', '--network', `container:${web}`, ...bad]);
      expect(r.code, bad.join(' ')).toBe(1); // the daemon's refusal in Docker: 1
      expect(r.stderr).toMatch(/^Error: conflicting options/);
    }
  });
});
