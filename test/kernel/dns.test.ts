// The embedded DNS server at 127.0.0.11, with real clients inside sandboxes:
// dig (UDP and TCP), the libc resolver (getent), nslookup; forwarding to an
// upstream in the fake WAN; the DNAT/SNAT rules and sockets; restart; fuzzing.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { WAN, makeWan, type Wan } from '../helpers/wan.js';
import { startUpstream, type Upstream } from '../helpers/upstream-dns.js';
import type { Context } from '../../src/docker/context.js';
import { networkCreate } from '../../src/docker/networks.js';
import { sandboxRemove } from '../../src/docker/process.js';
import { sandboxCreate } from '../../src/docker/sandboxes.js';
import { inProcessDns } from '../../src/dns/in-process.js';
import { releaseDns, syncDns } from '../../src/dns/control.js';
import { execa } from 'execa';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsnet.js');

let h: TestHost;
let wan: Wan;
let upstream: Upstream | undefined;
beforeEach(async () => {
  h = await TestHost.make(tag());
  wan = await makeWan(h.ns, h.tag);
});
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
  await h.cleanup();
  await wan.remove().catch(() => {});
  expect(h.procs()).toEqual([]); // no DNS server outlives its test
});

const dig = async (sb: string, ...args: string[]) => (await h.nsnet(['exec', sb, 'dig', '+time=3', '+tries=1', ...args])).stdout.trim();
const digShort = async (sb: string, ...args: string[]) => (await dig(sb, '+short', ...args)).split('\n').filter((l) => l && !l.startsWith(';'));
const status = (out: string) => /status: (\w+)/.exec(out)?.[1];

describeKernel('embedded DNS (kernel)', () => {
  test('names, aliases, name.network, short ids, round robin, PTR, AAAA/NODATA, isolation - over UDP, TCP and libc', async () => {
    const net = `mynet-${h.tag}`;
    const other = `other-${h.tag}`;
    const [web, db, p1, p2, stranger] = [h.sb('web'), h.sb('db'), h.sb('p1'), h.sb('p2'), h.sb('x')];
    await h.ok(['network', 'create', net]);
    await h.ok(['network', 'create', other]);
    await h.ok(['create', '--name', web, '--network', net]);
    const dbId = await h.ok(['create', '--name', db, '--network', net, '--network-alias', 'database', '--hostname', 'dbhost']);
    await h.ok(['create', '--name', p1, '--network', net, '--network-alias', 'pool']);
    await h.ok(['create', '--name', p2, '--network', net, '--network-alias', 'pool']);
    await h.ok(['create', '--name', stranger, '--network', other]);

    expect(await digShort(web, db)).toEqual(['172.18.0.3']);
    expect(await digShort(web, '+tcp', db)).toEqual(['172.18.0.3']);
    expect(await digShort(web, `@127.0.0.11`, db.toUpperCase())).toEqual(['172.18.0.3']);
    expect(await digShort(web, 'database')).toEqual(['172.18.0.3']);
    expect(await digShort(web, 'dbhost')).toEqual(['172.18.0.3']);
    expect(await digShort(web, `${db}.${net}`)).toEqual(['172.18.0.3']);
    expect(await digShort(web, dbId.slice(0, 12))).toEqual(['172.18.0.3']);
    // The libc resolver, through the sandbox's resolv.conf.
    expect((await h.nsnet(['exec', web, 'getent', 'hosts', db])).stdout).toMatch(/^172\.18\.0\.3\s/);
    expect((await h.nsnet(['exec', web, 'nslookup', 'database'])).stdout).toMatch(/Address: 172\.18\.0\.3/);
    // One alias, two sandboxes: both addresses, in rotating order.
    const first = await digShort(web, 'pool');
    const second = await digShort(web, 'pool');
    expect([...first].sort()).toEqual(['172.18.0.4', '172.18.0.5']);
    expect(second).toEqual([...first].reverse());
    // PTR: name.network, as in the seed.
    expect(await digShort(web, '-x', '172.18.0.3')).toEqual([`${db}.${net}.`]);
    // A known name without IPv6: NOERROR, no answer.
    const aaaa = await dig(web, db, 'AAAA');
    expect(status(aaaa)).toBe('NOERROR');
    expect(aaaa).toMatch(/ANSWER: 0,/);
    // Another network's names don't resolve (the upstream says NXDOMAIN, as for any unknown name).
    expect(await digShort(web, stranger)).toEqual([]);
    expect(await digShort(stranger, db)).toEqual([]);
    expect(await digShort(stranger, stranger)).toEqual(['172.19.0.2']);
    // TTL 600, as Docker's.
    expect(await dig(web, '+noall', '+answer', db)).toMatch(/\s600\s+IN\s+A\s+172\.18\.0\.3/);
  });

  test('names resolve as soon as create returns and are gone after rm; the default bridge has no embedded DNS', async () => {
    const net = `n-${h.tag}`;
    const [a, b, c] = [h.sb('a'), h.sb('b'), h.sb('c')];
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    expect(await digShort(a, b)).toEqual(['172.18.0.3']);
    await h.ok(['rm', b]);
    expect(await digShort(a, b)).toEqual([]);
    // Default bridge: resolv.conf as the host's, and nothing answers on 127.0.0.11.
    await h.ok(['create', '--name', c]);
    expect((await h.nsnet(['exec', c, 'cat', '/etc/resolv.conf'])).stdout).toContain('nameserver 203.0.113.53');
    expect(status(await dig(c, '@127.0.0.11', a))).toBeUndefined();
  });

  test('inside the sandbox: DNAT/SNAT rules, two sockets on 127.0.0.11, port 53 free for the sandbox', async () => {
    const net = `n-${h.tag}`;
    const web = h.sb('web');
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', web, '--network', net]);
    const rules = (await h.nsnet(['exec', web, 'nft', 'list', 'ruleset'])).stdout;
    const udpPort = /udp dport 53 dnat (?:ip )?to 127\.0\.0\.11:(\d+)/.exec(rules)?.[1];
    const tcpPort = /tcp dport 53 dnat (?:ip )?to 127\.0\.0\.11:(\d+)/.exec(rules)?.[1];
    expect(udpPort).toBeDefined();
    expect(tcpPort).toBeDefined();
    expect(rules).toMatch(new RegExp(`udp sport ${udpPort} snat (?:ip )?to :53`));
    expect(rules).toMatch(new RegExp(`tcp sport ${tcpPort} snat (?:ip )?to :53`));
    const ss = (await h.nsnet(['exec', web, 'ss', '-lntu'])).stdout;
    expect(ss).toContain(`127.0.0.11:${udpPort}`);
    expect(ss).toContain(`127.0.0.11:${tcpPort}`);
    expect(ss).not.toMatch(/:53\s/);
    // The sandbox's own port 53 is free.
    const bind = await h.nsnet(['exec', web, 'node', '-e',
      "require('dgram').createSocket('udp4').bind(53,'0.0.0.0',function(){console.log('bound 53');this.close()})"]);
    expect(bind.stdout.trim()).toBe('bound 53');
  });

  test('forwarding: upstream answers and NXDOMAIN pass through, a big answer comes over TCP after TC, a dead upstream is SERVFAIL', async () => {
    const net = `n-${h.tag}`;
    const web = h.sb('web');
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', web, '--network', net]);
    // No upstream yet: SERVFAIL, within the forwarding timeout - and while that
    // forward waits, local names are answered at once.
    const t0 = Date.now();
    const dead = dig(web, 'www.example.test');
    await new Promise((r) => setTimeout(r, 300));
    const t1 = Date.now();
    expect(await digShort(web, web)).toEqual(['172.18.0.2']);
    expect(Date.now() - t1).toBeLessThan(1500);
    expect(status(await dead)).toBe('SERVFAIL');
    expect(Date.now() - t0).toBeLessThan(4000);

    upstream = await startUpstream(wan.ns);
    expect(await digShort(web, 'www.example.test')).toEqual(['203.0.113.80']);
    expect(status(await dig(web, 'nx.nowhere.test'))).toBe('NXDOMAIN');
    // Over UDP the answer doesn't fit: TC set, no answers...
    expect(await dig(web, '+ignore', '+noedns', 'big.example.test')).toMatch(/flags: qr[^;]*tc/);
    // ...and dig retries over TCP and gets all 40.
    expect(await digShort(web, '+noedns', 'big.example.test')).toHaveLength(40);
    expect(upstream.queries).toContain('tcp big.example.test');
    // The search domain from the host's resolv.conf reaches the sandbox.
    expect((await h.nsnet(['exec', web, 'getent', 'hosts', 'www'])).stdout).toMatch(/^203\.0\.113\.80\s/);
  });

  test('killed and restarted, the server re-attaches to every live sandbox', async () => {
    const net = `n-${h.tag}`;
    const [a, b, c] = [h.sb('a'), h.sb('b'), h.sb('c')];
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    expect(await digShort(a, b)).toEqual(['172.18.0.3']);
    const before = h.dnsPid();
    await h.stopDns('SIGKILL'); // the server and its supervisor (dns-supervise.test.ts: the server alone)
    // Asked without nsnet (`nsnet exec` would itself bring the server back): nothing answers.
    expect((await execa('ip', ['netns', 'exec', a, 'dig', '+short', '+time=1', '+tries=1', '@127.0.0.11', b], { reject: false })).stdout).not.toContain('172.18.0.3');
    // The next change starts a new server, which attaches to a and b again.
    await h.ok(['create', '--name', c, '--network', net]);
    expect(h.dnsPid()).not.toBe(before);
    expect(await digShort(a, b)).toEqual(['172.18.0.3']);
    expect(await digShort(b, c)).toEqual(['172.18.0.4']);
  });

  test('fuzz: random and mutated packets over UDP and TCP never stop correct answers', async () => {
    const net = `n-${h.tag}`;
    const [a, b] = [h.sb('a'), h.sb('b')];
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', a, '--network', net]);
    await h.ok(['create', '--name', b, '--network', net]);
    const fuzz = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/dns-fuzz.mjs');
    const running = h.nsnet(['exec', a, 'node', fuzz, '4', b, '172.18.0.3'], { timeout: 30_000 });
    // While a floods, b is still answered.
    await new Promise((res) => setTimeout(res, 1000));
    expect(await digShort(b, a)).toEqual(['172.18.0.2']);
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result.sent).toBeGreaterThan(1000);
    expect(result.checks).toBeGreaterThan(3);
    expect(result.failures).toBe(0);
    // Still alive and well afterwards.
    expect(await digShort(b, a)).toEqual(['172.18.0.2']);
  }, 60_000);

  test('a sandbox removed and made again under the same name answers every time (the attach waits for lo; detach minds which namespace)', async () => {
    const net = `n-${h.tag}`;
    const sb = h.sb('again');
    const dirs = { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') };
    const env = { ...process.env, NSNET_RESOLV_CONF: h.resolvConf, NODE_EXTRA_CA_CERTS: '' };
    const ctx: Context = {
      host: h.ns, dirs, etcNetns: h.etc, warn: () => {},
      dns: { sync: (start, ids) => syncDns(dirs, { start, argv: [BIN, '--root', h.root, 'dns'], env, ...(ids && { ids }) }), release: (ids) => releaseDns(dirs, ids) },
    };
    await networkCreate(ctx, { name: net });
    const misses: number[] = [];
    for (let i = 0; i < 25; i++) {
      await sandboxCreate(ctx, { name: sb, network: net });
      const r = await execa('ip', ['netns', 'exec', sb, 'dig', '+short', '+time=1', '+tries=1', '@127.0.0.11', sb], { reject: false });
      if (r.stdout.trim() !== '172.18.0.2') misses.push(i);
      await sandboxRemove(ctx, [sb], { force: true });
    }
    expect(misses).toEqual([]);
  });

  test('in-process: a runtime using the library runs the server itself (as dockerd does); CLI calls sync with it', async () => {
    const net = `n-${h.tag}`;
    const [a, b, c] = [h.sb('a'), h.sb('b'), h.sb('c')];
    const ctx: Context = { host: h.ns, dirs: { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') }, etcNetns: h.etc, warn: () => {} };
    const saved = process.env.NSNET_RESOLV_CONF;
    process.env.NSNET_RESOLV_CONF = h.resolvConf; // the fake WAN's resolver, never the machine's
    const local = await inProcessDns(ctx);
    try {
      await networkCreate(ctx, { name: net });
      await sandboxCreate(ctx, { name: a, network: net });
      await sandboxCreate(ctx, { name: b, network: net, aliases: ['bee'] });
      expect(h.dnsPid()).toBe(process.pid);
      expect(local.server.attachedCount).toBe(2);
      expect(await digShort(a, 'bee')).toEqual(['172.18.0.3']);
      // The CLI finds this process's server on the control socket, and starts no other.
      await h.ok(['create', '--name', c, '--network', net]);
      expect(local.server.attachedCount).toBe(3);
      expect(await digShort(c, a)).toEqual(['172.18.0.2']);
      await sandboxRemove(ctx, [b], { force: true });
      expect(local.server.attachedCount).toBe(2);
      expect(await digShort(a, 'bee')).toEqual([]);
    } finally {
      await local.stop();
      if (saved === undefined) delete process.env.NSNET_RESOLV_CONF;
      else process.env.NSNET_RESOLV_CONF = saved;
    }
    expect(h.dnsPid()).toBeUndefined();
    expect(ctx.dns).toBeUndefined();
  });
});
void WAN;
