// A small upstream DNS server for tests, served from this test process
// through sockets bound inside the fake WAN namespace (nsnet's socketBind,
// the same mechanism as the embedded DNS server). It knows:
//   *.example.test       A 203.0.113.80
//   big.example.test     40 A records (too big for 512 bytes: TC over UDP, whole over TCP)
//   anything else        NXDOMAIN
// It logs the source address, port and id of every UDP query (what `tcpdump -ni
// any udp port 53` would show), and can answer late (`delayMs`) to hold a query
// in flight. It listens on WAN.dns, or on `address` (an IPv6 one too).
import { isIPv6 } from 'node:net';
import dgram from 'node:dgram';
import net from 'node:net';
import { socketBind, type Netns } from '../../src/index.js';
import { parseQuery, RCODE, TYPE } from '../../src/dns/message.js';
import { buildAnswer } from '../../src/dns/reply.js';
import { WAN } from './wan.js';

export interface Upstream {
  queries: string[];
  /** Each UDP query as it arrived: its name, the forwarder's source address and port, the query's id. */
  sources: Source[];
  /** How long UDP answers wait (ms); may be changed at any time. */
  delayMs: number;
  close(): Promise<void>;
}

export interface Source {
  name: string;
  port: number;
  address: string;
  id: number;
  /** The question as it came, in wire form (QNAME, QTYPE, QCLASS). */
  question: Buffer;
}

export interface UpstreamOptions {
  delayMs?: number;
  /** Called as each UDP query arrives, before it is answered. */
  onQuery?: (q: Source) => void;
  /** Where it listens (port 53); default WAN.dns. */
  address?: string;
}

function answer(msg: Buffer, tcp: boolean, log: string[]): Buffer | undefined {
  const q = parseQuery(msg);
  if (!q) return undefined;
  log.push(`${tcp ? 'tcp' : 'udp'} ${q.qname}`);
  if (q.qname === 'big.example.test') {
    const answers = Array.from({ length: 40 }, (_, i) => ({ type: TYPE.A as 1, data: `203.0.113.${100 + i}` }));
    return buildAnswer(q, msg, { rcode: RCODE.NOERROR, answers, ...(tcp && { maxSize: 65535 }) });
  }
  if (q.qname.endsWith('.example.test') && q.qtype === TYPE.A) {
    return buildAnswer(q, msg, { rcode: RCODE.NOERROR, answers: [{ type: TYPE.A as 1, data: '203.0.113.80' }] });
  }
  return buildAnswer(q, msg, { rcode: RCODE.NXDOMAIN, answers: [] });
}

export async function startUpstream(wan: Netns, o: UpstreamOptions = {}): Promise<Upstream> {
  const queries: string[] = [];
  const sources: Upstream['sources'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const up: Upstream = { queries, sources, delayMs: o.delayMs ?? 0, close: async () => {} };
  const address = o.address ?? WAN.dns;
  const u = await socketBind(wan, { type: 'udp', address, port: 53 });
  const t = await socketBind(wan, { type: 'tcp', address, port: 53 });
  const udp = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  udp.on('message', (msg, r) => {
    const out = answer(msg, false, queries);
    if (!out) return;
    const q: Source = { name: queries[queries.length - 1]!.slice(4), port: r.port, address: r.address, id: msg.readUInt16BE(0),
      question: Buffer.from(msg.subarray(12, parseQuery(msg)!.questionEnd)) };
    sources.push(q);
    o.onQuery?.(q);
    if (!up.delayMs) return void udp.send(out, r.port, r.address);
    const t = setTimeout(() => {
      timers.delete(t);
      udp.send(out, r.port, r.address);
    }, up.delayMs);
    timers.add(t);
  });
  await new Promise<void>((res) => udp.bind({ fd: u.fd }, res));
  const tcp = net.createServer((c) => {
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const out = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), true, queries);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (out) {
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          c.write(Buffer.concat([head, out]));
        }
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((res) => tcp.listen({ fd: t.fd }, res));
  up.close = async () => {
    for (const t of timers) clearTimeout(t);
    udp.close();
    await new Promise((res) => tcp.close(res));
  };
  return up;
}
