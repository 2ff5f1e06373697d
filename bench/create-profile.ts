// npm run bench:create:profile - where one library-path `sandboxCreate` (bridge
// network, embedded DNS on) and one `sandboxRemove` spend their time, N times
// after a warm-up. Timed from the outside: ctx.observe sees each setup step
// start, ctx.dns.sync is wrapped. Steps overlap (the namespace, the bridge
// lookup and the files at once; the DNS server's attach beside the rest), so
// the create table is a timeline: when each step starts, when the DNS server
// is done, when create returns - medians over all N, the first 100 and the
// last 100 (with N=1000: what grows with the number of sandboxes). Then the
// CPU time of this process and of the DNS server per create.
//
//   N=100 npm run bench:create:profile
//   DNS=in-process N=100 npm run bench:create:profile   (the server inside this process: src/dns/in-process.ts)
//   DNS=off N=100 npm run bench:create:profile          (no embedded DNS at all: what the attach adds)
//   DRIVER=macvlan N=100 npm run bench:create:profile   (a macvlan network on a fake parent, as bench/suite.ts's
//                                                        'nsnet lib macvlan': a veth ens4 to a LAN namespace)
//   DRIVER=dual N=100 npm run bench:create:profile      (a bridge with --ipv6, as 'nsnet lib dual-stack')
import { execFileSync } from 'node:child_process';
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
// Per create: the offset (ms from the call) at which each event happened.
const events = new Map<string, number[]>();
let t0 = 0;
let iter = -1;
const at = (k: string) => {
  if (iter < 0) return;
  (events.get(k) ?? events.set(k, []).get(k)!)[iter] = performance.now() - t0;
};
const rmAcc = new Map<string, number[]>();
const ctx = await openContext({
  dirs, etcNetns: path.join(root, 'etc'), warn: () => {},
  // Addresses and names as * (IPv6 ones as *6, so a dual-stack sandbox's two default routes stay apart).
  observe: (step) => at(`step starts: ${step.title.replace(/[0-9a-f]*:[0-9a-f:]*:[0-9a-f]*(\/\d+)?/g, '*6').replace(/[0-9a-f]{7,}|\d+\.\d+\.\d+\.\d+(\/\d+)?|pr\d+|\/run\/\S+/g, '*')}`),
  dns: {
    sync: async (start, ids) => {
      at('DNS server asked (lo is up)');
      await syncDns(dirs, { start, argv, env: process.env, ...(ids && { ids }) });
      at('DNS server done');
    },
    release: async (ids) => {
      const t = performance.now();
      await releaseDns(dirs, ids);
      (rmAcc.get('rm: dns release (beside the rest)') ?? rmAcc.set('rm: dns release (beside the rest)', []).get('rm: dns release (beside the rest)')!).push(performance.now() - t);
    },
  },
});
let local: InProcessDns | undefined;
if (process.env.DNS === 'off') delete ctx.dns; // the sandbox alone, for comparison: names won't resolve
else if (process.env.DNS === 'in-process') {
  local = await inProcessDns(ctx);
  const inner = ctx.dns!;
  ctx.dns = {
    sync: async (start, ids) => {
      at('DNS server asked (lo is up)');
      await inner.sync(start, ids);
      at('DNS server done');
    },
    release: (ids) => inner.release!(ids),
  };
}
const MACVLAN = process.env.DRIVER === 'macvlan';
const ip = (...args: string[]) => execFileSync('ip', args);
if (MACVLAN) {
  ip('netns', 'add', 'prof-lan');
  ip('link', 'add', 'ens4', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'prof-lan');
  ip('link', 'set', 'ens4', 'up');
  ip('-n', 'prof-lan', 'addr', 'add', '10.88.0.1/16', 'dev', 'eth0');
  ip('-n', 'prof-lan', 'link', 'set', 'eth0', 'up');
}
await networkCreate(ctx, MACVLAN
  ? { name: 'bench', driver: 'macvlan', subnet: '10.88.0.0/16', gateway: '10.88.0.1', options: { parent: 'ens4' } }
  : process.env.DRIVER === 'dual'
    ? { name: 'bench', subnet: '10.88.0.0/16', ipv6: true, subnet6: '2001:db8:88::/64', gateway6: '2001:db8:88::1' }
    : { name: 'bench', subnet: '10.88.0.0/16' });
await sandboxCreate(ctx, { name: 'warm', network: 'bench' }); // starts the DNS server
const dnsPid = local || !ctx.dns ? undefined : Number(readFileSync(path.join(root, 'run/dns.pid'), 'utf8'));
/** CPU time (user + system) of the DNS server process so far, in ms. */
const dnsCpu = () => {
  if (!dnsPid) return 0;
  const f = readFileSync(`/proc/${dnsPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * (1000 / 100); // utime, stime in clock ticks (USER_HZ = 100)
};
const cpu0 = process.cpuUsage();
const dns0 = dnsCpu();
const wall0 = performance.now();
for (iter = 0; iter < N; iter++) {
  t0 = performance.now();
  await sandboxCreate(ctx, { name: `pr${iter}`, network: 'bench' });
  at('**create returns**');
}
iter = -1;
const wall = (performance.now() - wall0) / N;
const cpu = process.cpuUsage(cpu0);
const dnsPer = (dnsCpu() - dns0) / N;
const ping: number[] = [];
for (let i = 0; i < (dnsPid ? 50 : 0); i++) {
  const t = performance.now();
  await requestKept(dirs, { op: 'ping' });
  ping.push(performance.now() - t);
}
const down: number[] = [];
for (let i = 0; i < N; i++) {
  const t = performance.now();
  await sandboxRemove(ctx, [`pr${i}`], { force: true });
  down.push(performance.now() - t);
}
const med = (xs: number[]) => {
  const v = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return v.length ? v[v.length >> 1]!.toFixed(3) : '-';
};
const cols = N >= 200 ? ['all', 'first 100', 'last 100'] : ['all'];
const slices = (xs: number[]) => (N >= 200 ? [xs, xs.slice(0, 100), xs.slice(-100)] : [xs]);
console.log(`| create (N=${N}): ms from the call | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:').join('|')}|`);
for (const [k, xs] of [...events].sort((a, b) => Number(med(a[1])) - Number(med(b[1])))) {
  console.log(`| ${k} | ${slices(xs).map(med).join(' | ')} |`);
}
console.log(`\nPer create, over all N: wall ${wall.toFixed(3)} ms; CPU of this process ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms` +
  ` (user ${(cpu.user / 1000 / N).toFixed(3)}, system ${(cpu.system / 1000 / N).toFixed(3)})` +
  (local ? ' (DNS server inside it)' : `; CPU of the DNS server process ${dnsPer.toFixed(2)} ms (10 ms ticks, averaged)`));
console.log(`\n| rm (N=${N}) | median ms |\n|---|---:|`);
console.log(`| control ping round trip (kept connection) | ${med(ping)} |`);
for (const [k, xs] of rmAcc) console.log(`| ${k} | ${med(xs)} |`);
console.log(`| **rm returns** | ${med(down)} |`);
await sandboxRemove(ctx, ['warm'], { force: true });
if (local) await local.stop();
else try { process.kill(dnsPid!, 'SIGTERM'); } catch { /* gone */ }
await networkRemove(ctx, ['bench']);
if (MACVLAN) ip('netns', 'del', 'prof-lan');
await ctx.host.close();
