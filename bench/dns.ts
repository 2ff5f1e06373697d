// npm run bench:dns - the embedded DNS server against dnsmasq, in one run,
// inside the test sandbox (scripts/sandbox.sh).
//
// A user-defined network with 100 sandboxes (the names) and a client sandbox.
// nsnet's server answers at 127.0.0.11 in the client (its sockets live there);
// dnsmasq runs inside the client namespace on 127.0.0.54 with the same 100
// names in a hosts file. Both forward other names to an upstream dnsmasq in a
// fake WAN namespace (203.0.113.53; no cache anywhere, so forwarded queries
// are really forwarded). Each server is pinned to core 0, the load generator
// to core 1 (`taskset`), as in shared/design/peer-benchmarks.md.
//
// Per round, in shuffled order, for each server and for local and forwarded
// names: dnsperf saturating for DURATION seconds (queries/s), then a paced
// probe at 2000 queries/s (p50/p99 latency, bench/dns-probe.c). Ratios are taken within a round.
//
// Before each case, the conntrack tables of the namespaces on the way (the host, the client,
// the WAN) are emptied (bench/conntrack-flush.py): a forwarder that picks a new random source
// port per query (both do, RFC 5452) leaves an entry per query for 30-120 s, and the next case's
// flows - the other server's, masqueraded through the same host - would clash with them (dnsmasq
// lost all its outstanding queries in rounds that came right after nsnet's).
//
// Then the server's RSS with RSS_AT (default 1000) sandboxes attached.
//
//   ROUNDS=3 DURATION=5 npm run bench:dns      (needs: sudo bash scripts/setup.sh --bench)
//   RSS_AT=0 ...                               skips the RSS step (it makes 900 more sandboxes)
//   CASES=forwarded ...                        only the cases whose name contains it (local, forwarded)
//   PROBE_ONLY=1 ...                           only the paced probe (no dnsperf: the p99 alone)
//   PRIO=1 PROBE_ONLY=1 ...                    servers and probe at nice -20: on a machine busy with other
//                                              work, the p99 of the programs rather than of the scheduler
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { openContext } from '../src/docker/context.js';
import { networkCreate } from '../src/docker/networks.js';
import { sandboxCreate } from '../src/docker/sandboxes.js';
import { request, serverNodeArgs } from '../src/dns/control.js';
import { makeWan, WAN } from '../test/helpers/wan.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench:dns: run through `npm run bench:dns` (inside scripts/sandbox.sh)');
  process.exit(2);
}
for (const tool of ['dnsperf', 'dnsmasq', 'taskset']) {
  if ((await execa('which', [tool], { reject: false })).exitCode !== 0) {
    console.error(`bench:dns: ${tool} is missing; run: sudo bash scripts/setup.sh --bench`);
    process.exit(2);
  }
}
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 5);
const N = 100;
const RSS_AT = Number(process.env.RSS_AT ?? 1000);
const PROBE_ONLY = process.env.PROBE_ONLY === '1';
const NICE = process.env.PRIO === '1' && PROBE_ONLY ? ['nice', '-n', '-20'] : [];

const root = mkdtempSync(path.join(tmpdir(), 'nsnet-bench-dns-'));
// The paced probe is a small C program (why: bench/dns-probe.c's header), built for this run.
const probeBin = path.join(root, 'dns-probe');
await execa('cc', ['-O2', '-Wall', '-o', probeBin, 'bench/dns-probe.c']);
const resolvConf = path.join(root, 'resolv.conf');
writeFileSync(resolvConf, `nameserver ${WAN.dns}\n`);
process.env.NSNET_RESOLV_CONF = resolvConf;
const ctx = await openContext({ dirs: { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') }, etcNetns: path.join(root, 'etc'), warn: () => {} });
const procs: ResultPromise[] = [];

const bg = (cmd: string[], env: Record<string, string> = {}) => {
  const p = execa(cmd[0]!, cmd.slice(1), { reject: false, env, stdio: ['ignore', process.env.SERVER_LOG ? 'pipe' : 'ignore', 'pipe'] });
  procs.push(p);
  return p;
};

try {
  const wan = await makeWan(ctx.host, 'bdns');
  // The upstream: dnsmasq in the WAN, answering *.example.test itself.
  bg(['ip', 'netns', 'exec', wan.name, 'dnsmasq', '-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
    '--bind-interfaces', `--listen-address=${WAN.dns}`, '--port=53', '--address=/example.test/203.0.113.80', '--cache-size=0', '--pid-file=', '--user=root']);

  await networkCreate(ctx, { name: 'benchnet' });
  const hosts: string[] = [];
  for (let i = 0; i < N; i++) {
    const sb = await sandboxCreate(ctx, { name: `bn${i}`, network: 'benchnet' });
    hosts.push(`${sb.endpoints[0]!.ip} bn${i}`);
  }
  await sandboxCreate(ctx, { name: 'bclient', network: 'benchnet' });
  const hostsFile = path.join(root, 'hosts');
  writeFileSync(hostsFile, `${hosts.join('\n')}\n`);
  const localQ = path.join(root, 'local.txt');
  const fwdQ = path.join(root, 'forward.txt');
  writeFileSync(localQ, hosts.map((h) => `${h.split(' ')[1]} A`).join('\n') + '\n');
  writeFileSync(fwdQ, Array.from({ length: N }, (_, i) => `host${i}.example.test A`).join('\n') + '\n');

  // nsnet's server, pinned to core 0 (the same program as `nsnet dns`).
  await execa('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json']);
  // With the V8 flags it runs with however it is started (control.ts SERVER_NODE_FLAGS).
  // SERVER_FLAGS='--trace-gc' SERVER_LOG=/tmp/x: more node flags for the server, its output to a file.
  const benchStart = performance.now();
  const serverFlags = (process.env.SERVER_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const server = bg([...NICE, 'taskset', '-c', '0', 'node', ...serverNodeArgs(serverFlags), 'bin/nsnet.js', '--root', root, 'dns'], { NSNET_RESOLV_CONF: resolvConf, NSNET_DATA_DIR: '', NSNET_RUN_DIR: '' });
  if (process.env.SERVER_LOG) server.stdout?.pipe(createWriteStream(process.env.SERVER_LOG));
  // dnsmasq, the peer, pinned to core 0 inside the client's namespace.
  bg(['ip', 'netns', 'exec', 'bclient', ...NICE, 'taskset', '-c', '0', 'dnsmasq', '-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
    '--bind-interfaces', '--listen-address=127.0.0.54', '--port=53', `--addn-hosts=${hostsFile}`, `--server=${WAN.dns}`,
    '--cache-size=0', '--dns-forward-max=1024', '--pid-file=', '--user=root']);
  for (let i = 0; i < 100; i++) {
    const ok = await request(ctx.dirs, { op: 'sync' }).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  const inClient = (cmd: string[]) => execa('ip', ['netns', 'exec', 'bclient', ...cmd], { reject: false });
  // Both servers must really answer, in this run, before anything is timed.
  for (const [server, name, want] of [['127.0.0.11', 'bn7', hosts[7]!.split(' ')[0]], ['127.0.0.54', 'bn7', hosts[7]!.split(' ')[0]],
    ['127.0.0.11', 'x.example.test', '203.0.113.80'], ['127.0.0.54', 'x.example.test', '203.0.113.80']] as const) {
    let got = '';
    for (let i = 0; i < 20 && got !== want; i++) {
      got = (await inClient(['dig', '+short', '+time=1', '+tries=1', `@${server}`, name])).stdout.trim();
      if (got !== want) await new Promise((r) => setTimeout(r, 100));
    }
    if (got !== want) throw new Error(`${server} answered ${JSON.stringify(got)} for ${name}, expected ${want}`);
  }

  interface Sample { qps: number; lost: number; p50: number; p99: number }
  const results = new Map<string, Sample[]>();
  const cases = [
    { key: 'nsnet local', server: '127.0.0.11', file: localQ },
    { key: 'dnsmasq local', server: '127.0.0.54', file: localQ },
    { key: 'nsnet forwarded', server: '127.0.0.11', file: fwdQ },
    { key: 'dnsmasq forwarded', server: '127.0.0.54', file: fwdQ },
  ].filter((c) => c.key.includes(process.env.CASES ?? ''));
  const flush = async () => {
    for (const ns of [[], ['ip', 'netns', 'exec', 'bclient'], ['ip', 'netns', 'exec', wan.name]]) {
      const r = await execa(ns[0] ?? 'python3', [...ns.slice(1), ...(ns.length ? ['python3'] : []), 'bench/conntrack-flush.py'], { reject: false });
      if (r.exitCode !== 0) throw new Error(`bench/conntrack-flush.py: ${r.stderr || r.stdout}`);
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [...cases].sort(() => Math.random() - 0.5)) {
      await flush();
      // STRACE=1: the server's system calls during nsnet's dnsperf runs, counted (strace -c; slows it).
      const strace = process.env.STRACE === '1' && c.key.startsWith('nsnet') && !PROBE_ONLY
        ? execa('strace', ['-c', '-f', '-p', readFileSync(path.join(ctx.dirs.runDir, 'dns.pid'), 'utf8').trim()], { reject: false }) : undefined;
      if (strace) await new Promise((r) => setTimeout(r, 300));
      const perf = PROBE_ONLY ? { stdout: '' } : await inClient(['taskset', '-c', '1', 'dnsperf', '-s', c.server, '-d', c.file, '-l', String(DURATION), '-c', '1', '-q', '200']);
      if (strace) {
        strace.kill('SIGINT');
        process.stderr.write(`  strace -c of the server during ${c.key}:\n${(await strace).stderr}\n`);
      }
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(perf.stdout)?.[1] ?? NaN);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(perf.stdout)?.[1] ?? NaN);
      if (process.env.SERVER_LOG) process.stderr.write(`  probe ${c.key} from ${new Date().toISOString()} (${(performance.now() - benchStart).toFixed(0)} ms)\n`);
      const probe = await inClient([...NICE, 'taskset', '-c', '1', probeBin, c.server, '2000', '3', c.file]);
      if (process.env.SERVER_LOG) process.stderr.write(`  probe ${c.key} until ${(performance.now() - benchStart).toFixed(0)} ms\n`);
      const lat = JSON.parse(probe.stdout.trim()) as { p50: number; p99: number };
      const s = { qps, lost, p50: lat.p50, p99: lat.p99 };
      (results.get(c.key) ?? results.set(c.key, []).get(c.key)!).push(s);
      process.stderr.write(`  round ${round + 1}/${ROUNDS} ${c.key.padEnd(18)} ${qps.toFixed(0).padStart(7)} q/s  p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms  lost ${lost}\n`);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const ratio = (a: string, b: string) => results.has(b) ? med(results.get(a)!.map((x, i) => x.qps / results.get(b)![i]!.qps)) : NaN;
  console.log(`\nbench:dns  ${N} names, ${ROUNDS} rounds of ${DURATION} s, servers on core 0, dnsperf on core 1 (medians)\n`);
  console.log('| server | queries/s | p50 ms (2000 q/s paced) | p99 ms | lost | qps ÷ dnsmasq |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const xs = results.get(c.key)!;
    const peer = c.key.startsWith('nsnet') ? c.key.replace('nsnet', 'dnsmasq') : c.key;
    console.log(`| ${c.key} | ${med(xs.map((x) => x.qps)).toFixed(0)} | ${med(xs.map((x) => x.p50)).toFixed(3)} | ${med(xs.map((x) => x.p99)).toFixed(3)} | ${med(xs.map((x) => x.lost))} | ${ratio(c.key, peer).toFixed(2)} |`);
  }
  // How many upstream sockets the forwarder opened for how many queries (forward.ts, upstream-sockets.ts).
  const fs = (await request(ctx.dirs, { op: 'stats' })).forwarder;
  if (fs?.sockets) console.log(`\nforwarder: ${fs.sent} queries sent upstream, ${fs.sockets.opened} sockets opened, ${fs.sockets.shared} queries on a socket already open`);
  // The server's memory with RSS_AT sandboxes attached (default 1000; 0 skips it): the rest are made
  // now, the server syncs once (it reads the state and attaches to all), then its VmRSS is read.
  let rss: number | undefined;
  if (RSS_AT > N + 1) {
    for (let i = N + 1; i < RSS_AT; i++) await sandboxCreate(ctx, { name: `br${i}`, network: 'benchnet' });
    const r = await request(ctx.dirs, { op: 'sync' }, 600_000);
    if (!r.ok || (r.attached ?? 0) < RSS_AT) throw new Error(`the server attached to ${r.attached} sandboxes, expected ${RSS_AT}: ${r.error ?? ''}`);
    // One query answered on the last one's socket: the server is not still busy attaching.
    const last = (await execa('ip', ['netns', 'exec', `br${RSS_AT - 1}`, 'dig', '+short', '+time=2', '+tries=3', '@127.0.0.11', 'bn7'], { reject: false })).stdout.trim();
    if (last !== hosts[7]!.split(' ')[0]) throw new Error(`the ${RSS_AT}th sandbox got ${JSON.stringify(last)} for bn7`);
    const pid = Number(readFileSync(path.join(ctx.dirs.runDir, 'dns.pid'), 'utf8'));
    rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  }
  if (results.has('nsnet local') && results.has('dnsmasq local')) {
    const local = ratio('nsnet local', 'dnsmasq local');
    const p99 = med(results.get('nsnet local')!.map((x) => x.p99));
    console.log(`\ngoal: local names at least as many queries/s as dnsmasq -> ${local.toFixed(2)}x ${local >= 1 ? 'met' : `NOT met (short by ${(1 / local).toFixed(2)}x; see docs/bench/dns.md)`}`);
    console.log(`goal: p99 under 1 ms for local names                   -> ${p99.toFixed(3)} ms ${p99 < 1 ? 'met' : 'NOT met'}`);
  }
  if (results.has('nsnet forwarded') && results.has('dnsmasq forwarded')) {
    const fwd = ratio('nsnet forwarded', 'dnsmasq forwarded');
    console.log(`goal: forwarding at least as many queries/s as dnsmasq -> ${fwd.toFixed(2)}x ${fwd >= 1 ? 'met' : 'NOT met'}`);
  }
  console.log(rss === undefined ? 'server RSS: not measured (RSS_AT=0)'
    : `goal: server RSS at ${RSS_AT} sandboxes under 100 MB    -> ${rss.toFixed(1)} MB ${rss < 100 ? 'met' : 'NOT met'}`);
} finally {
  for (const p of procs) p.kill();
  await Promise.all(procs);
  // /tmp is the machine's, not the sandbox's: nothing of the run is left there (a busy mount is left, and said).
  try {
    rmSync(root, { recursive: true, force: true });
  } catch (e) {
    console.error(`bench:dns: ${root} left: ${(e as Error).message}`);
  }
}
