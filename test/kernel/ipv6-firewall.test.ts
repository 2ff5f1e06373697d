// The IPv6 firewall (table ip6 nsnet, docs/ipv6.md), with real packets against
// a fake WAN that has an IPv6 side (2001:db8:ffff::/64, documentation range):
// masquerade of IPv6 egress, published ports over IPv6 (from the WAN, from the
// host, hairpin; ::1 relayed by the resident process), isolation between dual-stack
// networks, --internal, enable_icc=false, enable_ip_masquerade=false, and the
// ip6 table rebuilt with the ip one after a flush.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, eventually } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { addWan6, WAN, WAN6, wanHost, type Wan } from '../helpers/wan.js';
import { startWho, WHO } from '../helpers/who.js';

let h: TestHost;
let wan: Wan;
let stop: () => Promise<void>;
let who6: { stop(): Promise<void> };

beforeEach(async () => {
  ({ h, wan, stop } = await wanHost({ who: true }));
  await addWan6(h, wan);
  who6 = startWho(wan.name, WAN6.gateway);
});
afterEach(async () => {
  await who6.stop();
  await stop();
});

const UNREACHABLE = '<unreachable>';
/** curl from a namespace (not through nsnet: an nsnet command would repair the firewall), retried briefly. */
async function curl(ns: string, url: string, tries = 20): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const r = await execa('ip', ['netns', 'exec', ns, 'curl', '-s', '-g', '-m', '1', url], { reject: false });
    if (r.exitCode === 0) return String(r.stdout);
    await new Promise((res) => setTimeout(res, 100));
  }
  return UNREACHABLE;
}
/** One try, for what must NOT answer. */
const curlOnce = (ns: string, url: string) => execa('ip', ['netns', 'exec', ns, 'curl', '-s', '-g', '-m', '1', url], { reject: false });
/** Does a ping over IPv6 get through? Up to three tries (the first may wait for neighbour discovery). */
async function ping6(ns: string, ip: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if ((await execa('ip', ['netns', 'exec', ns, 'ping', '-6', '-c1', '-W1', ip], { reject: false })).exitCode === 0) return true;
  }
  return false;
}
const ip6Of = async (sb: string) => Object.values(JSON.parse(await h.ok(['inspect', sb]))[0].NetworkSettings.Networks as Record<string, { GlobalIPv6Address: string }>)[0]!.GlobalIPv6Address;
const table6 = async () => (await h.run(['nft', 'list', 'table', 'ip6', 'nsnet'])).stdout;

describeKernel('IPv6 firewall (kernel)', () => {
  test('egress is masqueraded to the host\'s WAN IPv6 address; published ports answer over IPv6 from the WAN, the host and hairpin', async () => {
    const net = `p6-${h.tag}`;
    const [web, peer] = [h.sb('web6'), h.sb('peer6')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.61.0.0/24', '--subnet', '2001:db8:61::/64', net]);
    // One server on [::]:80 (both families), published three ways.
    await h.ok(['run', '-d', '--name', web, '--network', net, '-p', '8080:80', '-p', '[::]:8081:80', '-p', '127.0.0.1:8082:80',
      '--', 'node', '-e', WHO, '80', '::']);
    await h.ok(['create', '--name', peer, '--network', net]);
    expect(await ip6Of(web)).toBe('2001:db8:61::2');

    // Egress: the WAN has no route to 2001:db8:61::/64, so only a masqueraded request gets its answer.
    expect(await curl(peer, `http://[${WAN6.gateway}]/`)).toBe(WAN6.hostAddr);
    // IPv4 egress still masqueraded too.
    expect(await curl(peer, `http://${WAN.server}/`)).toBe(WAN.hostAddr);

    // From the WAN: -p 8080:80 on both families, -p [::]:8081:80 on IPv6 only, -p 127.0.0.1:8082:80 on neither.
    expect(await curl(wan.name, `http://[${WAN6.hostAddr}]:8080/`)).toBe(WAN6.gateway); // the client's own address, not masqueraded
    expect(await curl(wan.name, `http://${WAN.hostAddr}:8080/`)).toBe(WAN.gateway);
    expect(await curl(wan.name, `http://[${WAN6.hostAddr}]:8081/`)).toBe(WAN6.gateway);
    expect((await curlOnce(wan.name, `http://${WAN.hostAddr}:8081/`)).exitCode).not.toBe(0);
    expect((await curlOnce(wan.name, `http://[${WAN6.hostAddr}]:8082/`)).exitCode).not.toBe(0);
    // A WAN machine with a route to the subnet through the host still cannot reach the sandbox's address directly.
    await execa('ip', ['-n', wan.name, '-6', 'route', 'add', '2001:db8:61::/64', 'via', WAN6.hostAddr]);
    expect((await curlOnce(wan.name, 'http://[2001:db8:61::2]:80/')).exitCode).not.toBe(0);
    expect(await ping6(wan.name, '2001:db8:61::2')).toBe(false);
    await execa('ip', ['-n', wan.name, '-6', 'route', 'del', '2001:db8:61::/64']);

    // From the host itself: its WAN address and the network's gateway answer (output DNAT).
    expect(await curl(h.name, `http://[${WAN6.hostAddr}]:8080/`)).toBe(WAN6.hostAddr);
    expect(await curl(h.name, 'http://[2001:db8:61::1]:8081/')).toBe('2001:db8:61::1');
    expect(await curl(h.name, 'http://127.0.0.1:8082/')).toBe('10.61.0.1');
    // ::1 is left alone by the DNAT (no route_localnet for IPv6, docs/ipv6.md): the resident process relays it,
    // from the gateway's address (ipv6-loopback.test.ts has the rest).
    expect(await curl(h.name, 'http://[::1]:8080/')).toBe('2001:db8:61::1');
    // Hairpin: a sandbox of the same network through the host's address, masqueraded to the gateway.
    expect(await curl(peer, `http://[${WAN6.hostAddr}]:8080/`)).toBe('2001:db8:61::1');
    expect(await curl(peer, `http://[${WAN6.hostAddr}]:8081/`)).toBe('2001:db8:61::1');
    // The sandbox to itself through the host (its own bridge port: hairpin mode).
    expect(await curl(web, `http://[${WAN6.hostAddr}]:8081/`)).toBe('2001:db8:61::1');

    const [i] = JSON.parse(await h.ok(['inspect', web]));
    expect(i.NetworkSettings.Ports['80/tcp']).toEqual([
      { HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }, { HostIp: '::', HostPort: '8081' }, { HostIp: '127.0.0.1', HostPort: '8082' }]);
    expect(await h.ok(['port', web, '80'])).toBe('0.0.0.0:8080\n127.0.0.1:8082\n[::]:8080\n[::]:8081');

    // A port taken over IPv6 is refused, and so is an IPv6 binding for a sandbox without IPv6.
    const dup = await h.nsnet(['create', '--name', h.sb('dup6'), '--network', net, '-p', '[::]:8080:80']);
    expect(dup.stderr.trim()).toBe('Error: Bind for [::]:8080 failed: port is already allocated');
    await h.ok(['network', 'create', '--subnet', '10.63.0.0/24', `v4-${h.tag}`]);
    const v4 = await h.nsnet(['create', '--name', h.sb('v4only'), '--network', `v4-${h.tag}`, '-p', '[::]:9090:80']);
    expect(v4.code).not.toBe(0);
    expect(v4.stderr).toMatch(/cannot publish on \[::\]:9090->80\/tcp: the sandbox has no IPv6 address/);

    // rm takes exactly its elements out of both families.
    expect(await table6()).toContain('tcp . 8081 : 2001:db8:61::2 . 80');
    await h.ok(['rm', '-f', web]);
    const after = await table6();
    expect(after).not.toContain('2001:db8:61::2');
    expect((await h.run(['nft', 'list', 'map', 'ip', 'nsnet', 'ports'])).stdout).not.toContain('8080');
    await h.ok(['rm', '-f', peer]);
    await h.ok(['network', 'rm', net, `v4-${h.tag}`]);
    expect(await table6()).not.toMatch(/2001:db8:61::|br-/);
  }, 120_000);

  test('rm -f of a sandbox whose record is damaged takes its IPv6 DNAT too (no DNAT left for the next sandbox given its address)', async () => {
    const net = `dm-${h.tag}`;
    const [x, y] = [h.sb('dmg6'), h.sb('next6')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.70.0.0/24', '--subnet', '2001:db8:70::/64', net]);
    await h.ok(['create', '--name', x, '--network', net, '-p', '8090:80', '-p', '[::]:8091:81']);
    expect(await table6()).toMatch(/tcp \. 8090 : 2001:db8:70::2 \. 80/);
    writeFileSync(path.join(h.root, 'run', 'sandboxes', `${x}.json`), '{"cut short');
    const rm = await h.nsnet(['rm', '-f', x]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await table6()).not.toContain('2001:db8:70::2');
    // The next sandbox gets the same address, and no port of the old one reaches it.
    await h.ok(['create', '--name', y, '--network', net]);
    expect(await ip6Of(y)).toBe('2001:db8:70::2');
    expect(await table6()).not.toMatch(/809[01]/);
  }, 60_000);

  test('a damaged record keeps its IPv6 address when the IPv6 bitmap is rebuilt (from its text, or its namespace when the text says nothing)', async () => {
    const net = `dk-${h.tag}`;
    const [x, y, z, w, v] = ['dk6x', 'dk6y', 'dk6z', 'dk6w', 'dk6v'].map((n) => h.sb(n)) as [string, string, string, string, string];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.71.0.0/24', '--subnet', '2001:db8:71::/64', net]);
    const id = (await h.ok(['network', 'inspect', '--format', '{{.Id}}', net])).trim();
    await h.ok(['create', '--name', x, '--network', net]);
    await h.ok(['create', '--name', y, '--network', net]);
    expect([await ip6Of(x), await ip6Of(y)]).toEqual(['2001:db8:71::2', '2001:db8:71::3']);
    // x's record cut short after its IPv6 address; y's cut to nothing (only its namespace still says ::3).
    const rec = (n: string) => path.join(h.root, 'run', 'sandboxes', `${n}.json`);
    const text = readFileSync(rec(x), 'utf8');
    writeFileSync(rec(x), text.slice(0, text.indexOf('"', text.indexOf('"ip6"') + 8) + 1));
    writeFileSync(rec(y), '{"cut short');
    // The IPv6 bitmap lost: rebuilt from what is left, both damaged records' addresses included.
    rmSync(path.join(h.root, 'run', 'ipam', `${id}.bits6`));
    await h.ok(['create', '--name', z, '--network', net]);
    expect(await ip6Of(z)).toBe('2001:db8:71::4');
    // rm -f of one damaged record gives back its address, and only its own (y's stays held).
    expect((await h.nsnet(['rm', '-f', x])).code).toBe(0);
    await h.ok(['create', '--name', w, '--network', net]);
    expect(await ip6Of(w)).toBe('2001:db8:71::2');
    await h.ok(['create', '--name', v, '--network', net]);
    expect(await ip6Of(v)).toBe('2001:db8:71::5');
    expect((await h.nsnet(['rm', '-f', y, z, w, v])).code).toBe(0);
    await h.ok(['network', 'rm', net]);
  }, 90_000);

  test('enable_ip_masquerade=false: IPv6 egress leaves with the sandbox\'s own address (a routed setup)', async () => {
    const net = `nm-${h.tag}`;
    const sb = h.sb('nomasq');
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.62.0.0/24', '--subnet', '2001:db8:62::/64',
      '--opt', 'com.docker.network.bridge.enable_ip_masquerade=false', net]);
    await h.ok(['create', '--name', sb, '--network', net]);
    expect(await table6()).not.toContain('masq_subnets { 2001:db8:62');
    // Without a route back the WAN cannot answer; with one it sees the sandbox's own address.
    expect(await curl(sb, `http://[${WAN6.gateway}]/`, 3)).toBe(UNREACHABLE);
    await execa('ip', ['-n', wan.name, '-6', 'route', 'add', '2001:db8:62::/64', 'via', WAN6.hostAddr]);
    expect(await curl(sb, `http://[${WAN6.gateway}]/`)).toBe('2001:db8:62::2');
  }, 60_000);

  test('two dual-stack networks are isolated over IPv6; --internal keeps IPv6 in; enable_icc=false keeps sandboxes apart', async () => {
    const [a, b, i, icc] = [`a-${h.tag}`, `b-${h.tag}`, `i-${h.tag}`, `q-${h.tag}`];
    const [a1, a2, b1, i1, i2, q1, q2] = ['a1', 'a2', 'b1', 'i1', 'i2', 'q1', 'q2'].map((n) => h.sb(n)) as [string, string, string, string, string, string, string];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.64.0.0/24', '--subnet', '2001:db8:64::/64', a]);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.65.0.0/24', '--subnet', '2001:db8:65::/64', b]);
    await h.ok(['network', 'create', '--ipv6', '--internal', '--subnet', '10.66.0.0/24', '--subnet', '2001:db8:66::/64', i]);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.67.0.0/24', '--subnet', '2001:db8:67::/64', '--opt', 'com.docker.network.bridge.enable_icc=false', icc]);
    for (const [sb, n] of [[a1, a], [a2, a], [b1, b], [i1, i], [i2, i], [q1, icc], [q2, icc]] as const) await h.ok(['create', '--name', sb, '--network', n]);

    // Same network: yes. Another network: no, either way. Every sandbox still reaches its gateway.
    expect(await ping6(a1, '2001:db8:64::3')).toBe(true);
    expect(await ping6(a1, '2001:db8:65::2')).toBe(false);
    expect(await ping6(b1, '2001:db8:64::2')).toBe(false);
    expect(await ping6(b1, '2001:db8:65::1')).toBe(true);
    // --internal: its sandboxes reach each other, nothing routed in or out.
    expect(await ping6(i1, '2001:db8:66::3')).toBe(true);
    expect(await ping6(i1, WAN6.gateway)).toBe(false);
    expect(await curl(i1, `http://[${WAN6.gateway}]/`, 2)).toBe(UNREACHABLE);
    expect(await ping6(a1, '2001:db8:66::2')).toBe(false);
    expect(await ping6(i1, '2001:db8:64::2')).toBe(false);
    expect(await table6()).toMatch(/set internal \{[^}]*elements = \{ "br-/);
    // enable_icc=false: not each other (the bridge family drops IPv6 frames too), but the gateway and the WAN.
    expect(await ping6(q1, '2001:db8:67::3')).toBe(false);
    expect(await ping6(q1, '2001:db8:67::1')).toBe(true);
    expect(await curl(q1, `http://[${WAN6.gateway}]/`)).toBe(WAN6.hostAddr);
    // The host reaches every sandbox (output), as with IPv4.
    expect(await ping6(h.name, '2001:db8:65::2')).toBe(true);
  }, 120_000);

  test('a flushed firewall comes back in both families: by the watcher, or by the next nsnet command; removal works on it', async () => {
    const [a, b] = [`fa-${h.tag}`, `fb-${h.tag}`];
    const [web, b1] = [h.sb('fweb'), h.sb('fb1')];
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.68.0.0/24', '--subnet', '2001:db8:68::/64', a]);
    await h.ok(['network', 'create', '--ipv6', '--subnet', '10.69.0.0/24', '--subnet', '2001:db8:69::/64', b]);
    await h.ok(['run', '-d', '--name', web, '--network', a, '-p', '8080:80', '--', 'node', '-e', WHO, '80', '::']);
    await h.ok(['create', '--name', b1, '--network', b]);
    const works = async () => {
      expect(await curl(wan.name, `http://[${WAN6.hostAddr}]:8080/`), 'published port over IPv6').toBe(WAN6.gateway);
      expect(await curl(b1, `http://[${WAN6.gateway}]/`), 'IPv6 egress, masqueraded').toBe(WAN6.hostAddr);
      expect(await ping6(b1, '2001:db8:68::2'), 'isolation over IPv6').toBe(false);
    };
    await works();
    expect(h.dnsPid(), 'the DNS server (the watcher) runs').toBeDefined();

    // Only the ip6 table deleted: the watcher sees it and rebuilds all three together.
    for (const fault of [['nft', 'delete', 'table', 'ip6', 'nsnet'], ['nft', 'flush', 'ruleset']]) {
      await h.run(fault, { reject: true });
      await eventually(async () => (await table6()).includes('2001:db8:68::2 . 80'), 2000, `the watcher to restore table ip6 nsnet after ${fault.join(' ')}`);
      await works();
    }

    // Without the watcher: the next nsnet command rebuilds ip6 with ip.
    await h.stopDns();
    await h.run(['nft', 'flush', 'ruleset'], { reject: true });
    // Meanwhile, no nftables at all: isolation is gone over IPv6 too (the check above measures the firewall), until...
    expect(await ping6(b1, '2001:db8:68::2')).toBe(true);
    const ls = await h.nsnet(['network', 'ls']);
    expect(ls.stderr).toMatch(/rebuilt nftables tables ip nsnet, ip6 nsnet and bridge nsnet/);
    await works();

    // Removal on a flushed firewall: nothing "already gone" to fail on, in either family.
    await h.stopDns();
    await h.run(['nft', 'flush', 'ruleset'], { reject: true });
    const rm = await h.nsnet(['rm', '-f', web]);
    expect(rm.code, rm.stderr).toBe(0);
    await h.stopDns();
    await h.run(['nft', 'flush', 'ruleset'], { reject: true });
    const nrm = await h.nsnet(['network', 'rm', a]);
    expect(nrm.code, nrm.stderr).toBe(0);
    const t = await table6();
    expect(t).not.toContain('2001:db8:68::');
    expect(t).toContain('2001:db8:69::/64');
  }, 120_000);
});
