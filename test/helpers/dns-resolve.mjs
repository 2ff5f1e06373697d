// Runs inside a sandbox (`ip netns exec SB node dns-resolve.mjs PREFIX COUNT CONCURRENCY`):
// resolves PREFIX0.example.test ... PREFIX<COUNT-1>.example.test (type A) at 127.0.0.11,
// CONCURRENCY at a time, each from a socket of its own with a random id, as a libc stub does.
// Prints one JSON line: {answers: {address: count}, failures: [name, ...]}.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { query } from './dns-query.mjs';

const [prefix, count, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];


/** The A addresses of a reply, whatever question it carries (a forged one may carry another). */
function addresses(m) {
  const out = [];
  const skipName = (p) => {
    while (p < m.length && m[p] !== 0 && (m[p] & 0xc0) !== 0xc0) p += 1 + m[p];
    return p + (m[p] === 0 ? 1 : 2);
  };
  try {
    let p = 12;
    for (let i = 0; i < m.readUInt16BE(4); i++) p = skipName(p) + 4;
    for (let i = 0; i < m.readUInt16BE(6); i++) {
      p = skipName(p);
      const [type, rdlen] = [m.readUInt16BE(p), m.readUInt16BE(p + 8)];
      if (type === 1 && rdlen === 4) out.push([...m.subarray(p + 10, p + 14)].join('.'));
      p += 10 + rdlen;
    }
  } catch {
    out.push('garbled');
  }
  return out;
}

function resolve(name) {
  return new Promise((done) => {
    const s = dgram.createSocket('udp4');
    const id = randomInt(0x10000);
    const q = query(name, id);
    const t = setTimeout(() => { s.close(); done(null); }, 5000);
    s.on('message', (m) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      s.close();
      done(addresses(m));
    });
    s.send(q, 53, '127.0.0.11');
  });
}

const answers = {};
const failures = [];
let next = 0;
async function worker() {
  while (next < count) {
    const name = `${prefix}${next++}.example.test`;
    const got = await resolve(name);
    if (!got || !got.length) failures.push(name);
    else for (const a of got) answers[a] = (answers[a] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify({ answers, failures }));
