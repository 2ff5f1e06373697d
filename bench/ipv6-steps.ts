// A micro-benchmark of the kernel calls a dual-stack endpoint adds (issue 15,
// docs/bench/ipv6.md): per sandbox, a namespace and a veth on a bridge with
// IPv6, then each call timed on its own, medians over N. Inside the sandbox:
//   N=200 bash scripts/sandbox.sh tsx bench/ipv6-steps.ts
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { addrAdd } from '../src/kernel/addr.js';
import { linkGet, linkSet } from '../src/kernel/link.js';
import { netnsAdd, netnsDel, netnsSelf } from '../src/kernel/netns.js';
import { routeAdd } from '../src/kernel/route.js';
import { sysctlSet } from '../src/kernel/sysctl.js';
import { vethAdd } from '../src/kernel/veth.js';

if (process.env.NSNET_IN_SANDBOX !== '1') process.exit(2);
const N = Number(process.env.N ?? 200);
const sh = (c: string) => execFileSync('bash', ['-c', c]);
sh('ip link add brx type bridge && ip addr add 10.77.0.1/16 dev brx && sysctl -qw net.ipv6.conf.brx.disable_ipv6=0 && ip addr add 2001:db8:77::1/64 dev brx nodad && ip link set brx up');
const host = await netnsSelf();
const master = await linkGet(host, 'brx');
const t: Record<string, number[]> = {};
const time = async (k: string, f: () => Promise<unknown>) => {
  const s = performance.now();
  await f();
  (t[k] ??= []).push(performance.now() - s);
};
const dflt = { 'net.ipv6.conf.default.disable_ipv6': '1', ...(process.env.DEFAULTS === '1' && { 'net.ipv6.conf.default.accept_ra': '0', 'net.ipv6.conf.default.accept_dad': '0' }) };
for (let i = 0; i < N; i++) {
  const name = `m${i}`;
  const ns = await netnsAdd(name, { sysctls: dflt });
  await linkSet(ns, 1, { up: true });
  const v = await vethAdd(host, { name: `vx${i}`, master, up: true, peer: { name: 'eth0', netns: ns } });
  const peer = { index: v.peerIndex, name: 'eth0' };
  const a4 = `10.77.${(i + 2) >> 8}.${(i + 2) & 255}`;
  await time('addr add v4 + link up', () => Promise.all([addrAdd(ns, peer, `${a4}/16`), linkSet(ns, peer, { up: true })]));
  await time('route add v4', () => routeAdd(ns, { dst: 'default', via: '10.77.0.1' }));
  if (process.env.DEFAULTS !== '1') {
    await time('sysctl eth0 accept_ra=0', () => sysctlSet(ns, 'net/ipv6/conf/eth0/accept_ra', 0));
    await time('sysctl eth0 accept_dad=0', () => sysctlSet(ns, 'net/ipv6/conf/eth0/accept_dad', 0));
  }
  await time('sysctl eth0 disable_ipv6=0', () => sysctlSet(ns, 'net/ipv6/conf/eth0/disable_ipv6', 0));
  await time('linkGet eth0', () => linkGet(ns, 'eth0'));
  await time('addr add v6 nodad', () => addrAdd(ns, peer, `2001:db8:77::${(i + 2).toString(16)}/64`, { nodad: true }));
  await time('route add v6', () => routeAdd(ns, { dst: 'default', via: '2001:db8:77::1' }));
  await ns.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [k, xs] of Object.entries(t)) console.log(`| ${k} | ${med(xs).toFixed(3)} | ${med(xs.slice(0, 50)).toFixed(3)} | ${med(xs.slice(-50)).toFixed(3)} |`);
console.log(sh(`ip netns exec m${N - 1} ip -6 addr show dev eth0`).toString());
for (let i = 0; i < N; i++) await netnsDel(`m${i}`);
sh('ip link del brx');
await host.close();
