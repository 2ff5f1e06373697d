// The addon's batched datagram path (udpServe, native/udp_serve.cc) on its
// own: server sockets bound in several namespaces (as the DNS server's are,
// one per sandbox), clients inside each sending from several ports. Queries
// already queued on every socket come to JavaScript in one call, taken in
// turns per socket; every reply goes back out of the socket its query came on
// (so into that namespace), to the port it came from.
import { execa } from 'execa';
import { afterEach, expect, test } from 'vitest';
import { netnsAdd, netnsDel, type Netns } from '../../src/kernel/netns.js';
import { socketBind, udpServe, type UdpServe } from '../../src/kernel/socket.js';
import { describeKernel, eventually, tag } from '../helpers/kernel.js';

let set: UdpServe | undefined;
const spaces: Netns[] = [];
const fds: number[] = [];
afterEach(async () => {
  for (const fd of fds.splice(0)) set?.remove(fd);
  set?.close();
  set = undefined;
  for (const ns of spaces.splice(0)) await netnsDel(ns).catch(() => {});
});

/**
 * Inside a namespace: SOCKETS sockets send PER queries each ("q<socket>-<i>") to
 * 127.0.0.1:PORT, say "sent", then collect replies for up to 10 s and print
 * {ports, got: {port: [[fromPort, text]...]}}.
 */
const CLIENT = `
const dgram = require('dgram');
const [port, sockets, per] = process.argv.slice(1).map(Number);
const got = {}; let want = sockets * per, n = 0; const ports = [];
const done = () => { console.log(JSON.stringify({ ports, got })); process.exit(0); };
setTimeout(done, 10000);
let bound = 0;
for (let s = 0; s < sockets; s++) {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { (got[u.address().port] ??= []).push([r.port, m.toString()]); if (++n === want) done(); });
  u.bind(0, '127.0.0.1', () => {
    ports[s] = u.address().port;
    for (let i = 0; i < per; i++) u.send('q' + s + '-' + i, port, '127.0.0.1');
    if (++bound === sockets) setTimeout(() => console.error('sent'), 100);
  });
}`;

describeKernel('udpServe: batched server sockets (kernel)', () => {
  test('queued queries on sockets in three namespaces: one call, in turns per socket; each reply to its own source, out of its own socket', async () => {
    const t = tag();
    const SOCKETS = 4;
    const PER = 20; // 80 per namespace, 240 in all: within one batch (256)
    const servers: { ns: Netns; fd: number; port: number; token: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const ns = await netnsAdd(`bt${i}-${t}`);
      spaces.push(ns);
      await execa('ip', ['-n', ns.name!, 'link', 'set', 'lo', 'up']);
      const b = await socketBind(ns, { type: 'udp', address: '127.0.0.1' });
      fds.push(b.fd);
      servers.push({ ns, fd: b.fd, port: b.port, token: 100 + i });
    }
    // The sockets are bound but in no set yet: what the clients send waits in their receive queues.
    const clients = servers.map((s) => {
      const c = execa('ip', ['netns', 'exec', s.ns.name!, 'node', '-e', CLIENT, String(s.port), String(SOCKETS), String(PER)], { reject: false, timeout: 30_000 });
      const sent = new Promise<void>((resolve) => c.stderr!.on('data', (d: Buffer) => d.toString().includes('sent') && resolve()));
      return { c, sent };
    });
    await Promise.all(clients.map((x) => x.sent));

    const batches: { tokens: number[]; ports: number[]; texts: string[] }[] = [];
    set = udpServe((n) => {
      const s = set!;
      const b = { tokens: [] as number[], ports: [] as number[], texts: [] as string[] };
      let at = 0;
      for (let i = 0; i < n; i++) {
        const [token, addr, port, len] = [s.head[4 * i]!, s.head[4 * i + 1]!, s.head[4 * i + 2]!, s.head[4 * i + 3]!];
        const text = s.queries.toString('latin1', i * s.slotSize, i * s.slotSize + len);
        b.tokens.push(token);
        b.ports.push(port);
        b.texts.push(text);
        expect(addr).toBe(0x7f000001); // 127.0.0.1
        // The reply says which socket (token) and which source port the query came with.
        const w = s.replies.write(`${token}|${port}|${text}`, at, 'latin1');
        s.replyHead.set([i, at, w], 3 * i);
        at += w;
      }
      batches.push(b);
      return n;
    });
    for (const s of servers) set.add(s.fd, s.token);

    const results = await Promise.all(clients.map((x) => x.c));
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const total = 3 * SOCKETS * PER;
    await eventually(() => batches.reduce((a, b) => a + b.tokens.length, 0) === total, 3000, 'every query read');
    // One wake-up read everything that was queued, from all three sockets, in turns of 32 per socket.
    expect(batches[0]!.tokens.length).toBe(total);
    expect(batches[0]!.tokens.slice(0, 96).sort()).toEqual([...Array(32).fill(100), ...Array(32).fill(101), ...Array(32).fill(102)]);
    expect(new Set(batches[0]!.tokens.slice(96, 192)).size).toBe(3);

    results.forEach((r, i) => {
      const { ports, got } = JSON.parse(r.stdout) as { ports: number[]; got: Record<string, [number, string][]> };
      const server = servers[i]!;
      expect(Object.keys(got).sort()).toEqual(ports.map(String).sort());
      ports.forEach((p, s) => {
        // Every query of this client socket answered, to this socket, from the server's port in this namespace.
        const texts = got[p]!.map(([from, m]) => {
          expect(from).toBe(server.port);
          return m;
        });
        expect(texts.sort()).toEqual(Array.from({ length: PER }, (_, k) => `${server.token}|${p}|q${s}-${k}`).sort());
      });
    });
  }, 60_000);

  test('a datagram longer than a slot is cut and says so (its real length); sendTo reaches the source later', async () => {
    const t = tag();
    const ns = await netnsAdd(`bl-${t}`);
    spaces.push(ns);
    await execa('ip', ['-n', ns.name!, 'link', 'set', 'lo', 'up']);
    const b = await socketBind(ns, { type: 'udp', address: '127.0.0.1' });
    fds.push(b.fd);
    const seen: { len: number; port: number; addr: number }[] = [];
    set = udpServe((n) => {
      for (let i = 0; i < n; i++) seen.push({ addr: set!.head[4 * i + 1]!, port: set!.head[4 * i + 2]!, len: set!.head[4 * i + 3]! });
      return 0;
    });
    set.add(b.fd, 1);
    const client = execa('ip', ['netns', 'exec', ns.name!, 'node', '-e', `
      const u = require('dgram').createSocket('udp4');
      u.on('message', (m) => { console.log(m.toString()); process.exit(0); });
      u.bind(0, '127.0.0.1', () => u.send(Buffer.alloc(${set.slotSize} + 1000, 65), ${b.port}, '127.0.0.1'));
      setTimeout(() => process.exit(1), 10000);`], { reject: false, timeout: 20_000 });
    await eventually(() => seen.length === 1, 10_000, 'the long datagram');
    expect(seen[0]!.len).toBe(set.slotSize + 1000);
    expect(set.queries.subarray(0, set.slotSize).every((x) => x === 65)).toBe(true);
    expect(set.sendTo(b.fd, Buffer.from('later'), seen[0]!.addr, seen[0]!.port)).toBe(true);
    const r = await client;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('later');
  }, 30_000);
});
