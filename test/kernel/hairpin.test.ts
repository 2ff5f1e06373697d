// Hairpin: a sandbox reaches its OWN published port through the gateway
// address or another address of the host, as Docker allows. The DNAT sends
// the frame back out of the bridge port it came in on, which the bridge only
// does with hairpin on; the masquerade (oifname @bridges ct status dnat) makes
// the reply come back through the host too.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { execa } from 'execa';
import { describeKernel } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, wanHost } from '../helpers/wan.js';
import { WHO } from '../helpers/who.js';

let h: TestHost;
let stop: () => Promise<void>;

beforeEach(async () => {
  ({ h, stop } = await wanHost());
});
afterEach(() => stop());

async function curl(sb: string, url: string, tries = 30): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const r = await h.nsnet(['exec', sb, 'curl', '-s', '-m', '1', url]);
    if (r.code === 0) return r.stdout;
    await new Promise((res) => setTimeout(res, 100));
  }
  return '<unreachable>';
}

const hairpin = async (veth: string) => /hairpin on/.test((await h.run(['bridge', '-d', 'link', 'show', 'dev', veth])).stdout);

describeKernel('hairpin: a sandbox reaches its own published port (kernel)', () => {
  test('through the gateway and through the host address, on a user network and the default bridge', async () => {
    const web = h.sb('web');
    const dflt = h.sb('dflt');
    await h.ok(['network', 'create', '--subnet', '10.91.0.0/24', `n-${h.tag}`]);
    await h.ok(['run', '-d', '--name', web, '--network', `n-${h.tag}`, '-p', '8080:80', '--', 'node', '-e', WHO, '80', '0.0.0.0']);
    await h.ok(['run', '-d', '--name', dflt, '-p', '8081:80', '--', 'node', '-e', WHO, '80', '0.0.0.0']);

    // The server sees the gateway: the masquerade turned the reply path through the host.
    expect(await curl(web, 'http://10.91.0.1:8080/')).toBe('10.91.0.1');
    expect(await curl(web, `http://${WAN.hostAddr}:8080/`)).toBe('10.91.0.1');
    expect(await curl(dflt, 'http://172.17.0.1:8081/')).toBe('172.17.0.1');
    expect(await curl(dflt, `http://${WAN.hostAddr}:8081/`)).toBe('172.17.0.1');

    // Every port nsnet made has it; and it is what makes the difference.
    const ports = ((await h.run(['ip', '-j', 'link', 'show', 'type', 'veth'])).stdout);
    const veths = (JSON.parse(ports) as { ifname: string; master?: string }[]).filter((l) => l.master).map((l) => l.ifname);
    expect(veths.length).toBe(2);
    for (const v of veths) expect(await hairpin(v), v).toBe(true);
    const webVeth = await vethOf(web);
    await h.run(['ip', 'link', 'set', 'dev', webVeth, 'type', 'bridge_slave', 'hairpin', 'off']);
    expect(await curl(web, 'http://10.91.0.1:8080/', 3)).toBe('<unreachable>');
    await h.run(['ip', 'link', 'set', 'dev', webVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
    expect(await curl(web, 'http://10.91.0.1:8080/')).toBe('10.91.0.1');
  }, 60_000);

  test('a port added by network connect gets hairpin too', async () => {
    const web = h.sb('web');
    await h.ok(['network', 'create', '--subnet', '10.92.0.0/24', `n-${h.tag}`]);
    await h.ok(['network', 'create', '--subnet', '10.93.0.0/24', `m-${h.tag}`]);
    await h.ok(['create', '--name', web, '--network', `n-${h.tag}`]);
    await h.ok(['network', 'connect', `m-${h.tag}`, web]);
    const ports = JSON.parse((await h.run(['ip', '-j', 'link', 'show', 'type', 'veth'])).stdout) as { ifname: string; master?: string }[];
    const veths = ports.filter((l) => l.master).map((l) => l.ifname);
    expect(veths.length).toBe(2);
    for (const v of veths) expect(await hairpin(v), v).toBe(true);
  });
});

/** The host end of a sandbox's eth0: the host link whose index is eth0's peer index. */
async function vethOf(sb: string): Promise<string> {
  const [eth0] = JSON.parse((await execa('ip', ['-n', sb, '-j', 'link', 'show', 'dev', 'eth0'])).stdout) as { link_index: number }[];
  const links = JSON.parse((await h.run(['ip', '-j', 'link', 'show'])).stdout) as { ifindex: number; ifname: string }[];
  return links.find((l) => l.ifindex === eth0!.link_index)!.ifname;
}
