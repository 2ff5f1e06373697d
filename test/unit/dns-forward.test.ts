// The forwarder's decision (forward.ts acceptReply): which upstream replies it
// takes, and which it drops and why; and its query ids.
import { describe, expect, test } from 'vitest';
import { acceptReply, randomId, type Sent } from '../../src/dns/upstream-reply.js';
import { parseQuery, RCODE, TYPE } from '../../src/dns/message.js';
import { buildAnswer } from '../../src/dns/reply.js';
import { buildQuery } from '../helpers/dns-client.js';
import { ipBytes } from '../../src/kernel/socket.js';

const UPSTREAM = { address: '203.0.113.53', port: 53 };

/** What the forwarder keeps of a query it sent: id, question bytes, where it went. */
function sent(name: string, type: number = TYPE.A, id = 0x1234): { s: Sent; query: Buffer } {
  const query = buildQuery(name, type, { id, edns: 1232 });
  const q = parseQuery(query)!;
  return { s: { id, question: query.subarray(12, q.questionEnd), ...UPSTREAM }, query };
}

/** The upstream's answer to `query` (its own question copied, as a server does). */
function answer(query: Buffer, ip = '203.0.113.80'): Buffer {
  return buildAnswer(parseQuery(query)!, query, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A, data: ip }] });
}

describe('acceptReply', () => {
  const { s, query } = sent('www.example.test');

  test('the upstream answering the question it was asked, with the id it got: accepted', () => {
    expect(acceptReply(s, UPSTREAM, answer(query))).toBe('ok');
    // NXDOMAIN and TC pass too: they answer the question.
    expect(acceptReply(s, UPSTREAM, buildAnswer(parseQuery(query)!, query, { rcode: RCODE.NXDOMAIN, answers: [] }))).toBe('ok');
  });

  test('the name in another case: accepted (RFC 4343), only ASCII letters fold', () => {
    expect(acceptReply(s, UPSTREAM, answer(buildQuery('WwW.Example.TEST', TYPE.A, { id: 0x1234 })))).toBe('ok');
    // A byte that differs by 0x20 but is no letter is another name: '[' (0x5b) is not '{' (0x7b).
    const a = sent('a[b.example.test');
    expect(acceptReply(a.s, UPSTREAM, answer(buildQuery('a{b.example.test', TYPE.A, { id: 0x1234 })))).toBe('name');
  });

  test('wrong id', () => {
    for (const id of [0x1235, 0x3412, 0, 0xffff]) expect(acceptReply(s, UPSTREAM, answer(buildQuery('www.example.test', TYPE.A, { id })))).toBe('id');
  });

  test('wrong name: another name, a longer or shorter one, a compression pointer instead of the name', () => {
    const other = (n: string) => answer(buildQuery(n, TYPE.A, { id: 0x1234 }));
    expect(acceptReply(s, UPSTREAM, other('bank.example.test'))).toBe('name');
    expect(acceptReply(s, UPSTREAM, other('www.example.test.evil'))).toBe('name');
    expect(acceptReply(s, UPSTREAM, other('example.test'))).toBe('name');
    expect(acceptReply(s, UPSTREAM, other('www.example.tesu'))).toBe('name');
    const ptr = Buffer.from(answer(query));
    ptr[12] = 0xc0;
    ptr[13] = 0x0c;
    expect(acceptReply(s, UPSTREAM, ptr)).toBe('name');
  });

  test('wrong type, wrong class', () => {
    expect(acceptReply(s, UPSTREAM, answer(buildQuery('www.example.test', TYPE.AAAA, { id: 0x1234 })))).toBe('type');
    expect(acceptReply(s, UPSTREAM, answer(buildQuery('www.example.test', TYPE.A, { id: 0x1234, qclass: 3 })))).toBe('class');
  });

  test('QDCOUNT 0 or 2', () => {
    const r = answer(query);
    for (const qd of [0, 2, 0x100]) {
      const b = Buffer.from(r);
      b.writeUInt16BE(qd, 4);
      expect(acceptReply(s, UPSTREAM, b)).toBe('qdcount');
    }
  });

  test('not a response (QR clear: our own query reflected back)', () => {
    expect(acceptReply(s, UPSTREAM, query)).toBe('not-response');
  });

  test('truncated or garbage packets', () => {
    const r = answer(query);
    expect(acceptReply(s, UPSTREAM, Buffer.alloc(0))).toBe('malformed');
    expect(acceptReply(s, UPSTREAM, r.subarray(0, 11))).toBe('malformed');
    // The header only, and the question cut anywhere: never accepted.
    for (let n = 12; n < 12 + s.question.length; n++) expect(acceptReply(s, UPSTREAM, r.subarray(0, n)), `cut at ${n}`).not.toBe('ok');
    expect(acceptReply(s, UPSTREAM, r.subarray(0, 12))).toBe('malformed');
    // Random bytes: never accepted, never a throw.
    let seed = 7;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(Array.from({ length: (rand() * 80) | 0 }, () => (rand() * 256) | 0));
      if (acceptReply(s, UPSTREAM, b) === 'ok') accepted++;
    }
    expect(accepted).toBe(0);
    // Random bytes after a right header: the question must still match.
    for (let i = 0; i < 2_000; i++) {
      const b = Buffer.from(r);
      const at = 12 + ((rand() * s.question.length) | 0);
      b[at] = b[at]! ^ (1 + ((rand() * 255) | 0));
      const v = acceptReply(s, UPSTREAM, b);
      // Flipping bit 0x20 of a letter is a case change: still the same name.
      if (v === 'ok') expect(b.subarray(12, 12 + s.question.length).toString('latin1').toLowerCase()).toBe(s.question.toString('latin1').toLowerCase());
      else expect(['name', 'type', 'class']).toContain(v);
    }
  });

  test('wrong source address or port, even with everything else right', () => {
    expect(acceptReply(s, { address: '203.0.113.54', port: 53 }, answer(query))).toBe('source-address');
    expect(acceptReply(s, { address: '172.19.0.2', port: 53 }, answer(query))).toBe('source-address');
    expect(acceptReply(s, { address: '203.0.113.53', port: 5353 }, answer(query))).toBe('source-port');
    expect(acceptReply(s, { address: '203.0.113.53', port: 0 }, answer(query))).toBe('source-port');
  });

  test('an IPv6 upstream: the address compared whatever its letters case', () => {
    const v6: Sent = { ...s, address: '2001:DB8::53' };
    expect(acceptReply(v6, { address: '2001:db8::53', port: 53 }, answer(query))).toBe('ok');
    expect(acceptReply(v6, { address: '2001:db8::54', port: 53 }, answer(query))).toBe('source-address');
  });
});

describe('randomId', () => {
  test('16-bit, spread over the whole range, across refills of its pool', () => {
    const n = 50_000;
    const seen = new Set<number>();
    const buckets = new Array(16).fill(0);
    let [min, max] = [Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      const id = randomId();
      [min, max] = [Math.min(min, id), Math.max(max, id)];
      if (Number.isInteger(id)) seen.add(id);
      buckets[id >> 12]++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(0xffff);
    // 50,000 draws from 65,536: ~34,000 distinct expected (a stuck or short generator gives far fewer).
    expect(seen.size).toBeGreaterThan(30_000);
    for (const b of buckets) expect(Math.abs(b - n / 16)).toBeLessThan(n / 16 / 5);
  });
});

test('ipBytes: an upstream address as the addon takes it (4 or 16 bytes), null for anything else', () => {
  expect([...ipBytes('203.0.113.53')!]).toEqual([203, 0, 113, 53]);
  expect(ipBytes('2001:db8::53')!.toString('hex')).toBe('20010db8000000000000000000000053');
  expect(ipBytes('::1')!.toString('hex')).toBe('00000000000000000000000000000001');
  expect(ipBytes('::')!.toString('hex')).toBe('0'.repeat(32));
  expect(ipBytes('fe80:0:0:0:1:2:3:4')!.toString('hex')).toBe('fe800000000000000001000200030004');
  expect(ipBytes('::ffff:192.0.2.1')!.toString('hex')).toBe('00000000000000000000ffffc0000201');
  expect(ipBytes('2001:db8::')!.toString('hex')).toBe('20010db8000000000000000000000000');
  for (const bad of ['', 'dns.example', '256.1.1.1', 'fe80::1%eth0', '1.2.3']) expect(ipBytes(bad)).toBeNull();
});
