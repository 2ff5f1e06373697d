// The forwarder's upstream sockets (forward.ts, upstream-sockets.ts) against a
// real upstream on loopback (127.0.0.153:53, in the test's own sandboxed
// namespace): a lone query gets a port of its own; a flood shares POOL_MAX
// random ports with random ids, distinct per port; forged answers from the
// wrong address, the wrong port, with the wrong id or question are dropped;
// the sockets close when idle and when the forwarder closes.
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { Forwarder } from '../../src/dns/forward.js';
import { parseQuery, RCODE, TYPE } from '../../src/dns/message.js';
import { buildAnswer } from '../../src/dns/reply.js';
import { POOL_MAX } from '../../src/dns/upstream-sockets.js';
import { describeKernel, eventually } from '../helpers/kernel.js';
import { buildQuery } from '../helpers/dns-client.js';

const UP = '127.0.0.153';
const fds = () => readdirSync('/proc/self/fd').length;
const sockets: dgram.Socket[] = [];
let f: Forwarder | undefined;
afterEach(() => {
  f?.close();
  f = undefined;
  for (const s of sockets.splice(0)) s.close();
});

async function bound(address: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(port, address, r));
  return s;
}

interface Seen { msg: Buffer; address: string; port: number; id: number; name: string }

/** The upstream: records each query; answers only when told. */
async function upstream(): Promise<{ sock: dgram.Socket; seen: Seen[]; answer: (q: Seen, o?: { id?: number; name?: string }) => Promise<void> }> {
  const sock = await bound(UP, 53);
  const seen: Seen[] = [];
  sock.on('message', (msg, from) => seen.push({ msg, address: from.address, port: from.port, id: msg.readUInt16BE(0), name: parseQuery(msg)!.qname }));
  const answer = (q: Seen, o: { id?: number; name?: string } = {}) => {
    const asked = o.name ? buildQuery(o.name, TYPE.A, { id: q.id }) : q.msg;
    const a = buildAnswer(parseQuery(asked)!, asked, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A, data: '203.0.113.80' }] });
    a.writeUInt16BE(o.id ?? q.id, 0);
    return new Promise<void>((r) => sock.send(a, q.port, q.address, () => r()));
  };
  return { sock, seen, answer };
}

describeKernel('forwarder upstream sockets (kernel)', () => {
  test('a lone query: a port of its own, closed when answered; a flood: POOL_MAX random ports shared, random ids distinct per port; all closed after', async () => {
    const up = await upstream();
    f = new Forwarder();
    const asker = { upstreams: [UP], inflight: 0 };
    const replies = new Map<number, Buffer>();
    const ask = (i: number) => {
      const q = buildQuery(`q${i}.example.test`, TYPE.A, { id: i });
      f!.forward(asker, parseQuery(q)!, Buffer.from(q), (m) => replies.set(m.readUInt16BE(0), m), false);
    };
    // The epoll set is made with the first socket: count fds after it.
    ask(10_000);
    await eventually(() => up.seen.length === 1, 3000, 'the first query upstream');
    await up.answer(up.seen[0]!);
    await eventually(() => replies.has(10_000), 3000, 'the first answer');
    const base = fds();
    // Three more, one at a time: a new socket each, none left after.
    for (let i = 1; i <= 3; i++) {
      ask(10_000 + i);
      await eventually(() => up.seen.length === 1 + i, 3000, 'the query upstream');
      expect(fds()).toBe(base + 1);
      await up.answer(up.seen[i]!);
      await eventually(() => replies.has(10_000 + i), 3000, 'its answer');
      expect(fds()).toBe(base);
    }
    expect(new Set(up.seen.map((s) => s.port)).size).toBe(4);
    expect(f.stats.accepted).toBe(4);

    // A flood: 200 in flight at once.
    up.seen.length = 0;
    for (let i = 0; i < 200; i++) ask(i);
    await eventually(() => up.seen.length === 200, 3000, '200 queries upstream');
    const ports = new Map<number, Seen[]>();
    for (const s of up.seen) ports.set(s.port, [...(ports.get(s.port) ?? []), s]);
    expect(ports.size).toBe(POOL_MAX);
    expect(fds()).toBe(base + POOL_MAX);
    expect(f.stats.sockets.shared).toBeGreaterThanOrEqual(200 - POOL_MAX);
    for (const qs of ports.values()) expect(new Set(qs.map((q) => q.id)).size).toBe(qs.length);
    const ids = up.seen.map((s) => s.id);
    expect(Math.max(...ids) - Math.min(...ids)).toBeGreaterThan(40_000);
    // Not the clients' ids (0..199) in order: the upstream's ids are the forwarder's own.
    expect(ids.filter((id, i) => id === i).length).toBeLessThan(5);

    // Forged answers for the first query, on its live port.
    const victim = up.seen[0]!;
    const clientId = parseInt(/^q(\d+)\./.exec(victim.name)![1]!, 10);
    const forge = async (from: dgram.Socket) => {
      const a = buildAnswer(parseQuery(victim.msg)!, victim.msg, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A, data: '192.0.2.66' }] });
      await new Promise<void>((r) => from.send(a, victim.port, victim.address, () => r()));
      sockets.splice(sockets.indexOf(from), 1);
      await new Promise<void>((r) => from.close(() => r()));
    };
    await forge(await bound('127.0.0.154', 53)); // wrong address
    await forge(await bound(UP, 5353)); // wrong port
    await up.answer(victim, { id: victim.id ^ 0x5555 }); // wrong id
    await up.answer(victim, { name: 'bank.example.test' }); // wrong question
    await eventually(() => f!.stats.dropped.id >= 1 && f!.stats.dropped.name >= 1, 3000, 'the wrong id and question dropped');
    await new Promise((r) => setTimeout(r, 100));
    expect(replies.has(clientId)).toBe(false);
    // The kernel dropped the wrong address and port: the forwarder never saw them.
    expect(f.stats.dropped['source-address'] + f.stats.dropped['source-port']).toBe(0);
    expect(f.stats.dropped.id + f.stats.dropped.name).toBe(2);

    // The real answers: each client gets its own, with its id; then every socket is closed.
    for (const s of up.seen) await up.answer(s);
    await eventually(() => [...Array(200).keys()].every((i) => replies.has(i)), 5000, '200 answers');
    for (let i = 0; i < 200; i++) {
      // Its own question: the answer to its query, not another's.
      const q = buildQuery(`q${i}.example.test`, TYPE.A, { id: i });
      const end = parseQuery(q)!.questionEnd;
      expect(replies.get(i)!.readUInt16BE(0)).toBe(i);
      expect(replies.get(i)!.subarray(12, end)).toEqual(q.subarray(12, end));
      expect(replies.get(i)!.includes(Buffer.from([192, 0, 2, 66]))).toBe(false);
    }
    expect(asker.inflight).toBe(0);
    expect(fds()).toBe(base);

    // Closing the forwarder with queries in flight closes their sockets (and the set).
    up.seen.length = 0;
    for (let i = 0; i < 50; i++) ask(1000 + i);
    await eventually(() => up.seen.length === 50, 3000, '50 queries upstream');
    expect(fds()).toBe(base + POOL_MAX);
    f.close();
    f = undefined;
    // The sockets at once; the set itself once the loop has closed its watch.
    expect(fds()).toBe(base);
    await eventually(() => fds() === base - 1, 3000, 'the epoll set closed');
  }, 30_000);
});
