// What a CNI chain costs inside the real runtimes, and alone: `podman run -d`
// and `podman rm -f`, `ctr run --cni` to a running task and its removal (DEL
// included), and the chain's ADD and DEL through libcni (test/cni-driver: the
// libcni call timed inside the driver, no process start of the driver itself).
// Runs on a fake node in the test sandbox (test/helpers/runtimes.ts).
//
//   bash scripts/sandbox.sh node_modules/.bin/tsx bench/cni-runtimes.ts      (RUNS=10 by default)
import { tag } from '../test/helpers/kernel.js';
import { buildCniDriver, busyboxImage, cniDriver, CniNode, Containerd, Podman, referenceChain, type Chain } from '../test/helpers/runtimes.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench: run inside scripts/sandbox.sh');
  process.exit(2);
}
const RUNS = Number(process.env.RUNS ?? 10);
// TODO(issue 14): the nsnet chain beside it.
const chains: Chain[] = [referenceChain];

const rows: [string, string, number[]][] = [];
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function bench(chain: Chain): Promise<void> {
  const image = await busyboxImage();
  await buildCniDriver();
  const t = tag();
  const node = await CniNode.make(t, chain.pluginDirs[0]!);
  try {
    const list = chain.conflist({ name: `net${t}`, bridge: 'cbr0', subnet: '10.244.1.0/24' });
    const conflist = node.writeConflist(list);
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await node.exec(['ip', 'netns', 'add', `b${i}`]);
      const a = await cniDriver(node, chain, 'add', { conflist, id: `b${i}`, netns: `/run/netns/b${i}` });
      if (a.code !== 0) throw new Error(`ADD: ${a.stderr}`);
      add.push(a.ms);
      const d = await cniDriver(node, chain, 'del', { conflist, id: `b${i}`, netns: `/run/netns/b${i}` });
      if (d.code !== 0) throw new Error(`DEL: ${d.stderr}`);
      del.push(d.ms);
      await node.exec(['ip', 'netns', 'del', `b${i}`]);
    }
    rows.push([chain.name, 'libcni ADD (chain alone)', add], [chain.name, 'libcni DEL (chain alone)', del]);

    const pm = await Podman.start(node, chain, image);
    const run: number[] = [];
    const rm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      run.push((await pm.run(`c${i}`, ['--network', String(list.name)], ['sleep', '600'])).ms);
      rm.push((await pm.rm(`c${i}`)).ms);
    }
    rows.push([chain.name, 'podman run -d', run], [chain.name, 'podman rm -f -t 0', rm]);
    await pm.stop();

    const ctd = await Containerd.start(node, image);
    const crun: number[] = [];
    const crm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      crun.push((await ctd.run(`k${i}`, ['sleep', '600'], { cni: true })).ms);
      crm.push((await ctd.rm(`k${i}`)).ms);
    }
    rows.push([chain.name, 'ctr run --cni (to running)', crun], [chain.name, 'ctr task kill + ctr run --rm exit', crm]);
    await ctd.stop();
  } finally {
    await node.stop();
  }
}

for (const c of chains) await bench(c);
console.log(`| chain | step | median ms | min | max | runs |\n|---|---|---|---|---|---|`);
for (const [c, step, xs] of rows) {
  console.log(`| ${c} | ${step} | ${med(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} | ${xs.length} |`);
}
