import { describe, expect, test } from 'vitest';
import { ipFromPtr } from '../../src/dns/address.js';
import { encodeName } from '../../src/dns/domain-name.js';
import { parseQuery, RCODE, TYPE, withId, type Query } from '../../src/dns/message.js';
import { buildAnswer, buildError } from '../../src/dns/reply.js';
import { buildQuery, idOf, parseResponse, ptrName, rcodeOf } from '../helpers/dns-client.js';

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;

function parsed(buf: Buffer): Query {
  const q = parseQuery(buf);
  if (!q) throw new Error('query did not parse');
  return q;
}

/** A header (id 0x1234, RD, QDCOUNT 1 unless given) followed by `rest`. */
function raw(rest: number[], counts: { qd?: number; an?: number; ns?: number; ar?: number; flags?: number } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(counts.flags ?? RD, 2);
  h.writeUInt16BE(counts.qd ?? 1, 4);
  h.writeUInt16BE(counts.an ?? 0, 6);
  h.writeUInt16BE(counts.ns ?? 0, 8);
  h.writeUInt16BE(counts.ar ?? 0, 10);
  return Buffer.concat([h, Buffer.from(rest)]);
}

/** Wire labels for a name given as an array of label strings. */
function labels(...ls: string[]): number[] {
  return [...ls.flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0];
}

const A_IN = [0, 1, 0, 1];
const OPT = (size: number, rdata: number[] = []) => [0, 0, 41, size >> 8, size & 0xff, 0, 0, 0, 0, rdata.length >> 8, rdata.length & 0xff, ...rdata];

/** Seeded PRNG (mulberry32), so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseQuery', () => {
  test('round trip of a built query', () => {
    const buf = buildQuery('db.mynet', TYPE.A, { id: 0xbeef });
    const q = parsed(buf);
    expect(q).toEqual({
      id: 0xbeef,
      flags: RD,
      rd: true,
      opcode: 0,
      qname: 'db.mynet',
      qnameRaw: 'db.mynet',
      qtype: TYPE.A,
      qclass: 1,
      questionEnd: 12 + 10 + 4,
      hasEdns: false,
    });
    expect(q.ednsUdpSize).toBeUndefined();
    expect(parsed(buildQuery('db.', TYPE.AAAA, { rd: false })).rd).toBe(false);
  });

  test('the name is lower-cased, the raw form kept as sent', () => {
    const q = parsed(buildQuery('Db.MyNet', TYPE.A));
    expect(q.qname).toBe('db.mynet');
    expect(q.qnameRaw).toBe('Db.MyNet');
  });

  test('the root name', () => {
    const q = parsed(buildQuery('.', TYPE.NS));
    expect([q.qname, q.qnameRaw, q.questionEnd]).toEqual(['', '', 17]);
  });

  test('EDNS: the OPT record gives the UDP size', () => {
    const q = parsed(buildQuery('db', TYPE.A, { edns: 1232 }));
    expect(q.hasEdns).toBe(true);
    expect(q.ednsUdpSize).toBe(1232);
    // An OPT record after other additional records, with an option (a cookie), is still found.
    const other = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1];
    const q2 = parsed(raw([...labels('db'), ...A_IN, ...other, ...OPT(4096, [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])], { ar: 2 }));
    expect([q2.hasEdns, q2.ednsUdpSize]).toEqual([true, 4096]);
  });

  test('labels with dots, backslashes or unprintable bytes are escaped, never split', () => {
    const q = parsed(raw([...labels('a.b', 'c\\', 'X\x00y'), ...A_IN]));
    expect(q.qnameRaw).toBe('a\\.b.c\\\\.X\\000y');
    expect(q.qname).toBe('a\\.b.c\\\\.x\\000y');
    expect(encodeName(q.qnameRaw)).toEqual(Buffer.from(labels('a.b', 'c\\', 'X\x00y')));
    expect(parsed(raw([...labels('\xc9t\xe9'), ...A_IN])).qname).toBe('\\201t\\233');
    expect(encodeName('a\\.')).toEqual(Buffer.from(labels('a.')));
    expect(encodeName('a\\\\.')).toEqual(Buffer.from(labels('a\\')));
    expect(encodeName('db.')).toEqual(encodeName('db'));
  });

  test('names up to 255 bytes on the wire, labels up to 63', () => {
    const l63 = 'a'.repeat(63);
    const max = [l63, l63, l63, 'b'.repeat(61)]; // 4 + 250 + 1 = 255
    expect(parsed(raw([...labels(...max), ...A_IN])).qname).toBe(max.join('.'));
    expect(parseQuery(raw([...labels(l63, l63, l63, 'b'.repeat(62)), ...A_IN]))).toBeNull();
    expect(parseQuery(raw([...labels('a'.repeat(64)), ...A_IN]))).toBeNull();
    expect(() => encodeName(max.join('.'))).not.toThrow();
    expect(() => encodeName(max.join('.') + 'b')).toThrow(/255/);
    expect(() => encodeName('a'.repeat(64))).toThrow(/63/);
    expect(() => encodeName('a..b')).toThrow(/empty label/);
  });

  test.each([
    ['empty', Buffer.alloc(0)],
    ['11 bytes', Buffer.alloc(11)],
    ['a response (QR set)', raw([...labels('db'), ...A_IN], { flags: QR | RD })],
    ['no question', raw([], { qd: 0 })],
    ['two questions', raw([...labels('a'), ...A_IN, ...labels('b'), ...A_IN], { qd: 2 })],
    ['a compression pointer in the question', raw([0xc0, 12, ...A_IN])],
    ['a pointer after a label', raw([2, 0x64, 0x62, 0xc0, 12, ...A_IN])],
    ['a reserved label type', raw([0x41, ...A_IN])],
    ['a truncated label', raw([5, 0x61])],
    ['no terminating zero', raw([2, 0x64, 0x62])],
    ['no type and class', raw([...labels('db'), 0, 1])],
    ['an additional record that is not there', raw([...labels('db'), ...A_IN], { ar: 1 })],
    ['a truncated OPT record', raw([...labels('db'), ...A_IN, ...OPT(4096).slice(0, 8)], { ar: 1 })],
    ['an OPT whose RDATA runs past the end', raw([...labels('db'), ...A_IN, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 9], { ar: 1 })],
    ['two OPT records', raw([...labels('db'), ...A_IN, ...OPT(4096), ...OPT(512)], { ar: 2 })],
    ['an OPT record not at the root', raw([...labels('db'), ...A_IN, 1, 0x78, ...OPT(4096)], { ar: 1 })],
    ['65535 answer records claimed', raw([...labels('db'), ...A_IN], { an: 0xffff })],
  ])('rejects %s', (_what, buf) => {
    expect(parseQuery(buf)).toBeNull();
  });

  test('keeps the opcode for the server to refuse (NOTIMP)', () => {
    const buf = buildQuery('db', TYPE.A);
    buf.writeUInt16BE((2 << 11) | RD, 2); // STATUS
    expect(parsed(buf).opcode).toBe(2);
  });
});

describe('buildAnswer', () => {
  test('an A answer: id and question copied, pointer to the question, TTL 600, QR RA RD', () => {
    const req = buildQuery('Db.MyNet', TYPE.A, { id: 4321 });
    const q = parsed(req);
    const out = buildAnswer(q, req, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A, data: '172.18.0.3' }] });
    expect(out.length).toBe(q.questionEnd + 16);
    expect(out.subarray(12, q.questionEnd)).toEqual(req.subarray(12, q.questionEnd));
    expect(out.readUInt16BE(q.questionEnd)).toBe(0xc00c);
    const r = parseResponse(out)!;
    expect(r.id).toBe(4321);
    expect(r.flags).toBe(QR | RD | RA);
    expect(r.rcode).toBe(0);
    expect(r.tc).toBe(false);
    expect(r.question).toEqual({ name: 'Db.MyNet', type: TYPE.A, class: 1 });
    expect(r.answers).toEqual([{ name: 'Db.MyNet', type: TYPE.A, ttl: 600, data: '172.18.0.3' }]);
    expect(r.ednsUdpSize).toBeUndefined();
  });

  test('several answers, AA, a TTL, opcode RD CD copied', () => {
    const req = buildQuery('cache', TYPE.A, { rd: false });
    req.writeUInt16BE(req.readUInt16BE(2) | CD, 2);
    const q = parsed(req);
    const ips = ['172.18.0.2', '172.18.0.3', '10.0.0.255'];
    const r = parseResponse(buildAnswer(q, req, { rcode: 0, aa: true, ttl: 5, answers: ips.map((data) => ({ type: TYPE.A, data })) }))!;
    expect(r.flags).toBe(QR | AA | RA | CD);
    expect(r.answers.map((a) => [a.data, a.ttl])).toEqual(ips.map((ip) => [ip, 5]));
  });

  test('NODATA: NOERROR and no answers', () => {
    const req = buildQuery('db', TYPE.AAAA);
    const out = buildAnswer(parsed(req), req, { rcode: RCODE.NOERROR, answers: [] });
    const r = parseResponse(out)!;
    expect([r.rcode, r.answers.length, out.readUInt16BE(6)]).toEqual([0, 0, 0]);
  });

  test('PTR, CNAME and AAAA records; named owners', () => {
    const req = buildQuery(ptrName('172.18.0.3'), TYPE.PTR);
    const q = parsed(req);
    expect(q.qname).toBe('3.0.18.172.in-addr.arpa');
    const r = parseResponse(buildAnswer(q, req, { rcode: 0, answers: [{ type: TYPE.PTR, data: 'db.mynet' }] }))!;
    expect(r.answers).toEqual([{ name: '3.0.18.172.in-addr.arpa', type: TYPE.PTR, ttl: 600, data: 'db.mynet' }]);

    const req2 = buildQuery('www', TYPE.AAAA);
    const r2 = parseResponse(
      buildAnswer(parsed(req2), req2, {
        rcode: 0,
        answers: [
          { type: TYPE.CNAME, data: 'web.mynet.' },
          { type: TYPE.AAAA, name: 'web.mynet', data: '2001:DB8:0:0:1::1' },
          { type: TYPE.AAAA, name: 'web.mynet', data: '::ffff:10.0.0.1' },
        ],
      }),
    )!;
    expect(r2.answers.map((a) => [a.name, a.type, a.data])).toEqual([
      ['www', TYPE.CNAME, 'web.mynet'],
      ['web.mynet', TYPE.AAAA, '2001:db8::1:0:0:1'],
      ['web.mynet', TYPE.AAAA, '::ffff:a00:1'],
    ]);
  });

  test('invalid answers are the caller\'s bug: they throw', () => {
    const req = buildQuery('db', TYPE.A);
    const q = parsed(req);
    for (const data of ['172.18.0', '172.18.0.256', '1.2.3.4.5', 'db', '', '01234.1.1.1']) {
      expect(() => buildAnswer(q, req, { rcode: 0, answers: [{ type: TYPE.A, data }] })).toThrow(/IPv4/);
    }
    expect(() => buildAnswer(q, req, { rcode: 0, answers: [{ type: TYPE.AAAA, data: '1:2:3' }] })).toThrow(/IPv6/);
  });

  test('EDNS: an OPT record advertising 4096, with none of the client\'s options', () => {
    const req = raw([...labels('db'), ...A_IN, ...OPT(1232, [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])], { ar: 1 });
    const q = parsed(req);
    const out = buildAnswer(q, req, { rcode: 0, answers: [{ type: TYPE.A, data: '172.18.0.3' }] });
    expect(out.readUInt16BE(10)).toBe(1);
    expect([...out.subarray(out.length - 11)]).toEqual(OPT(4096));
    expect(parseResponse(out)!.ednsUdpSize).toBe(4096);
  });

  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ type: TYPE.A as 1, data: `10.0.${i >> 8}.${i & 255}` }));

  test('over 512 bytes without EDNS: TC set, no answers, question kept', () => {
    const req = buildQuery('cache', TYPE.A, { id: 7 });
    const q = parsed(req);
    // 12 + 11 (question) + 30 × 16 = 503: fits; 31 answers = 519: doesn't.
    const fits = parseResponse(buildAnswer(q, req, { rcode: 0, answers: many(30) }))!;
    expect([fits.tc, fits.answers.length]).toEqual([false, 30]);
    const out = buildAnswer(q, req, { rcode: 0, answers: many(31) });
    const r = parseResponse(out)!;
    expect([r.tc, r.answers.length, r.id, r.question?.name]).toEqual([true, 0, 7, 'cache']);
    expect(out.readUInt16BE(2) & TC).toBe(TC);
    expect(out.length).toBe(q.questionEnd);
  });

  test('the client\'s EDNS size is honoured, at least 512 and at most 4096', () => {
    const ask = (edns: number, n: number) => {
      const req = buildQuery('cache', TYPE.A, { edns });
      const r = parseResponse(buildAnswer(parsed(req), req, { rcode: 0, answers: many(n) }))!;
      return [r.tc, r.answers.length, r.ednsUdpSize];
    };
    // With OPT: 12 + 11 + 11 = 34 bytes before the answers.
    expect(ask(1232, 74)).toEqual([false, 74, 4096]); // 34 + 1184 = 1218
    expect(ask(1232, 75)).toEqual([true, 0, 4096]);
    expect(ask(100, 29)).toEqual([false, 29, 4096]); // below 512 counts as 512 (RFC 6891)
    expect(ask(100, 30)).toEqual([true, 0, 4096]);
    expect(ask(65000, 253)).toEqual([false, 253, 4096]); // 34 + 4048
    expect(ask(65000, 254)).toEqual([true, 0, 4096]);
  });

  test('maxSize overrides (TCP: 65535)', () => {
    const req = buildQuery('cache', TYPE.A);
    const q = parsed(req);
    expect(parseResponse(buildAnswer(q, req, { rcode: 0, answers: many(1000), maxSize: 65535 }))!.answers.length).toBe(1000);
    expect(parseResponse(buildAnswer(q, req, { rcode: 0, answers: many(2), maxSize: 40 }))!.tc).toBe(true);
  });
});

describe('buildError', () => {
  test('echoes id and question, sets QR RA and the rcode', () => {
    const req = buildQuery('Nope.Example', TYPE.A, { id: 99 });
    const r = parseResponse(buildError(req, RCODE.SERVFAIL)!)!;
    expect([r.id, r.rcode, r.flags & ~0xf, r.question?.name, r.answers.length]).toEqual([99, 2, QR | RD | RA, 'Nope.Example', 0]);
    for (const rc of [RCODE.FORMERR, RCODE.NXDOMAIN, RCODE.NOTIMP, RCODE.REFUSED]) expect(rcodeOf(buildError(req, rc)!)).toBe(rc);
  });

  test('an OPT record when the query had EDNS', () => {
    const req = buildQuery('x', TYPE.A, { edns: 1232 });
    expect(parseResponse(buildError(req, RCODE.REFUSED)!)!.ednsUdpSize).toBe(4096);
  });

  test('NOTIMP keeps the opcode', () => {
    const req = buildQuery('x', TYPE.A);
    req.writeUInt16BE((4 << 11) | RD, 2); // NOTIFY
    expect((buildError(req, RCODE.NOTIMP)!.readUInt16BE(2) >> 11) & 0xf).toBe(4);
  });

  test('garbage: the bare header with its id; too short for an id: null', () => {
    const out = buildError(Buffer.from([0xab, 0xcd, 0x01]), RCODE.FORMERR)!;
    expect(out.length).toBe(12);
    expect([idOf(out), rcodeOf(out), out.readUInt16BE(4)]).toEqual([0xabcd, 1, 0]);
    const bad = raw([...labels('db'), ...A_IN], { qd: 2 });
    expect(buildError(bad, RCODE.FORMERR)!.length).toBe(12);
    expect(buildError(Buffer.from([1]), RCODE.FORMERR)).toBeNull();
    expect(buildError(Buffer.alloc(0), RCODE.FORMERR)).toBeNull();
  });

  test('a readable question is echoed even when the query is refused by parseQuery', () => {
    const req = raw([...labels('db'), ...A_IN], { ar: 3 }); // claims records that aren't there
    const r = parseResponse(buildError(req, RCODE.FORMERR)!)!;
    expect([r.rcode, r.question?.name]).toEqual([1, 'db']);
  });
});

describe('ids and rcodes, for forwarding', () => {
  test('idOf, rcodeOf, withId copies', () => {
    const req = buildQuery('db', TYPE.A, { id: 1 });
    const copy = withId(req, 0x10001);
    expect([idOf(req), idOf(copy), copy.length]).toEqual([1, 1, req.length]);
    const moved = withId(req, 0xfffe);
    expect([idOf(req), idOf(moved)]).toEqual([1, 0xfffe]);
    expect(moved.subarray(2)).toEqual(req.subarray(2));
    expect([idOf(Buffer.alloc(1)), rcodeOf(Buffer.alloc(3))]).toEqual([-1, -1]);
    expect(withId(Buffer.from([7]), 5)).toEqual(Buffer.from([7]));
    expect(rcodeOf(buildError(req, RCODE.NXDOMAIN)!)).toBe(3);
  });
});

describe('ptrName and ipFromPtr', () => {
  test('IPv4', () => {
    expect(ptrName('172.17.0.2')).toBe('2.0.17.172.in-addr.arpa');
    expect(ipFromPtr('2.0.17.172.in-addr.arpa')).toBe('172.17.0.2');
    expect(ipFromPtr('2.0.17.172.IN-ADDR.ARPA.')).toBe('172.17.0.2');
  });
  test('IPv6 names: both ways, canonical (dual-stack PTR, issue 15)', () => {
    expect(ptrName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(ipFromPtr(ptrName('2001:db8::1'))).toBe('2001:db8::1');
    expect(ipFromPtr(ptrName('2001:DB8:0:0:1:0:0:1').toUpperCase() + '.')).toBe('2001:db8::1:0:0:1');
    expect(ipFromPtr('1.0.0.2.ip6.arpa')).toBeUndefined(); // partial
    expect(ipFromPtr(ptrName('2001:db8::1').replace(/^1/, 'g'))).toBeUndefined();
    expect(() => ptrName('db')).toThrow(/not an IP/);
  });
  test.each(['17.172.in-addr.arpa', '1.2.0.17.172.in-addr.arpa', '02.0.17.172.in-addr.arpa', '256.0.17.172.in-addr.arpa', 'a.0.17.172.in-addr.arpa', '2.0.17.172.in-addr.arpa.example', '2..17.172.in-addr.arpa', 'db'])(
    'not an address: %s',
    (name) => expect(ipFromPtr(name)).toBeUndefined(),
  );
});

describe('parseResponse', () => {
  const header = (an: number, qd = 1) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0x4242, 0);
    h.writeUInt16BE(QR | RD | RA | RCODE.NXDOMAIN, 2);
    h.writeUInt16BE(qd, 4);
    h.writeUInt16BE(an, 6);
    return h;
  };
  const rr = (name: number[], type: number, rdata: number[]) => [...name, 0, type, 0, 1, 0, 0, 0, 60, 0, rdata.length, ...rdata];

  test('an upstream answer with compression in names and in RDATA', () => {
    // www.example.com CNAME web.example.com; web.example.com A 93.184.215.14
    const q = [...labels('www', 'example', 'com'), ...A_IN]; // name at 12, "example" at 16
    const cname = rr([0xc0, 12], TYPE.CNAME, [3, 0x77, 0x65, 0x62, 0xc0, 16]);
    const a = rr([0xc0, 12 + q.length + 12], TYPE.A, [93, 184, 215, 14]); // points at the CNAME's RDATA
    const r = parseResponse(Buffer.concat([header(2), Buffer.from([...q, ...cname, ...a])]))!;
    expect([r.id, r.rcode, r.tc]).toEqual([0x4242, 3, false]);
    expect(r.answers).toEqual([
      { name: 'www.example.com', type: TYPE.CNAME, ttl: 60, data: 'web.example.com' },
      { name: 'web.example.com', type: TYPE.A, ttl: 60, data: '93.184.215.14' },
    ]);
  });

  test('other types come back as hex', () => {
    const q = [...labels('t'), 0, 16, 0, 1];
    const r = parseResponse(Buffer.concat([header(1), Buffer.from([...q, ...rr([0xc0, 12], TYPE.TXT, [2, 0x68, 0x69])])]))!;
    expect(r.answers[0]!.data).toBe('026869');
  });

  test.each([
    ['a pointer to itself', [0xc0, 12, ...A_IN]],
    ['two pointers pointing at each other', [0xc0, 14, 0xc0, 12, ...A_IN]],
    ['a label then a pointer back to it', [1, 0x61, 0xc0, 12, ...A_IN]],
    ['a pointer past the end', [0xc0, 200, ...A_IN]],
    ['a truncated pointer', [0xc0]],
    ['a reserved label type', [0x80, ...A_IN]],
  ])('refuses %s', (_what, q) => {
    expect(parseResponse(Buffer.concat([header(0), Buffer.from(q)]))).toBeNull();
  });

  test('a long chain of forward pointers ends at the jump limit', () => {
    // 12: pointer to 14, 14: pointer to 16, ... 100 hops, then "a".
    const chain: number[] = [];
    for (let i = 0; i < 100; i++) chain.push(0xc0, 12 + 2 * (i + 1));
    chain.push(...labels('a'));
    const q = Buffer.concat([header(0), Buffer.from([...chain, ...A_IN])]);
    expect(parseResponse(q)).toBeNull();
    // A short chain is fine.
    const short = Buffer.concat([header(0), Buffer.from([0xc0, 14, 0xc0, 16, ...labels('a'), ...A_IN])]);
    expect(parseResponse(short)!.question!.name).toBe('a');
  });

  test('an A record with the wrong length, a truncated record', () => {
    const q = [...labels('a'), ...A_IN];
    expect(parseResponse(Buffer.concat([header(1), Buffer.from([...q, ...rr([0xc0, 12], TYPE.A, [1, 2, 3])])]))).toBeNull();
    const full = Buffer.concat([header(1), Buffer.from([...q, ...rr([0xc0, 12], TYPE.A, [1, 2, 3, 4])])]);
    expect(parseResponse(full)).not.toBeNull();
    for (let n = 12; n < full.length; n++) expect(parseResponse(full.subarray(0, n))).toBeNull();
  });
});

describe('hostile input', () => {
  // Every entry point on each input: none may throw, and none may take a millisecond. A call over
  // 1 ms is re-timed three times, so a GC pause or a busy machine can't fail the test, but an
  // input that is really slow does.
  function exercise(buf: Buffer): void {
    const q = parseQuery(buf);
    if (q) {
      expect(q.questionEnd).toBeLessThanOrEqual(buf.length);
      const out = buildAnswer(q, buf, { rcode: 0, answers: [{ type: TYPE.A, data: '10.0.0.1' }] });
      const r = parseResponse(out);
      expect(r).not.toBeNull();
      expect(r!.answers.length + (r!.tc ? 1 : 0)).toBe(1);
    }
    const e = buildError(buf, RCODE.FORMERR);
    if (buf.length >= 2) expect(parseResponse(e!)).not.toBeNull();
    else expect(e).toBeNull();
    parseResponse(buf);
    rcodeOf(buf);
    idOf(buf);
  }
  function timed(buf: Buffer): void {
    let t = performance.now();
    exercise(buf);
    let ms = performance.now() - t;
    for (let i = 0; ms >= 1 && i < 3; i++) {
      t = performance.now();
      exercise(buf);
      ms = Math.min(ms, performance.now() - t);
    }
    expect(ms, `slow input ${buf.toString('hex')}`).toBeLessThan(1);
  }

  test('10k random buffers', () => {
    const rand = prng(0x5eed);
    let parsedCount = 0;
    for (let i = 0; i < 10_000; i++) {
      const len = Math.floor(rand() * (i % 10 === 0 ? 1500 : 80));
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      // Half of them look like a query's header, so the name and record code gets exercised too.
      if (len >= 12 && i % 2 === 0) {
        buf[2]! &= 0x7f;
        buf[4] = 0;
        buf[5] = 1;
        buf.fill(0, 6, rand() < 0.5 ? 12 : 10);
        // ... and a chain of short random labels, usually ending in a 0.
        for (let p = 12; p < len; ) {
          const l = rand() < 0.2 ? 0 : 1 + Math.floor(rand() * 8);
          buf[p] = l;
          if (l === 0) break;
          p += 1 + l;
        }
      }
      timed(buf);
      if (parseQuery(buf)) parsedCount++;
    }
    expect(parsedCount).toBeGreaterThan(0);
  });

  test('10k mutations of valid queries', () => {
    const rand = prng(42);
    const seeds = [
      buildQuery('db', TYPE.A, { id: 1 }),
      buildQuery('Db.MyNet', TYPE.AAAA, { id: 2, edns: 1232 }),
      buildQuery('2.0.17.172.in-addr.arpa', TYPE.PTR, { id: 3, edns: 4096 }),
      raw([...labels('db'), ...A_IN, ...OPT(1232, [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])], { ar: 1 }),
    ];
    let parsedCount = 0;
    for (let i = 0; i < 10_000; i++) {
      let buf = Buffer.from(seeds[i % seeds.length]!);
      const edits = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * buf.length);
        const r = rand();
        if (r < 0.4) buf[at]! ^= 1 << Math.floor(rand() * 8); // flip a bit
        else if (r < 0.6) buf[at] = [0, 0x3f, 0x40, 0xc0, 0xff, 12][Math.floor(rand() * 6)]!; // interesting byte
        else if (r < 0.75) buf = buf.subarray(0, at); // truncate
        else if (r < 0.9) buf = Buffer.concat([buf.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), buf.subarray(at)]); // insert
        else buf = Buffer.concat([buf, buf.subarray(at)]); // duplicate a tail
      }
      timed(buf);
      if (parseQuery(buf)) parsedCount++;
    }
    expect(parsedCount).toBeGreaterThan(1000);
  });
});
