// The forwarder to an IPv6 upstream (docs/dns.md): the host's resolv.conf
// names `nameserver 2001:db8:53::53` (documentation range), an upstream on the
// fake WAN's IPv6 side; a sandbox's names it does not know go there over UDP
// (a random port and id, connected to the upstream: RFC 5452, as over IPv4),
// and over TCP after a truncated answer. Forged answers with the live port,
// id and question, from another IPv6 address or the upstream's address but
// another port, never reach the forwarder: the kernel drops them (Udp6NoPorts).
import { writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { socketBind } from '../../src/index.js';
import { parseQuery, RCODE, TYPE } from '../../src/dns/message.js';
import { buildAnswer } from '../../src/dns/reply.js';
import { TestHost } from '../helpers/host.js';
import { describeKernel, tag } from '../helpers/kernel.js';
import { addWan6, makeWan, WAN6, type Wan } from '../helpers/wan.js';
import { startUpstream, type Source, type Upstream } from '../helpers/upstream-dns.js';

const UP6 = '2001:db8:53::53';
const EVIL6 = '2001:db8:53::66';

let h: TestHost;
let wan: Wan;
let upstream: Upstream | undefined;
beforeEach(async () => {
  h = await TestHost.make(tag());
  wan = await makeWan(h.ns, h.tag);
  await addWan6(h, wan);
  // The upstream's address and the forger's, on the WAN's loopback; the host reaches them by its default IPv6 route.
  await execa('ip', ['netns', 'exec', wan.name, 'sysctl', '-qw', 'net.ipv6.conf.lo.disable_ipv6=0']);
  for (const a of [UP6, EVIL6]) await execa('ip', ['-n', wan.name, 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
  writeFileSync(h.resolvConf, `search example.test\nnameserver ${UP6}\n`);
});
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
  await h.cleanup();
  await wan.remove().catch(() => {});
});

/** The host namespace's Udp6NoPorts: datagrams no socket took. */
async function udp6NoPorts(): Promise<number> {
  const line = (await h.run(['cat', '/proc/net/snmp6'])).stdout.split('\n').find((l) => l.startsWith('Udp6NoPorts'));
  return Number(line!.split(/\s+/)[1]);
}

/** Sends `msg` to [dst]:port from [src]:srcPort, a socket bound in the WAN namespace. */
async function sendFromWan(src: string, srcPort: number, msg: Buffer, dst: string, port: number): Promise<void> {
  const { fd } = await socketBind(wan.ns, { type: 'udp', address: src, port: srcPort });
  const s = dgram.createSocket('udp6');
  await new Promise<void>((r) => s.bind({ fd }, r));
  await new Promise<void>((r) => s.send(msg, port, dst, () => r()));
  await new Promise<void>((r) => s.close(() => r()));
}

describeKernel('DNS forwarder to an IPv6 upstream (kernel)', () => {
  test('a sandbox resolves an outside name through 127.0.0.11 from an IPv6 upstream (UDP, TCP after TC); forged answers from the wrong IPv6 source are never taken', async () => {
    const net = `f6-${h.tag}`;
    const sb = h.sb('ask6');
    let forged: Promise<void> | undefined;
    upstream = await startUpstream(wan.ns, {
      address: UP6,
      onQuery: (q: Source) => {
        if (q.name !== 'spoof.example.test') return;
        // The live port, id and question; the answer the attacker wants: from another address, and from the upstream's but another port.
        const query = Buffer.concat([Buffer.from([q.id >> 8, q.id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), q.question]);
        const fake = buildAnswer(parseQuery(query)!, query, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A as 1, data: '192.0.2.66' }] });
        forged = (async () => {
          await sendFromWan(EVIL6, 53, fake, q.address, q.port);
          await sendFromWan(UP6, 5353, fake, q.address, q.port);
        })();
      },
    });
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', sb, '--network', net]);
    const dig = async (...args: string[]) =>
      (await h.nsnet(['exec', sb, 'dig', '+time=4', '+tries=1', '+short', ...args])).stdout.split('\n').filter((l) => l && !l.startsWith(';'));

    expect(await dig('www.example.test')).toEqual(['203.0.113.80']);
    const first = upstream.sources.find((s) => s.name === 'www.example.test')!;
    // From the host's WAN address (its route to the upstream), a random port.
    expect(first.address).toBe(WAN6.hostAddr);
    expect(first.port).toBeGreaterThan(1023);
    // Truncated over UDP: dig asks again over TCP, and the forwarder goes to the upstream over TCP (IPv6) too.
    expect(await dig('+noedns', 'big.example.test')).toHaveLength(40);
    expect(upstream.queries).toContain('udp big.example.test');
    expect(upstream.queries).toContain('tcp big.example.test');

    // Forged answers while the real one is held 1.5 s: the kernel finds no socket for them.
    upstream.delayMs = 1500;
    const noPorts = await udp6NoPorts();
    expect(await dig('spoof.example.test')).toEqual(['203.0.113.80']);
    expect(forged).toBeDefined();
    await forged;
    expect(await udp6NoPorts()).toBeGreaterThanOrEqual(noPorts + 2);
    // A new random port and id per query.
    const ports = upstream.sources.map((s) => s.port);
    expect(new Set(ports).size).toBe(ports.length);
  }, 60_000);
});
