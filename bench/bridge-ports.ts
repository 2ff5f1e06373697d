// npm run bench:bridge-ports - what one more sandbox costs the kernel as a
// bridge fills up, whoever asks: N namespaces, each with a veth whose peer is
// born inside, timed per step through the addon (no nsnet state, no DNS), in
// four variants run one after the other:
//
//   no bridge        the host end is not enslaved
//   bridge           the host end joins one bridge (nsnet's and Docker's topology)
//   bridge, eth0 up  ... and eth0 is brought up inside, with IPv6 on (the kernel default)
//   bridge, eth0 up, IPv6 off   ... as nsnet makes sandboxes (SANDBOX_SYSCTLS: IPv6 off by default)
//
// It prints, per variant, the median of the first and last 20 of N for the
// namespace (netns add + lo up) and for the veth (+ eth0 up), and their ratio.
// The evidence behind docs/bench/analysis.md's "what grows with N".
//
//   N=1000 npm run bench:bridge-ports
import { performance } from 'node:perf_hooks';
import { bridgeAdd, linkDel, linkGet, linkList, linkSet, netnsAdd, netnsDel, netnsSelf, vethAdd, type Netns } from '../src/index.js';
import { SANDBOX_SYSCTLS } from '../src/docker/sandboxes.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench:bridge-ports: run through `npm run bench:bridge-ports` (inside scripts/sandbox.sh)');
  process.exit(2);
}
const N = Number(process.env.N ?? 1000);
const host = await netnsSelf();

interface Variant { name: string; master: boolean; peerUp: boolean; ipv6Off: boolean }
const variants: Variant[] = [
  { name: 'no bridge', master: false, peerUp: false, ipv6Off: false },
  { name: 'bridge', master: true, peerUp: false, ipv6Off: false },
  { name: 'bridge, eth0 up', master: true, peerUp: true, ipv6Off: false },
  { name: 'bridge, eth0 up, IPv6 off', master: true, peerUp: true, ipv6Off: true },
];

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`| variant (N=${N}) | netns: first 20 | last 20 | ratio | veth: first 20 | last 20 | ratio |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const v of variants) {
  const br = await bridgeAdd(host, { name: 'bports0', up: true });
  const tNs: number[] = [];
  const tVeth: number[] = [];
  const made: Netns[] = [];
  try {
    for (let i = 0; i < N; i++) {
      let s = performance.now();
      const ns = await netnsAdd(`bp${i}`, v.ipv6Off ? { sysctls: SANDBOX_SYSCTLS } : {});
      made.push(ns);
      await linkSet(ns, 1, { up: true });
      tNs.push(performance.now() - s);
      s = performance.now();
      const veth = await vethAdd(host, { name: `vbp${i}`, ...(v.master && { master: br }), up: true, peer: { name: 'eth0', netns: ns } });
      if (v.peerUp) await linkSet(ns, veth.peerIndex, { up: true });
      tVeth.push(performance.now() - s);
    }
  } finally {
    // Deleting the namespaces takes the veths along; then give the kernel a
    // moment to finish tearing them down before the next variant is timed.
    await Promise.all(made.map((ns) => netnsDel(ns))); // closes each handle too
    await linkDel(host, await linkGet(host, 'bports0'));
    for (let i = 0; i < 100 && (await linkList(host)).length > 1; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000)); // the namespaces' own teardown (cleanup_net) runs a while longer
  }
  const row = (xs: number[]) => {
    const [a, b] = [med(xs.slice(0, 20)), med(xs.slice(-20))];
    return `${a.toFixed(3)} | ${b.toFixed(3)} | ${(b / a).toFixed(2)}x`;
  };
  console.log(`| ${v.name} | ${row(tNs)} | ${row(tVeth)} |`);
}
await host.close();
