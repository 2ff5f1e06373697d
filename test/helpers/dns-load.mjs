// Runs inside a sandbox, against its resolver at 127.0.0.11:53:
//
//   node dns-load.mjs flood SECONDS NAME     a tight sender loop: 4 sockets, 64 queries per socket
//                                            per turn of the event loop, never waiting for answers
//                                            (thousands in flight); prints {sent, answered}
//   node dns-load.mjs probe COUNT NAME IP    COUNT queries one after the other, each timed; prints
//                                            {answered, wrong, p50, p99, max} (ms)
//
// The flood says "flooding" on stderr once it is under way.
import dgram from 'node:dgram';
import { query } from './dns-query.mjs';

const [mode, a, name, ip] = process.argv.slice(2);


async function socket() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

if (mode === 'flood') {
  const end = Date.now() + Number(a) * 1000;
  const q = query(name, 0);
  let sent = 0;
  let answered = 0;
  const socks = await Promise.all([0, 1, 2, 3].map(socket));
  for (const s of socks) s.on('message', () => answered++);
  process.stderr.write('flooding\n');
  while (Date.now() < end) {
    for (const s of socks) {
      for (let i = 0; i < 64; i++) {
        q.writeUInt16BE(sent & 0xffff, 0);
        s.send(q, 53, '127.0.0.11');
        sent++;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const s of socks) s.close();
  console.log(JSON.stringify({ sent, answered }));
} else if (mode === 'probe') {
  const count = Number(a);
  const s = await socket();
  const rtts = [];
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const id = (i * 7919) & 0xffff;
    const t0 = process.hrtime.bigint();
    const reply = await new Promise((resolve) => {
      const t = setTimeout(() => { s.off('message', on); resolve(null); }, 2000);
      function on(m) {
        if (m.readUInt16BE(0) !== id) return;
        clearTimeout(t);
        s.off('message', on);
        resolve(m);
      }
      s.on('message', on);
      s.send(query(name, id), 53, '127.0.0.11');
    });
    if (!reply) continue;
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    // A one-answer A reply ends with the address.
    if ([...reply.subarray(reply.length - 4)].join('.') !== ip) wrong++;
  }
  s.close();
  rtts.sort((x, y) => x - y);
  const pct = (p) => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))] ?? NaN;
  console.log(JSON.stringify({ answered: rtts.length, wrong, p50: pct(0.5), p99: pct(0.99), max: rtts[rtts.length - 1] ?? NaN }));
} else {
  console.error('usage: dns-load.mjs flood SECONDS NAME | probe COUNT NAME IP');
  process.exit(2);
}
