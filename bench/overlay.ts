// npm run bench:overlay (and the overlay part of `npm run bench`): the time to
// add a sandbox to an overlay network, on three simulated hosts with a
// three-member etcd cluster (test/helpers/cluster.ts), inside the test sandbox.
//
// Issue 17, Must show 5. The overlay network `ov` is filled to 10, then 100
// endpoints spread over the three hosts; at each level, on host 1, the bench
// times `nsnet create --network ov NAME` (the CLI, a fresh process, as users
// run it) from its start until
//   (a) the command returned, and
//   (b) hosts 2 and 3 both hold the new endpoint's FDB entry (MAC -> host 1)
//       and neighbour entry (IP -> MAC) on their vxlan device: polled here
//       with netlink dumps in their namespaces every ~1 ms,
// and, interleaved (order shuffled per sample), the same host's
// `nsnet create --network lb NAME` on a local bridge network. Each sample's
// sandbox is removed again (and, for the overlay, its entries seen gone on
// hosts 2 and 3) before the next, so the network holds exactly 10 or 100.
//
// Prints the rows (bench/overlay-report.ts) on stdout, progress on stderr.
// SAMPLES (default 20) per level, LEVELS (default "10,100"), TRACE=1 adds one
// traced create of each kind per level on stderr (NSNET_TRACE=1 and
// bench/overlay-trace-hook.mjs), OVERLAY_JSON=1 every sample as JSON. Removes
// everything it made (hosts, their namespaces and tmpfs, etcd members and
// their data). Method and results: docs/bench/overlay.md.
//
//   npm run bench:overlay
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { fdbList } from '../src/kernel/fdb.js';
import { linkGet } from '../src/kernel/link.js';
import { neighList } from '../src/kernel/neigh.js';
import { Cluster, clusterMissing, type ClusterHost } from '../test/helpers/cluster.js';
import { overlayRows, summarize, type OverlayLevel } from './overlay-report.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench:overlay: run through `npm run bench:overlay` (inside scripts/sandbox.sh)');
  process.exit(2);
}
const missing = clusterMissing();
if (missing) {
  console.log(`overlay: not measured: ${missing}`);
  process.exit(0);
}
const SAMPLES = Number(process.env.SAMPLES ?? 20);
const LEVELS = (process.env.LEVELS ?? '10,100').split(',').map(Number).sort((a, b) => a - b);
const TRACE = process.env.TRACE === '1';
delete process.env.NODE_EXTRA_CA_CERTS; // set on this machine only; costs every Node start ~50 ms
if (process.env.BUILT !== '1') await execa('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json']);

// TRACE=1: NSNET_TRACE's step titles, plus marks for node's start, each request to etcd and the exit.
const TRACE_ENV = { NSNET_TRACE: '1', NODE_OPTIONS: `--import=${path.resolve('bench/overlay-trace-hook.mjs')}` };
const log = (s: string) => process.stderr.write(`  overlay: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let c: Cluster | undefined;
const stop = async () => {
  await c?.stop();
  c = undefined;
};
process.on('SIGINT', () => void stop().finally(() => process.exit(130)));
process.on('SIGTERM', () => void stop().finally(() => process.exit(143)));

/**
 * nsnet on host h; throws with its stderr when it fails. With `t0`, each line of its stderr comes back
 * prefixed with the ms from t0 at which it arrived (NSNET_TRACE=1 prints a step's title as it starts,
 * and a pipe's writes are synchronous in Node on Linux): a timeline of the steps seen from outside.
 */
async function nsnet(h: ClusterHost, args: string[], env?: Record<string, string>, t0?: number): Promise<{ stdout: string; stderr: string }> {
  const p = c!.nsnet(h, args, { timeout: 120_000, ...(env && { env }) });
  const timed: string[] = [];
  if (t0 !== undefined) {
    let rest = '';
    p.stderr!.on('data', (d: Buffer) => {
      const at = (performance.now() - t0).toFixed(1).padStart(7);
      const lines = (rest + String(d)).split('\n');
      rest = lines.pop()!;
      for (const l of lines) if (l.startsWith('# ')) timed.push(`${at} ms  ${l}`);
    });
  }
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`host ${h.index}: nsnet ${args.join(' ')}: exit ${r.exitCode}: ${String(r.stderr)}`);
  return { stdout: String(r.stdout), stderr: t0 !== undefined ? timed.join('\n') : String(r.stderr) };
}

/** The vxlan device's remote entries on host h: FDB MACs (with their dst) and permanent neighbour IPs (with their MAC). */
async function entries(h: ClusterHost, dev: number): Promise<{ fdb: Map<string, string>; neigh: Map<string, string> }> {
  const [fdb, neigh] = await Promise.all([fdbList(h.node.ns, dev), neighList(h.node.ns, dev)]);
  return {
    fdb: new Map(fdb.filter((e) => e.self && e.dst && e.mac !== '00:00:00:00:00:00').map((e) => [e.mac, e.dst])),
    neigh: new Map(neigh.filter((e) => e.state.includes('PERMANENT')).map((e) => [e.ip, e.mac])),
  };
}

try {
  const tag = `ob${process.pid % 1000}`;
  log(`three hosts and etcd (tag ${tag})`);
  c = await Cluster.make(tag);
  await c.startEtcd();
  const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
  await nsnet(h1, ['network', 'create', '-d', 'overlay', '--subnet', '10.60.0.0/24', 'ov']);
  await nsnet(h1, ['network', 'create', '--subnet', '10.89.0.0/16', 'lb']);
  const inspect = JSON.parse((await nsnet(h1, ['network', 'inspect', 'ov'])).stdout)[0];
  const vni = Number(inspect.Options['com.docker.network.driver.overlay.vxlanid_list']);

  // The fill: a third on each host (host 1 at least one, so its vxlan device exists before the first sample).
  let filled = 0;
  const fill = async (to: number) => {
    const per: string[][] = [[], [], []];
    for (let i = filled; i < to; i++) per[i % 3]!.push(`f${i}`);
    await Promise.all(c!.hosts.map(async (h, k) => {
      for (const n of per[k]!) await nsnet(h, ['create', '--name', n, '--network', 'ov']);
    }));
    filled = to;
  };
  const others = [h2, h3];
  let devs: number[] = [];

  const levels: OverlayLevel[] = [];
  for (const level of LEVELS) {
    log(`filling ov to ${level} endpoints`);
    await fill(level);
    devs = await Promise.all(others.map(async (h) => (await linkGet(h.node.ns, `vxlan${vni}`)).index));
    // Until hosts 2 and 3 hold every endpoint not their own: the fill's last entries may still be on the way.
    for (const t = performance.now(); ; await sleep(20)) {
      const e = await Promise.all(others.map((h, k) => entries(h, devs[k]!)));
      const own = (k: number) => Array.from({ length: level }, (_, i) => i).filter((i) => i % 3 === k).length;
      if (e.every((x, k) => x.neigh.size === level - own(k + 1) && x.fdb.size === x.neigh.size)) break;
      if (performance.now() - t > 60_000) throw new Error(`hosts 2 and 3 hold ${e.map((x) => x.neigh.size).join(' and ')} entries, 60 s after filling to ${level}`);
    }
    const l: OverlayLevel = { endpoints: level, overlay: [], seen: [], bridge: [] };

    const overlaySample = async (name: string, env?: Record<string, string>) => {
      const before = await Promise.all(others.map((h, k) => entries(h, devs[k]!)));
      const t0 = performance.now();
      let returned = NaN;
      let failed: unknown;
      const run = nsnet(h1, ['create', '--name', name, '--network', 'ov'], env, env ? t0 : undefined).then((r) => { returned = performance.now() - t0; return r; });
      run.catch((e) => { failed = e; });
      let seen = NaN;
      let fresh: { ip: string; mac: string } | undefined;
      // Poll hosts 2 and 3 until each has a new FDB entry to host 1 and a new neighbour entry with that MAC.
      while (Number.isNaN(seen)) {
        if (failed) throw failed;
        const now = await Promise.all(others.map((h, k) => entries(h, devs[k]!)));
        const got = now.map((e, k) => {
          const ip = [...e.neigh.keys()].find((x) => !before[k]!.neigh.has(x));
          const mac = ip && e.neigh.get(ip);
          return ip && mac && e.fdb.get(mac) === h1.address ? { ip, mac } : undefined;
        });
        if (got.every(Boolean)) {
          seen = performance.now() - t0;
          fresh = got[0];
          if (got[1]!.ip !== fresh!.ip || got[1]!.mac !== fresh!.mac) throw new Error(`hosts 2 and 3 disagree: ${JSON.stringify(got)}`);
        } else await sleep(1);
        if (performance.now() - t0 > 60_000) throw new Error(`${name}: its entries not seen on hosts 2 and 3 after 60 s`);
      }
      const out = await run;
      // The entries seen are the sandbox's own: its address as host 1's state has it.
      const ip = (await nsnet(h1, ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
      if (ip !== fresh!.ip) throw new Error(`${name}: has ${ip}, hosts 2 and 3 got ${fresh!.ip}`);
      await nsnet(h1, ['rm', '-f', name]);
      // Gone again on hosts 2 and 3 before the next sample.
      for (let t = performance.now(); ; await sleep(5)) {
        const now = await Promise.all(others.map((h, k) => entries(h, devs[k]!)));
        if (now.every((e) => !e.neigh.has(fresh!.ip) && !e.fdb.has(fresh!.mac))) break;
        if (performance.now() - t > 60_000) throw new Error(`${name}: its entries still on hosts 2 and 3 60 s after rm`);
      }
      return { returned, seen, stderr: out.stderr };
    };
    const bridgeSample = async (name: string, env?: Record<string, string>) => {
      const t0 = performance.now();
      const out = await nsnet(h1, ['create', '--name', name, '--network', 'lb'], env, env ? t0 : undefined);
      const t = performance.now() - t0;
      await nsnet(h1, ['rm', '-f', name]);
      if (env) log(`traced bridge create at N=${level} (returned ${t.toFixed(1)} ms), each step's title as it arrived:\n${out.stderr}`);
      return t;
    };

    // One of each first, not counted: the first bridge sandbox makes the bridge, starts nothing new but warms caches.
    await bridgeSample('warm-b');
    await overlaySample('warm-o');
    for (let s = 0; s < SAMPLES; s++) {
      const order = Math.random() < 0.5 ? ['o', 'b'] : ['b', 'o'];
      for (const m of order) {
        if (m === 'o') {
          const r = await overlaySample(`so${s}`);
          l.overlay.push(r.returned);
          l.seen.push(r.seen);
        } else l.bridge.push(await bridgeSample(`sb${s}`));
      }
      log(`N=${level} sample ${s + 1}/${SAMPLES}: overlay ${l.overlay.at(-1)!.toFixed(1)} ms (seen ${l.seen.at(-1)!.toFixed(1)} ms), bridge ${l.bridge.at(-1)!.toFixed(1)} ms`);
    }
    if (TRACE) {
      const r = await overlaySample('traced', TRACE_ENV);
      log(`traced overlay create at N=${level} (returned ${r.returned.toFixed(1)} ms, seen ${r.seen.toFixed(1)} ms), each step's title as it arrived:\n${r.stderr}`);
      await bridgeSample('traced-b', TRACE_ENV);
    }
    levels.push(l);
  }

  const load = (await execa('cat', ['/proc/loadavg'])).stdout.split(' ').slice(0, 3).join(' ');
  const summaries = levels.map(summarize);
  console.log(['', ...overlayRows(summaries, SAMPLES), `- load average at the end: ${load}`, ''].join('\n'));
  if (process.env.OVERLAY_JSON) console.log(JSON.stringify({ levels }));
} finally {
  log('removing the hosts and etcd');
  await stop();
}
