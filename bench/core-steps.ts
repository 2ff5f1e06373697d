// npm run bench:core:steps - where one namespace's setup time goes: each of
// nsnet's steps timed on its own (sequentially, no overlap), N times, plus the
// cost of one bare trip through the addon. This is the profile behind
// docs/bench/core.md.
import { performance } from 'node:perf_hooks';
import {
  addrAdd, bridgeAdd, linkDel, linkGet, linkSet, netnsAdd, netnsDel, netnsSelf, routeAdd, vethAdd, type Netns,
} from '../src/index.js';
import { native } from '../src/native.js';

if (process.env.NSNET_IN_SANDBOX !== '1') {
  console.error('bench:core:steps: run through `npm run bench:core:steps` (inside scripts/sandbox.sh)');
  process.exit(2);
}
const N = Number(process.env.N ?? 200);
const host = await netnsSelf();
const br = await bridgeAdd(host, { name: 'bsteps0', up: true });
await addrAdd(host, br, '10.88.0.1/16');
const acc = new Map<string, number[]>();
async function time<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const s = performance.now();
  const r = await fn();
  (acc.get(step) ?? acc.set(step, []).get(step)!).push(performance.now() - s);
  return r;
}
const made: Netns[] = [];
for (let i = 0; i < N; i++) {
  const ns = await time('netns add (+ rtnetlink socket)', () => netnsAdd(`st${i}`));
  made.push(ns);
  await time('lo up', () => linkSet(ns, 1, { up: true }));
  const v = await time('veth add, peer in netns, master, up', () =>
    vethAdd(host, { name: `vs${i}`, master: br, up: true, peer: { name: 'eth0', netns: ns } }));
  await time('addr add', () => addrAdd(ns, v.peerIndex, `10.88.${(i + 2) >> 8}.${(i + 2) & 255}/16`));
  await time('eth0 up', () => linkSet(ns, v.peerIndex, { up: true }));
  await time('route add default', () => routeAdd(ns, { dst: 'default', via: '10.88.0.1' }));
}
const fd = await host.rtnl();
for (let i = 0; i < N; i++) await time('one addon trip: RTM_GETLINK lo', () => native().linkGet(fd, { index: 1 }));
for (let i = 0; i < N; i++) await time('one fresh-thread trip: sysctl read', () => native().sysctlRead(host.fd, 'net.ipv4.ip_forward'));
await time(`netns del x${N} (all at once)`, () => Promise.all(made.map((ns) => netnsDel(ns))));
await linkDel(host, await linkGet(host, 'bsteps0'));
await host.close();

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`| step (N=${N}) | median ms | mean ms |\n|---|---:|---:|`);
for (const [step, xs] of acc) {
  console.log(`| ${step} | ${med(xs).toFixed(3)} | ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)} |`);
}
