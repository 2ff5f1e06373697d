// Paced latency probe, run inside the client sandbox:
//   node dns-probe.mjs SERVER RATE SECONDS NAMES_FILE
// Sends A queries at RATE per second (names from the file, in turn) and
// prints {sent, answered, p50, p90, p99} in milliseconds.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [server, rate, seconds, file] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const names = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]);
function query(name, id) {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, ...parts, Buffer.from([0, 0, 1, 0, 1])]);
}
const sock = dgram.createSocket('udp4');
const sentAt = new Map();
const rtts = [];
sock.on('message', (m) => {
  const t = sentAt.get(m.readUInt16BE(0));
  if (t !== undefined) {
    rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
    sentAt.delete(m.readUInt16BE(0));
  }
});
await new Promise((r) => sock.bind(0, r));
const total = rate * seconds;
const start = process.hrtime.bigint();
for (let i = 0; i < total; i++) {
  const due = start + BigInt(Math.round((i * 1e9) / rate));
  while (process.hrtime.bigint() < due) {
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 0.5));
    else await new Promise((r) => setImmediate(r));
  }
  const id = i & 0xffff;
  sentAt.set(id, process.hrtime.bigint());
  sock.send(query(names[i % names.length], id), 53, server);
}
await new Promise((r) => setTimeout(r, 500));
sock.close();
rtts.sort((a, b) => a - b);
const pct = (p) => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))] ?? NaN;
console.log(JSON.stringify({ sent: total, answered: rtts.length, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) }));
