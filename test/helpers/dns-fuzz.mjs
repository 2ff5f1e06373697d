// Runs inside a sandbox (`nsnet exec SB node dns-fuzz.mjs SECONDS NAME IP`):
// throws random and mutated DNS packets at 127.0.0.11:53 over UDP and TCP for
// a bounded time, and between bursts checks that a real query for NAME still
// gets IP. Prints one JSON line: {sent, checks, failures}.
import dgram from 'node:dgram';
import net from 'node:net';
import { query } from './dns-query.mjs';

const [seconds, name, ip] = [Number(process.argv[2] ?? 3), process.argv[3], process.argv[4]];
let seed = 0x9e3779b9;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => (rand() * 256) | 0));

const valid = query(name, 0x4242);
function mutate() {
  const b = Buffer.from(valid);
  const n = 1 + ((rand() * 4) | 0);
  for (let i = 0; i < n; i++) b[(rand() * b.length) | 0] = (rand() * 256) | 0;
  const cut = rand() < 0.3 ? (rand() * b.length) | 0 : b.length;
  return b.subarray(0, cut);
}
const packet = () => (rand() < 0.5 ? bytes((rand() * 600) | 0) : mutate());

const udp = dgram.createSocket('udp4');
udp.on('message', () => {});
await new Promise((r) => udp.bind(0, '127.0.0.1', r));

function check() {
  return new Promise((resolve) => {
    const c = dgram.createSocket('udp4');
    const id = (rand() * 0xffff) | 0;
    const t = setTimeout(() => { c.close(); resolve(false); }, 2000);
    c.on('message', (m) => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      c.close();
      // The last 4 bytes of a one-answer A reply are the address.
      resolve(m.readUInt16BE(6) >= 1 && [...m.subarray(m.length - 4)].join('.') === ip);
    });
    c.send(query(name, id), 53, '127.0.0.11');
  });
}

function tcpBurst() {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.11', port: 53 });
    s.on('error', () => resolve());
    s.on('connect', () => {
      for (let i = 0; i < 20; i++) {
        const p = packet();
        const len = Buffer.alloc(2);
        // Sometimes lie about the length.
        len.writeUInt16BE(rand() < 0.2 ? (rand() * 0xffff) | 0 : p.length);
        s.write(Buffer.concat([len, p]));
      }
      setTimeout(() => { s.destroy(); resolve(); }, 20);
    });
  });
}

const end = Date.now() + seconds * 1000;
let sent = 0, checks = 0, failures = 0;
while (Date.now() < end) {
  for (let i = 0; i < 200; i++) {
    udp.send(packet(), 53, '127.0.0.11');
    sent++;
  }
  await tcpBurst();
  sent += 20;
  checks++;
  if (!(await check())) failures++;
}
udp.close();
console.log(JSON.stringify({ sent, checks, failures }));
