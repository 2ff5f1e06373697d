// udpEpoll + udpSocket({epoll, token}) + udpClose: the addon's batch reader for
// the DNS forwarder's per-query sockets (kernel/socket.ts). Against a real UDP
// peer on loopback, in the test's own (sandboxed) namespace.
import dgram from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { ipBytes, udpClose, udpEpoll, udpSocket, type UdpEpoll } from '../../src/kernel/socket.js';
import { describeKernel, eventually } from '../helpers/kernel.js';
import { buildQuery } from '../helpers/dns-client.js';
import { Forwarder } from '../../src/dns/forward.js';
import { parseQuery, RCODE, TYPE } from '../../src/dns/message.js';

let ep: UdpEpoll | undefined;
let peer: dgram.Socket | undefined;
afterEach(() => {
  ep?.close();
  peer?.close();
  ep = peer = undefined;
});

const fds = () => readdirSync('/proc/self/fd').length;

/** A peer on 127.0.0.1 that echoes each datagram `copies` times, prefixed by the sender's port. */
async function echo(copies = 1): Promise<number> {
  peer = dgram.createSocket('udp4');
  peer.on('message', (m, from) => {
    for (let i = 0; i < copies; i++) peer!.send(Buffer.concat([Buffer.from(`${from.port}:`), m]), from.port, from.address);
  });
  await new Promise<void>((r) => peer!.bind(0, '127.0.0.1', r));
  return peer.address().port;
}

describeKernel('udpEpoll (kernel)', () => {
  test('each reply comes with its socket\'s token, many sockets in one call; a random port each; closed sockets leave the set', async () => {
    const port = await echo(2);
    const got: [number, string][] = [];
    let calls = 0;
    ep = udpEpoll((tokens, data) => {
      calls++;
      tokens.forEach((t, i) => got.push([t, (data[i] as Buffer).toString()]));
    });
    const before = fds();
    const socks = Array.from({ length: 50 }, (_, i) => udpSocket('0.0.0.0', { peer: '127.0.0.1', peerPort: port, send: Buffer.from(`q${i}`), epoll: ep, token: 1000 + i }));
    for (const s of socks) expect(s.fd).toBeGreaterThanOrEqual(1024);
    expect(fds()).toBe(before + 50);
    await eventually(() => got.length === 100, 3000, '100 replies');
    // Both copies of each reply, on the socket that asked, from its own port.
    for (let i = 0; i < 50; i++) expect(got.filter(([t]) => t === 1000 + i).map(([, m]) => m)).toEqual([`${socks[i]!.port}:q${i}`, `${socks[i]!.port}:q${i}`]);
    expect(calls).toBeLessThan(100); // batched
    expect(new Set(socks.map((s) => s.port)).size).toBe(50);
    for (const s of socks) udpClose(s.fd, ep);
    expect(fds()).toBe(before);
    // A closed socket's number, reused by a new socket of the set, gets only the new socket's replies.
    got.length = 0;
    const again = udpSocket('0.0.0.0', { peer: '127.0.0.1', peerPort: port, send: Buffer.from('new'), epoll: ep, token: 7 });
    expect(socks.map((s) => s.fd)).toContain(again.fd);
    await eventually(() => got.length === 2, 3000, 'the new socket\'s replies');
    expect(got).toEqual([[7, `${again.port}:new`], [7, `${again.port}:new`]]);
    udpClose(again.fd, ep);
  });

  test('a peer that refuses: ECONNREFUSED, as an errno, with the token', async () => {
    // A port nobody listens on: bind one, note it, close it.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const closed = probe.address().port;
    probe.close();
    const got: [number, Buffer | number][] = [];
    ep = udpEpoll((tokens, data) => tokens.forEach((t, i) => got.push([t, data[i]!])));
    const s = udpSocket('0.0.0.0', { peer: '127.0.0.1', peerPort: closed, send: Buffer.from('x'), epoll: ep, token: 42 });
    await eventually(() => got.length > 0, 3000, 'the refusal');
    expect(got[0]).toEqual([42, 111]); // ECONNREFUSED
    udpClose(s.fd, ep);
  });

  test('a datagram from another source never reaches a connected socket', async () => {
    const port = await echo(0); // silent
    const got: number[] = [];
    ep = udpEpoll((tokens) => got.push(...tokens));
    const s = udpSocket('0.0.0.0', { peer: '127.0.0.1', peerPort: port, send: Buffer.from('x'), epoll: ep, token: 5 });
    const other = dgram.createSocket('udp4');
    await new Promise<void>((r) => other.send('forged', s.port, '127.0.0.1', () => r()));
    other.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([]);
    // From the peer's own port it does arrive: the test above can fail.
    await new Promise<void>((r) => peer!.send('real', s.port, '127.0.0.1', () => r()));
    await eventually(() => got.length === 1, 3000, 'the peer\'s datagram');
    udpClose(s.fd, ep);
  });

  test('open(): a shared socket per call, fd >= 1024, a random port each, nothing sent; every datagram it holds comes in one turn', async () => {
    const port = await echo(3); // three copies of each reply
    const got: [number, string][] = [];
    ep = udpEpoll((tokens, data) => tokens.forEach((t, i) => got.push([t, (data[i] as Buffer).toString()])));
    const peerIp = ipBytes('127.0.0.1')!;
    const a = ep.open(peerIp, port, 1);
    const b = ep.open(peerIp, port, 2);
    expect(a).toBeGreaterThanOrEqual(1024);
    expect(b).toBeGreaterThanOrEqual(1024);
    const open = (fd: number) => existsSync(`/proc/self/fd/${fd}`);
    expect([open(a), open(b)]).toEqual([true, true]);
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]); // nothing sent: nothing echoed
    expect([ep.send(a, Buffer.from('qa')), ep.send(b, Buffer.from('qb'))]).toEqual([0, 0]);
    await eventually(() => got.length === 6, 3000, 'three copies each');
    // The echo says which port each socket had: two, both ephemeral.
    const ports = got.map(([, m]) => Number(m.split(':')[0]));
    expect(new Set(ports).size).toBe(2);
    expect(got.map(([t, m]) => `${t} ${m.split(':')[1]}`).sort()).toEqual(['1 qa', '1 qa', '1 qa', '2 qb', '2 qb', '2 qb']);
    udpClose(a, ep);
    udpClose(b, ep);
    expect([open(a), open(b)]).toEqual([false, false]);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBe(6);
  });

  test('open() to a peer that refuses: ECONNREFUSED with the token; a bad peer is a TypeError', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const closed = probe.address().port;
    probe.close();
    const got: [number, Buffer | number][] = [];
    ep = udpEpoll((tokens, data) => tokens.forEach((t, i) => got.push([t, data[i]!])));
    const fd = ep.open(ipBytes('127.0.0.1')!, closed, 9);
    expect(ep.send(fd, Buffer.from('x'))).toBe(0);
    await eventually(() => got.length > 0, 3000, 'the refusal');
    expect(got[0]).toEqual([9, 111]); // ECONNREFUSED
    udpClose(fd, ep);
    expect(() => ep!.open(Buffer.alloc(5), 53, 1)).toThrow(/4 or 16 bytes/);
  });

  test('the forwarder: upstreams that fail at once (no route, not an address) give SERVFAIL with the client\'s id', async () => {
    // The test's namespace has only lo: 192.0.2.1 has no route (connect: ENETUNREACH).
    const logs: string[] = [];
    const f = new Forwarder({ log: (l) => logs.push(l) });
    try {
      const query = buildQuery('www.example.test', TYPE.A, { id: 0xbeef });
      const asker = { upstreams: ['192.0.2.1', 'not-an-address'], inflight: 0 };
      const replies: Buffer[] = [];
      f.forward(asker, parseQuery(query)!, Buffer.from(query), (m) => replies.push(m), false);
      expect(replies).toHaveLength(1);
      expect(replies[0]!.readUInt16BE(0)).toBe(0xbeef);
      expect(replies[0]![3]! & 0xf).toBe(RCODE.SERVFAIL);
      expect(asker.inflight).toBe(0);
      expect(f.inflight).toBe(0);
      expect(f.stats.errors).toBe(2);
      expect(logs.join('\n')).toMatch(/192\.0\.2\.1.*(ENETUNREACH|EHOSTUNREACH)/);
    } finally {
      f.close();
    }
  });
});
