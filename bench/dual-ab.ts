// npm run bench:dual:ab - the CPU an IPv4 sandbox and a dual-stack sandbox
// cost, interleaved in one process (A/B/A/B), so the load of other work on
// the machine falls on both alike (docs/bench/ipv6.md). Per create and per
// rm: the CPU time of this process (all its threads: the addon's workers,
// libnftables) and the wall time, medians over N of each kind. The embedded
// DNS server is off (its CPU is another process's, and the same per name but
// for the AAAA records).
//
//   N=100 npm run bench:dual:ab
//   ONLY=dual PROFILE=/tmp/dual.cpuprofile N=200 npm run bench:dual:ab   (one kind; a CPU profile of the creates)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openContext } from '../src/docker/context.js';
import { networkCreate, networkRemove } from '../src/docker/networks.js';
import { sandboxRemove } from '../src/docker/process.js';
import { sandboxCreate } from '../src/docker/sandboxes.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('run inside scripts/sandbox.sh');
  process.exit(2);
}
const N = Number(process.env.N ?? 100);
const root = mkdtempSync('/run/nsnet-ab-');
writeFileSync(path.join(root, 'resolv.conf'), 'nameserver 203.0.113.53\n');
process.env.NSNET_RESOLV_CONF = path.join(root, 'resolv.conf');
const dirs = { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
const ctx = await openContext({ dirs, etcNetns: path.join(root, 'etc'), warn: () => {} });
delete ctx.dns;
await networkCreate(ctx, { name: 'v4', subnet: '10.88.0.0/16' });
await networkCreate(ctx, { name: 'dual', subnet: '10.89.0.0/16', ipv6: true, subnet6: '2001:db8:89::/64', gateway6: '2001:db8:89::1' });
// ONLY=v4 or ONLY=dual: one kind alone (for a CPU profile of each, node --cpu-prof).
const kinds = (process.env.ONLY ? [process.env.ONLY] : ['v4', 'dual']) as ('v4' | 'dual')[];
const acc: Record<string, number[]> = {};
const put = (k: string, v: number) => (acc[k] ??= []).push(v);
async function measure(k: string, f: () => Promise<unknown>) {
  const c = process.cpuUsage();
  const t = performance.now();
  await f();
  const w = performance.now() - t;
  const d = process.cpuUsage(c);
  put(`${k} cpu`, (d.user + d.system) / 1000);
  put(`${k} user`, d.user / 1000);
  put(`${k} sys`, d.system / 1000);
  put(`${k} wall`, w);
}
for (const k of kinds) await sandboxCreate(ctx, { name: `warm-${k}`, network: k });
// PROFILE=file.cpuprofile: a CPU profile of this thread over the creates only (node:inspector).
const session = process.env.PROFILE ? new Session() : undefined;
const post = (m: string, p?: object) => new Promise<any>((resolve, reject) => session!.post(m, p, (e, r) => (e ? reject(e) : resolve(r))));
if (session) {
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
}
for (let i = 0; i < N; i++) {
  for (const k of i % 2 ? kinds : [...kinds].reverse()) await measure(`create ${k}`, () => sandboxCreate(ctx, { name: `${k}${i}`, network: k }));
}
if (session) writeFileSync(process.env.PROFILE!, JSON.stringify((await post('Profiler.stop')).profile));
for (let i = 0; i < N; i++) {
  for (const k of i % 2 ? kinds : [...kinds].reverse()) await measure(`rm ${k}`, () => sandboxRemove(ctx, [`${k}${i}`], { force: true }));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`| N=${N}, ms | IPv4 | dual stack | ratio |\n|---|---:|---:|---:|`);
for (const op of ['create', 'rm']) {
  for (const m of ['cpu', 'user', 'sys', 'wall']) {
    const a = acc[`${op} v4 ${m}`] ?? [NaN];
    const b = acc[`${op} dual ${m}`] ?? [NaN];
    console.log(`| ${op} ${m} (median; mean) | ${med(a).toFixed(3)}; ${mean(a).toFixed(3)} | ${med(b).toFixed(3)}; ${mean(b).toFixed(3)} | ${(med(b) / med(a)).toFixed(2)}x; ${(mean(b) / mean(a)).toFixed(2)}x |`);
  }
}
// Growth with N: the first 100 creates of each kind against the last 100.
if (N >= 200) {
  for (const k of kinds) {
    for (const m of ['cpu', 'wall']) {
      const xs = acc[`create ${k} ${m}`]!;
      console.log(`create ${k} ${m}, mean of the first 100 / last 100: ${mean(xs.slice(0, 100)).toFixed(3)} / ${mean(xs.slice(-100)).toFixed(3)}`);
    }
  }
}
for (const k of kinds) await sandboxRemove(ctx, [`warm-${k}`], { force: true });
await networkRemove(ctx, ['v4', 'dual']);
await ctx.host.close();
