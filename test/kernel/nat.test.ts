// Egress through masquerade, published ports from every side, --internal and
// enable_icc=false - with real packets, against a fake WAN (198.51.100.0/24,
// 203.0.113.1) that lives in a namespace this test made.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { execa } from 'execa';
import { describeKernel } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, wanHost, type Wan } from '../helpers/wan.js';
import { WHO } from '../helpers/who.js';

let h: TestHost;
let wan: Wan;
let stop: () => Promise<void>;

beforeEach(async () => {
  ({ h, wan, stop } = await wanHost({ who: true }));
});
afterEach(() => stop());

async function curl(run: (cmd: string[]) => Promise<{ stdout: unknown; exitCode?: number }>, url: string): Promise<string> {
  for (let i = 0; i < 30; i++) {
    const r = await run(['curl', '-s', '-m', '1', url]);
    if (r.exitCode === 0) return String(r.stdout);
    await new Promise((res) => setTimeout(res, 100));
  }
  return '<unreachable>';
}
const inSandbox = (sb: string) => async (cmd: string[]) => {
  const r = await h.nsnet(['exec', sb, ...cmd]);
  return { stdout: r.stdout, exitCode: r.code };
};
const inWan = async (cmd: string[]) => execa('ip', ['netns', 'exec', wan.name, ...cmd], { reject: false });

describeKernel('NAT, published ports and isolation (kernel)', () => {
  test("a sandbox reaches the WAN and the server sees the host's WAN address", async () => {
    const sb = h.sb('out');
    await h.ok(['network', 'create', `n-${h.tag}`]);
    await h.ok(['create', '--name', sb, '--network', `n-${h.tag}`]);
    expect(await curl(inSandbox(sb), `http://${WAN.server}/`)).toBe(WAN.hostAddr);
    // The default bridge masquerades too.
    const d = h.sb('dflt');
    await h.ok(['create', '--name', d]);
    expect(await curl(inSandbox(d), `http://${WAN.server}/`)).toBe(WAN.hostAddr);
  });

  test('a published port is reached from the WAN, from the host (127.0.0.1 too) and from another sandbox via the host address', async () => {
    const web = h.sb('web');
    const other = h.sb('other');
    await h.ok(['network', 'create', `n-${h.tag}`]);
    await h.ok(['network', 'create', `m-${h.tag}`]);
    await h.ok(['run', '-d', '--name', web, '--network', `n-${h.tag}`, '-p', '8080:80', '--', 'node', '-e', WHO, '80', '0.0.0.0']);
    await h.ok(['create', '--name', other, '--network', `m-${h.tag}`]);

    expect(await curl(inWan, `http://${WAN.hostAddr}:8080/`)).toBe(WAN.gateway); // the WAN client, unmasqueraded
    // A WAN machine with a route to the subnet through the host still cannot reach the sandbox's
    // address directly, published port or not: only DNATed traffic enters a bridge (Docker 28+).
    await inWan(['ip', 'route', 'add', '172.18.0.0/16', 'via', WAN.hostAddr]);
    expect((await inWan(['curl', '-s', '-m', '1', 'http://172.18.0.2:80/'])).exitCode).not.toBe(0);
    expect((await inWan(['ping', '-c1', '-W1', '172.18.0.2'])).exitCode).not.toBe(0);
    expect(await curl((c) => h.run(c), 'http://127.0.0.1:8080/')).toBe('172.18.0.1'); // localhost: masqueraded to the gateway
    expect(await curl((c) => h.run(c), `http://${WAN.hostAddr}:8080/`)).not.toBe('<unreachable>');
    // Hairpin, from a sandbox on another network: through the host, masqueraded.
    expect(await curl(inSandbox(other), `http://${WAN.hostAddr}:8080/`)).toBe('172.18.0.1');
    // ...and from a sandbox on the same network.
    const peer = h.sb('peer');
    await h.ok(['create', '--name', peer, '--network', `n-${h.tag}`]);
    expect(await curl(inSandbox(peer), `http://${WAN.hostAddr}:8080/`)).toBe('172.18.0.1');

    const [i] = JSON.parse(await h.ok(['inspect', web]));
    expect(i.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
    expect((await h.ok(['ps'])).split('\n')[1]).toContain('0.0.0.0:8080->80/tcp');

    // A host port already published is refused, and nothing is left of the attempt.
    const taken = await h.nsnet(['create', '--name', h.sb('dup'), '-p', '8080:81']);
    expect(taken.code).toBe(1); // docker create: the daemon's refusal
    expect(taken.stderr.trim()).toBe('Error: Bind for 0.0.0.0:8080 failed: port is already allocated');
    expect((await h.run(['ip', 'netns', 'list'])).stdout).not.toContain(`dup-${h.tag}`);

    // Removing the sandbox removes exactly its map element.
    await h.ok(['rm', '-f', web]);
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).not.toContain('8080');
  });

  test('enable_ip_masquerade=false and driver.mtu: no masquerade for that network, the MTU on both veth ends', async () => {
    const [m, plain] = [h.sb('nomasq'), h.sb('masq')];
    await h.ok(['network', 'create', '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', '-o', 'com.docker.network.driver.mtu=1400', `nm-${h.tag}`]);
    await h.ok(['network', 'create', `ym-${h.tag}`]);
    await h.ok(['create', '--name', m, '--network', `nm-${h.tag}`]);
    await h.ok(['create', '--name', plain, '--network', `ym-${h.tag}`]);
    // Without masquerade the WAN sees 172.18.0.2, has no route back, and the connection never completes.
    expect((await h.nsnet(['exec', m, 'curl', '-s', '-m', '1', `http://${WAN.server}/`])).code).not.toBe(0);
    expect(await curl(inSandbox(plain), `http://${WAN.server}/`)).toBe(WAN.hostAddr);
    const set = (await h.run(['nft', 'list', 'set', 'ip', 'nsnet', 'masq_subnets'])).stdout;
    expect(set).toContain('172.19.0.0/16');
    expect(set).not.toContain('172.18.0.0/16');
    const [eth0] = JSON.parse((await h.run(['ip', '-n', m, '-j', 'link', 'show', 'eth0'])).stdout);
    expect(eth0.mtu).toBe(1400);
  });

  test('-P and -p PORT pick ephemeral host ports from ip_local_port_range', async () => {
    await h.run(['sysctl', '-w', 'net.ipv4.ip_local_port_range=40000 40010']);
    const a = h.sb('eph');
    await h.ok(['run', '-d', '--name', a, '-p', '80', '--expose', '443', '-P', '--', 'sleep', '300']);
    const [i] = JSON.parse(await h.ok(['inspect', a]));
    expect(i.NetworkSettings.Ports).toEqual({
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '40000' }],
      '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '40001' }],
    });
  });

  test('--internal: no way out, no way in, but the network works inside', async () => {
    const [x, y] = [h.sb('ix'), h.sb('iy')];
    await h.ok(['network', 'create', '--internal', `int-${h.tag}`]);
    await h.ok(['create', '--name', x, '--network', `int-${h.tag}`]);
    await h.ok(['create', '--name', y, '--network', `int-${h.tag}`]);
    expect((await h.nsnet(['exec', x, 'ip', 'route', 'show', 'default'])).stdout.trim()).toBe('');
    expect((await h.nsnet(['exec', x, 'ping', '-c1', '-W1', '172.18.0.3'])).code).toBe(0);
    expect((await h.nsnet(['exec', x, 'curl', '-s', '-m', '1', `http://${WAN.server}/`])).code).not.toBe(0);
    // Even with a route added by hand, the firewall drops what leaves the subnet.
    await h.run(['ip', 'netns', 'exec', x, 'ip', 'route', 'add', 'default', 'via', '172.18.0.1']);
    expect((await h.nsnet(['exec', x, 'curl', '-s', '-m', '1', `http://${WAN.server}/`])).code).not.toBe(0);
    expect((await inWan(['ping', '-c1', '-W1', '172.18.0.2'])).exitCode).not.toBe(0);
  });

  test('enable_icc=false: sandboxes on the bridge cannot talk to each other, but reach the gateway and the WAN', async () => {
    const [x, y] = [h.sb('cx'), h.sb('cy')];
    await h.ok(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', `icc-${h.tag}`]);
    await h.ok(['create', '--name', x, '--network', `icc-${h.tag}`]);
    await h.ok(['create', '--name', y, '--network', `icc-${h.tag}`]);
    expect((await h.nsnet(['exec', x, 'ping', '-c1', '-W1', '172.18.0.3'])).code).not.toBe(0);
    expect((await h.nsnet(['exec', x, 'ping', '-c1', '-W1', '172.18.0.1'])).code).toBe(0);
    expect(await curl(inSandbox(y), `http://${WAN.server}/`)).toBe(WAN.hostAddr);
    // On a network with icc on, the same pair talks.
    const [p, q] = [h.sb('px'), h.sb('py')];
    await h.ok(['network', 'create', `icc2-${h.tag}`]);
    await h.ok(['create', '--name', p, '--network', `icc2-${h.tag}`]);
    await h.ok(['create', '--name', q, '--network', `icc2-${h.tag}`]);
    expect((await h.nsnet(['exec', p, 'ping', '-c1', '-W1', '172.19.0.3'])).code).toBe(0);
  });
});
