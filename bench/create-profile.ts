// npm run bench:create:profile - where one library-path `sandboxCreate` (bridge
// network, embedded DNS on) and one `sandboxRemove` spend their time, phase by
// phase, N times after a warm-up. Phases are timed from the outside: ctx.observe
// sees each setup step start, ctx.dns.sync is wrapped.
//
//   N=100 npm run bench:create:profile
//   DNS=in-process N=100 npm run bench:create:profile   (the server inside this process: src/dns/in-process.ts)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openContext } from '../src/docker/context.js';
import { networkCreate, networkRemove } from '../src/docker/networks.js';
import { sandboxRemove } from '../src/docker/process.js';
import { sandboxCreate } from '../src/docker/sandboxes.js';
import { releaseDns, requestKept, syncDns } from '../src/dns/control.js';
import { inProcessDns, type InProcessDns } from '../src/dns/in-process.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('run inside scripts/sandbox.sh');
  process.exit(2);
}
delete process.env.NODE_EXTRA_CA_CERTS;
const N = Number(process.env.N ?? 100);
const root = mkdtempSync('/run/nsnet-prof-');
writeFileSync(path.join(root, 'resolv.conf'), 'nameserver 203.0.113.53\n');
process.env.NSNET_RESOLV_CONF = path.join(root, 'resolv.conf');
const dirs = { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') };
// PROF_DIR=/tmp/prof: the DNS server writes a CPU profile there when it stops.
const prof = process.env.PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF_DIR}`, '--cpu-prof-interval=100'] : [];
const argv = [...prof, path.join(process.cwd(), 'bin/nsnet.js'), '--root', root, 'dns'];
const acc = new Map<string, number[]>();
const add = (k: string, v: number) => (acc.get(k) ?? acc.set(k, []).get(k)!).push(v);
let mark = 0;
let last = '';
let phase = 'create';
const lap = (next: string) => {
  const t = performance.now();
  if (last) add(last, t - mark);
  mark = t;
  last = next;
};
const ctx = await openContext({
  dirs, etcNetns: path.join(root, 'etc'), warn: () => {},
  observe: (step) => lap(step.title.replace(/[0-9a-f]{7,}|\d+\.\d+\.\d+\.\d+(\/\d+)?|pr\d+/g, '*')),
  // The DNS sync runs alongside the steps (create) or after them (rm): timed on its own.
  dns: {
    sync: async (start, ids) => {
      const t = performance.now();
      await syncDns(dirs, { start, argv, env: process.env, ...(ids && { ids }) });
      add(`${phase}: dns sync (its own duration)`, performance.now() - t);
    },
    release: async (ids) => {
      const t = performance.now();
      await releaseDns(dirs, ids);
      add(`${phase}: dns release (its own duration, in parallel)`, performance.now() - t);
    },
  },
});
let local: InProcessDns | undefined;
if (process.env.DNS === 'in-process') {
  local = await inProcessDns(ctx);
  const inner = ctx.dns!;
  ctx.dns = {
    sync: async (start, ids) => {
      const t = performance.now();
      await inner.sync(start, ids);
      add(`${phase}: dns sync (its own duration)`, performance.now() - t);
    },
    release: async (ids) => {
      const t = performance.now();
      await inner.release!(ids);
      add(`${phase}: dns release (its own duration, in parallel)`, performance.now() - t);
    },
  };
}
await networkCreate(ctx, { name: 'bench', subnet: '10.88.0.0/16' });
await sandboxCreate(ctx, { name: 'warm', network: 'bench' }); // starts the DNS server
acc.clear();
const total: number[] = [];
for (let i = 0; i < N; i++) {
  last = '';
  const t = performance.now();
  mark = t;
  last = 'phase 1 (lock, plan, reserve)';
  await sandboxCreate(ctx, { name: `pr${i}`, network: 'bench' });
  lap('');
  total.push(performance.now() - t);
}
const ping: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await requestKept(dirs, { op: 'ping' });
  ping.push(performance.now() - t);
}
const down: number[] = [];
phase = 'rm';
const createAcc = new Map(acc);
acc.clear();
for (let i = 0; i < N; i++) {
  const t = performance.now();
  mark = t;
  last = 'rm (all of it)';
  await sandboxRemove(ctx, [`pr${i}`], { force: true });
  lap('');
  down.push(performance.now() - t);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`| create step (N=${N}) | median ms |\n|---|---:|`);
console.log('| (the last step\'s time includes waiting for the DNS server and phase 3: lock, status "created") | |');
for (const [k, xs] of createAcc) console.log(`| ${k} | ${med(xs).toFixed(3)} |`);
console.log(`| **total create** | ${med(total).toFixed(3)} |`);
console.log(`| control ping round trip | ${med(ping).toFixed(3)} |`);
for (const [k, xs] of acc) console.log(`| ${k} | ${med(xs).toFixed(3)} |`);
console.log(`| **total rm** | ${med(down).toFixed(3)} |`);
await sandboxRemove(ctx, ['warm'], { force: true });
if (local) await local.stop();
else try { process.kill(Number(readFileSync(path.join(root, 'run/dns.pid'), 'utf8')), 'SIGTERM'); } catch { /* gone */ }
await networkRemove(ctx, ['bench']);
await ctx.host.close();
