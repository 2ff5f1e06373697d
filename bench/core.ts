// npm run bench:core - what one sandbox's basic network costs, three ways, in
// one run (inside scripts/sandbox.sh: the machine's network is never touched).
//
// Per namespace, every method does the same six steps:
//   netns add; lo up; veth with its peer born in the namespace, host end on a
//   bridge and up; address on eth0; eth0 up; default route via the bridge.
//
//   nsnet      the addon through nsnet's TS API, one Node process
//   execa ip   Node spawning one `ip` per step with execa (what a Node runtime
//              without an addon does)
//   bash ip    bash running one `ip` per step (what most scripts and tutorials do)
//   ip -batch  one host `ip -batch` (netns add + veth for all) and one
//              `ip -n NS -batch` per namespace: -n cannot appear on batch
//              lines, so N+1 processes is the fewest iproute2 can do it in
//
// Methods run interleaved, in a shuffled order per repetition; ratios are taken
// within a repetition, then the median over repetitions is reported.
//
//   N=200 REPS=5 npm run bench:core
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import {
  addrAdd, bridgeAdd, linkDel, linkGet, linkSet, netnsAdd, netnsDel, netnsList, netnsSelf, routeAdd, vethAdd,
  type Netns,
} from '../src/index.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench:core: run through `npm run bench:core` (inside scripts/sandbox.sh)');
  process.exit(2);
}

const N = Number(process.env.N ?? 100);
const REPS = Number(process.env.REPS ?? 3);
const BR = 'bcore0';

const ipOf = (i: number) => `10.88.${(i + 2) >> 8}.${(i + 2) & 255}`;
const nsName = (i: number) => `bc${i}`;
const vethName = (i: number) => `vh${i}`;

interface Run { perNs: number[]; setupMs: number; teardownMs: number }

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const p90 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!; };

const host = await netnsSelf();

async function withBridge<T>(fn: () => Promise<T>): Promise<T> {
  const br = await bridgeAdd(host, { name: BR, up: true });
  await addrAdd(host, br, '10.88.0.1/16');
  try {
    return await fn();
  } finally {
    await linkDel(host, br);
  }
}

async function bash(script: string): Promise<string> {
  return (await execa('bash', ['-e'], { input: script, maxBuffer: 64 << 20 })).stdout;
}

/** Every method must really have worked: N ports on the bridge and a ping across it. */
async function verify(method: string): Promise<void> {
  const ports = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'master', BR])).stdout) as unknown[];
  if (ports.length !== N) throw new Error(`${method}: ${ports.length} bridge ports, expected ${N}`);
  const to = ipOf(N - 1);
  const r = await execa('ip', ['netns', 'exec', nsName(0), 'ping', '-c1', '-W1', to], { reject: false });
  if (r.exitCode !== 0) throw new Error(`${method}: ${nsName(0)} cannot ping ${to}`);
}

async function waitClean(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const veths = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout) as unknown[];
    if (veths.length === 0 && (await netnsList()).length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
}

async function viaNsnet(): Promise<Run> {
  return withBridge(async () => {
    const br = await linkGet(host, BR);
    const handles: Netns[] = [];
    const perNs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      const ns = await netnsAdd(nsName(i));
      handles.push(ns);
      // Independent requests go out together: lo (on the sandbox's socket)
      // while the veth is made (on the host's); then address and link state.
      const [, v] = await Promise.all([
        linkSet(ns, 1, { up: true }), // lo is always ifindex 1 in a new namespace
        vethAdd(host, { name: vethName(i), master: br, up: true, peer: { name: 'eth0', netns: ns } }),
      ]);
      const eth0 = { index: v.peerIndex, name: 'eth0' };
      await Promise.all([addrAdd(ns, eth0, `${ipOf(i)}/16`), linkSet(ns, eth0, { up: true })]);
      await routeAdd(ns, { dst: 'default', via: '10.88.0.1' }); // needs the address and the link up
      perNs.push(performance.now() - s);
    }
    const setupMs = performance.now() - t0;
    await verify('nsnet');
    const t1 = performance.now();
    await Promise.all(handles.map((ns) => netnsDel(ns)));
    const teardownMs = performance.now() - t1;
    await waitClean();
    return { perNs, setupMs, teardownMs };
  });
}

/** Parses "start end" pairs ($EPOCHREALTIME, seconds) printed by a bash loop. */
function spans(out: string): number[] {
  return out.trim().split('\n').filter((l) => /^\d/.test(l)).map((l) => {
    const [a, b] = l.split(' ').map(Number);
    return (b! - a!) * 1000;
  });
}

async function viaIpPerStep(): Promise<Run> {
  return withBridge(async () => {
    const lines = ['T0=$EPOCHREALTIME'];
    for (let i = 0; i < N; i++) {
      const ns = nsName(i);
      lines.push(
        's=$EPOCHREALTIME',
        `ip netns add ${ns}`,
        `ip -n ${ns} link set lo up`,
        `ip link add ${vethName(i)} master ${BR} up type veth peer name eth0 netns ${ns}`,
        `ip -n ${ns} addr add ${ipOf(i)}/16 dev eth0`,
        `ip -n ${ns} link set eth0 up`,
        `ip -n ${ns} route add default via 10.88.0.1`,
        'echo "$s $EPOCHREALTIME"',
      );
    }
    lines.push('echo "total $T0 $EPOCHREALTIME"');
    const out = await bash(lines.join('\n'));
    const total = out.split('\n').find((l) => l.startsWith('total'))!.split(' ').slice(1).map(Number);
    await verify('bash ip');
    const down = ['T0=$EPOCHREALTIME', ...Array.from({ length: N }, (_, i) => `ip netns del ${nsName(i)}`), 'echo "$T0 $EPOCHREALTIME"'];
    const teardownMs = spans(await bash(down.join('\n')))[0]!;
    await waitClean();
    return { perNs: spans(out), setupMs: (total[1]! - total[0]!) * 1000, teardownMs };
  });
}

// What a Node runtime author without an addon writes: one `ip` child process
// per step, awaited in turn (execa, as the design card's process library).
async function viaExeca(): Promise<Run> {
  return withBridge(async () => {
    const perNs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      const ns = nsName(i);
      await execa('ip', ['netns', 'add', ns]);
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await execa('ip', ['link', 'add', vethName(i), 'master', BR, 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await execa('ip', ['-n', ns, 'addr', 'add', `${ipOf(i)}/16`, 'dev', 'eth0']);
      await execa('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await execa('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.88.0.1']);
      perNs.push(performance.now() - s);
    }
    const setupMs = performance.now() - t0;
    await verify('execa ip');
    const t1 = performance.now();
    for (let i = 0; i < N; i++) await execa('ip', ['netns', 'del', nsName(i)]);
    const teardownMs = performance.now() - t1;
    await waitClean();
    return { perNs, setupMs, teardownMs };
  });
}

async function viaIpBatch(): Promise<Run> {
  return withBridge(async () => {
    const hostBatch = [
      ...Array.from({ length: N }, (_, i) => `netns add ${nsName(i)}`),
      ...Array.from({ length: N }, (_, i) => `link add ${vethName(i)} master ${BR} up type veth peer name eth0 netns ${nsName(i)}`),
    ].join('\n');
    const lines = ['T0=$EPOCHREALTIME', `ip -batch - <<'EOF'\n${hostBatch}\nEOF`, 'H=$EPOCHREALTIME'];
    for (let i = 0; i < N; i++) {
      lines.push('s=$EPOCHREALTIME',
        `ip -n ${nsName(i)} -batch - <<'EOF'\nlink set lo up\naddr add ${ipOf(i)}/16 dev eth0\nlink set eth0 up\nroute add default via 10.88.0.1\nEOF`,
        'echo "$s $EPOCHREALTIME"');
    }
    lines.push('echo "total $T0 $H $EPOCHREALTIME"');
    const out = await bash(lines.join('\n'));
    const [t0, h, end] = out.split('\n').find((l) => l.startsWith('total'))!.split(' ').slice(1).map(Number) as [number, number, number];
    const hostShare = ((h - t0) * 1000) / N;
    await verify('ip -batch');
    const down = `T0=$EPOCHREALTIME\nip -batch - <<'EOF'\n${Array.from({ length: N }, (_, i) => `netns del ${nsName(i)}`).join('\n')}\nEOF\necho "$T0 $EPOCHREALTIME"`;
    const teardownMs = spans(await bash(down))[0]!;
    await waitClean();
    // Each namespace's cost: its own batch process plus its share of the host batch.
    return { perNs: spans(out).map((ms) => ms + hostShare), setupMs: (end - t0) * 1000, teardownMs };
  });
}

const methods: Record<string, () => Promise<Run>> = {
  nsnet: viaNsnet, 'execa ip': viaExeca, 'bash ip': viaIpPerStep, 'ip -batch': viaIpBatch,
};
const results: Record<string, Run[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));

console.log(`bench:core  N=${N} namespaces per method, ${REPS} repetitions, interleaved (kernel ${(await execa('uname', ['-r'])).stdout})`);
await waitClean();
for (let r = 0; r < REPS; r++) {
  const order = Object.keys(methods).sort(() => Math.random() - 0.5);
  for (const m of order) {
    const run = await methods[m]!();
    results[m]!.push(run);
    process.stderr.write(`  rep ${r + 1}/${REPS} ${m.padEnd(9)} ${(run.setupMs / N).toFixed(2)} ms/ns setup, ${(run.teardownMs / N).toFixed(3)} ms/ns teardown\n`);
  }
}
await host.close();

// Per repetition: setup per namespace = total / N; ratios within a repetition.
const perRep = (m: string) => results[m]!.map((x) => x.setupMs / N);
const ratio = (a: string, b: string) => median(results[a]!.map((x, i) => x.setupMs / results[b]![i]!.setupMs));
const rows = Object.keys(methods).map((m) => {
  const all = results[m]!.flatMap((x) => x.perNs);
  return {
    method: m,
    setup: median(perRep(m)),
    p50: median(all),
    p90: p90(all),
    teardown: median(results[m]!.map((x) => x.teardownMs / N)),
    vsNsnet: ratio(m, 'nsnet'),
  };
});
const pad = (s: string, n: number) => s.padEnd(n);
console.log('\n| method    | setup ms/ns (total/N) | per-ns p50 | per-ns p90 | teardown ms/ns | ÷ nsnet |');
console.log('|-----------|----------------------:|-----------:|-----------:|---------------:|--------:|');
for (const r of rows) {
  console.log(`| ${pad(r.method, 9)} | ${r.setup.toFixed(2).padStart(21)} | ${r.p50.toFixed(2).padStart(10)} | ${r.p90.toFixed(2).padStart(10)} | ${r.teardown.toFixed(3).padStart(14)} | ${r.vsNsnet.toFixed(2).padStart(6)}x |`);
}
const viaNode = ratio('execa ip', 'nsnet');
const viaBash = ratio('bash ip', 'nsnet');
const batch = ratio('nsnet', 'ip -batch');
const verdict = (ok: boolean, miss: string) => (ok ? 'met' : `NOT met (${miss})`);
console.log(`\ngoal: spawning ip per step ÷ nsnet >= 10x`);
console.log(`        from Node (execa):  ${viaNode.toFixed(1)}x  ${verdict(viaNode >= 10, `short by ${(10 / viaNode).toFixed(2)}x`)}`);
console.log(`        from bash:          ${viaBash.toFixed(1)}x  ${verdict(viaBash >= 10, `short by ${(10 / viaBash).toFixed(2)}x; see docs/bench/core.md`)}`);
console.log(`goal: nsnet ÷ ip -batch <= 1.5x  ${batch.toFixed(2)}x  ${verdict(batch <= 1.5, `over by ${(batch / 1.5).toFixed(2)}x`)}`);
if (process.env.BENCH_JSON) console.log(JSON.stringify({ N, REPS, results }, null, 0));
