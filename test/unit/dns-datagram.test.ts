// The datagram path's JavaScript (src/dns/reply-cache.ts, Queries.datagram in
// src/dns/queries.ts): answers written into a batch's reply buffer, the same
// bytes as the one-query path gives, a query asked before answered from the
// cache with its own id, forwarded queries handed over as copies with a
// function that replies later. No sockets: test/kernel/dns-batch.test.ts runs
// the addon's side.
import { describe, expect, test } from 'vitest';
import type { NetworkRecord, SandboxRecord } from '../../src/docker/types.js';
import type { Attachment } from '../../src/dns/attach.js';
import type { Forwarder, Reply } from '../../src/dns/forward.js';
import { TYPE, type Query } from '../../src/dns/message.js';
import { NameIndexer } from '../../src/dns/names.js';
import { Queries } from '../../src/dns/queries.js';
import { queryHash, ReplyCache } from '../../src/dns/reply-cache.js';
import { buildQuery, idOf, parseResponse, ptrName } from '../helpers/dns-client.js';

const net: NetworkRecord = {
  id: '01'.repeat(32), name: 'mynet', driver: 'bridge', created: '2024-01-01T00:00:00Z', builtin: false, internal: false,
  options: {}, labels: {}, subnet: '172.18.0.0/16', gateway: '172.18.0.1',
};
function sandbox(n: number, name: string, ip: string, aliases: string[] = []): SandboxRecord {
  return {
    id: String(n).padStart(64, '0'), name, created: '2024-01-01T00:00:00Z', status: 'running', mode: 'bridge', networkMode: 'mynet',
    hostname: `h${n}`, ports: [], links: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [],
    endpoints: [{ networkId: net.id, endpointId: 'e'.repeat(64), ifname: 'eth0', hostVeth: 'veth0', ip, prefixlen: 16, mac: '02:42:00:00:00:00', gateway: '172.18.0.1', aliases, staticIp: false }],
  } as SandboxRecord;
}

function setup() {
  const web = sandbox(1, 'web', '172.18.0.2');
  const db = sandbox(2, 'db', '172.18.0.3');
  const p1 = sandbox(3, 'p1', '172.18.0.4', ['pool']);
  const p2 = sandbox(4, 'p2', '172.18.0.5', ['pool']);
  const known = new Map([web, db, p1, p2].map((s) => [s.id, s]));
  const names = new NameIndexer();
  names.update([net], known);
  const forwarded: { q: Query; msg: Buffer; reply: Reply }[] = [];
  const forwarder = { forward: (_a: unknown, q: Query, msg: Buffer, reply: Reply) => forwarded.push({ q, msg, reply }), cancel: () => {} } as unknown as Forwarder;
  const queries = new Queries(names, forwarder, () => {});
  const att = { sandbox: web, upstreams: ['203.0.113.53'], inflight: 0, tcpConns: new Set() } as unknown as Attachment;
  return { names, known, queries, att, forwarded, db };
}

/** The one-query path's reply to `msg`. */
function viaQuery(queries: Queries, att: Attachment, msg: Buffer): Buffer | undefined {
  let out: Buffer | undefined;
  queries.query(att, msg, (b) => (out = b), false);
  return out;
}

/** `msg` at offset `off` of a batch buffer, answered by datagram() into `out` at `at`. */
function viaDatagram(queries: Queries, att: Attachment, msg: Buffer, o: { token?: number; off?: number; at?: number; out?: Buffer; later?: () => Reply } = {}) {
  const buf = Buffer.alloc(4096, 0xee);
  const off = o.off ?? 100;
  msg.copy(buf, off);
  const out = o.out ?? Buffer.alloc(4096, 0xdd);
  const at = o.at ?? 7;
  let laterCalls = 0;
  const n = queries.datagram(att, o.token ?? 1, buf, off, msg.length, out, at, out.length, o.later ?? (() => { laterCalls++; return () => {}; }));
  return { n, reply: out.subarray(at, at + n), out, laterCalls, buf };
}

/** 0x20: letters of `name` in random-looking case. */
const mixed = (name: string) => [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');

describe('reply cache (reply-cache.ts)', () => {
  const q = buildQuery('db', TYPE.A, { id: 0x1111 });
  const reply = Buffer.from([0x11, 0x11, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 9, 9, 9]);

  test('a hit is the stored reply with the query\'s id; anything else differing is a miss', () => {
    const c = new ReplyCache(16);
    const out = Buffer.alloc(64);
    expect(c.answer(5, q, 0, q.length, out, 0, 64)).toBe(0);
    c.put(5, q, 0, q.length, reply);
    expect(c.size).toBe(1);
    const again = Buffer.from(q);
    again.writeUInt16BE(0xabcd, 0);
    expect(c.answer(5, again, 0, again.length, out, 3, 64)).toBe(reply.length);
    expect(out.readUInt16BE(3)).toBe(0xabcd);
    expect(out.subarray(5, 3 + reply.length)).toEqual(reply.subarray(2));
    // Another socket (sandbox), another spelling, another length, no room: misses.
    expect(c.answer(6, again, 0, again.length, out, 0, 64)).toBe(0);
    const upper = buildQuery('DB', TYPE.A, { id: 0x1111 });
    expect(c.answer(5, upper, 0, upper.length, out, 0, 64)).toBe(0);
    expect(c.answer(5, again, 0, again.length - 1, out, 0, 64)).toBe(0);
    expect(c.answer(5, again, 0, again.length, out, 60, 64)).toBe(0);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.answer(5, again, 0, again.length, out, 0, 64)).toBe(0);
  });

  test('the key is the bytes after the id, wherever they sit; bounded: a newer entry replaces an older one at its place', () => {
    const c = new ReplyCache(4);
    const big = Buffer.alloc(200);
    q.copy(big, 50);
    expect(queryHash(1, big, 50, q.length)).toBe(queryHash(1, q, 0, q.length));
    expect(queryHash(2, q, 0, q.length)).not.toBe(queryHash(1, q, 0, q.length));
    for (let i = 0; i < 100; i++) {
      const m = buildQuery(`n${i}`, TYPE.A);
      c.put(1, m, 0, m.length, reply);
    }
    expect(c.size).toBeLessThanOrEqual(4);
    expect(() => new ReplyCache(3)).toThrow(/power of two/);
  });
});

describe('Queries.datagram', () => {
  test('the reply is written into the batch buffer at its offset, byte for byte what the one-query path gives', () => {
    const { queries, att } = setup();
    const cases = [
      buildQuery('db', TYPE.A, { id: 1 }),
      buildQuery(mixed('db.mynet'), TYPE.A, { id: 2 }),
      buildQuery('db', TYPE.AAAA, { id: 3 }),
      buildQuery('db', TYPE.A, { id: 4, edns: 1232 }),
      buildQuery(ptrName('172.18.0.3'), TYPE.PTR, { id: 5 }),
      Buffer.from([0, 6, 1, 0, 0, 1]), // garbage: FORMERR
    ];
    for (const msg of cases) {
      const want = viaQuery(queries, att, msg)!;
      // Twice: the second comes from the cache, the same bytes.
      for (let i = 0; i < 2; i++) {
        const got = viaDatagram(queries, att, msg);
        expect(got.n).toBe(want.length);
        expect(got.reply).toEqual(want);
        expect(got.out[6]).toBe(0xdd); // nothing written before `at`
        expect(got.out[7 + got.n]).toBe(0xdd); // nor after the reply
      }
    }
    expect(parseResponse(viaDatagram(queries, att, cases[0]!).reply)!.answers.map((a) => a.data)).toEqual(['172.18.0.3']);
  });

  test('a query asked again gets its own id and its own spelling; the cache is per socket and dropped when the names change', () => {
    const { queries, att, names, known, db } = setup();
    const first = viaDatagram(queries, att, buildQuery('db', TYPE.A, { id: 0x0101 }));
    const second = viaDatagram(queries, att, buildQuery('db', TYPE.A, { id: 0x0202 }));
    expect(idOf(first.reply)).toBe(0x0101);
    expect(idOf(second.reply)).toBe(0x0202);
    expect(second.reply.subarray(2)).toEqual(first.reply.subarray(2));
    const spelt = viaDatagram(queries, att, buildQuery('dB', TYPE.A, { id: 0x0303 }));
    expect(parseResponse(spelt.reply)!.question!.name).toBe('dB');
    // db moves: the next answer (same query bytes) has the new address.
    known.set(db.id, { ...db, endpoints: [{ ...db.endpoints[0]!, ip: '172.18.0.9' }] });
    names.update([net], known, [db.id]);
    expect(parseResponse(viaDatagram(queries, att, buildQuery('db', TYPE.A, { id: 0x0404 })).reply)!.answers.map((a) => a.data)).toEqual(['172.18.0.9']);
  });

  test('several addresses keep rotating (never cached)', () => {
    const { queries, att } = setup();
    const orders = [1, 2, 3].map((id) => parseResponse(viaDatagram(queries, att, buildQuery('pool', TYPE.A, { id })).reply)!.answers.map((a) => a.data));
    expect([...orders[0]!].sort()).toEqual(['172.18.0.4', '172.18.0.5']);
    expect(orders[1]).toEqual([...orders[0]!].reverse());
    expect(orders[2]).toEqual(orders[0]);
  });

  test('a forwarded query: nothing written, the forwarder gets a copy of the query and the function that replies later', () => {
    const { queries, att, forwarded } = setup();
    const sent: Buffer[] = [];
    const msg = buildQuery('www.example.test', TYPE.A, { id: 9 });
    const r = viaDatagram(queries, att, msg, { later: () => (b) => sent.push(b) });
    expect(r.n).toBe(0);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.q.qname).toBe('www.example.test');
    r.buf.fill(0); // the batch buffer is reused by the next batch
    expect(forwarded[0]!.msg).toEqual(msg);
    forwarded[0]!.reply(Buffer.from('answer'));
    expect(sent).toEqual([Buffer.from('answer')]);
    // Asked again: forwarded again (never cached).
    viaDatagram(queries, att, msg);
    expect(forwarded).toHaveLength(2);
  });

  test('a reply that does not fit what is left of the batch buffer goes out through later()', () => {
    const { queries, att } = setup();
    const sent: Buffer[] = [];
    const out = Buffer.alloc(40);
    const msg = buildQuery('db', TYPE.A, { id: 7 });
    for (let i = 0; i < 2; i++) {
      const r = viaDatagram(queries, att, msg, { out, at: 10, later: () => (b) => sent.push(b) });
      expect(r.n).toBe(0);
    }
    expect(sent).toHaveLength(2);
    expect(parseResponse(sent[1]!)!.answers.map((a) => a.data)).toEqual(['172.18.0.3']);
  });
});
