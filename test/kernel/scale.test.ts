// Must-show 2: 200 namespaces with veth pairs, created and deleted through the
// addon; nothing left behind, and no thread of this process ever left its
// own network namespace.
import { readlinkSync } from 'node:fs';
import { afterAll, expect, test } from 'vitest';
import { linkGet, linkSet, netnsAdd, netnsDel, vethAdd, type Netns } from '../../src/index.js';
import { describeKernel, eventually, ipJson, netnsNames, tag, threadNamespaces } from '../helpers/kernel.js';

const N = 200;
const t = tag();
let host: Netns | undefined;
const sandboxes: Netns[] = [];

afterAll(async () => {
  for (const ns of sandboxes) await netnsDel(ns).catch(() => {});
  if (host) await netnsDel(host).catch(() => {});
});

function expectAllThreadsHome(): void {
  const home = readlinkSync('/proc/self/ns/net');
  const threads = threadNamespaces();
  expect(threads.length).toBeGreaterThan(1);
  expect(threads.filter((th) => th.ns !== home)).toEqual([]);
}

async function oneSandbox(i: number): Promise<void> {
  const ns = await netnsAdd(`s${i}-${t}`);
  sandboxes.push(ns);
  await vethAdd(host!, { name: `v${t}${i}`, up: true, peer: { name: 'eth0', netns: ns } });
  await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
}

describeKernel('200 namespaces with veth pairs (kernel)', () => {
  test(`creates and deletes ${N} namespaces + veths, leaving nothing; every thread stays home`, async () => {
    host = await netnsAdd(`h-${t}`);
    expectAllThreadsHome();

    // Half one after another, half at once (many verbs in flight on the pool,
    // sharing the host's rtnetlink socket).
    for (let i = 0; i < N / 2; i++) await oneSandbox(i);
    expectAllThreadsHome();
    await Promise.all(Array.from({ length: N / 2 }, (_, k) => oneSandbox(N / 2 + k)));
    expectAllThreadsHome();

    expect(netnsNames().filter((n) => n.endsWith(`-${t}`))).toHaveLength(N + 1);
    const veths = (await ipJson(['-d', 'link', 'show', 'type', 'veth'], host.name)) as any[];
    expect(veths).toHaveLength(N);
    // Each peer was born in its own namespace, named eth0, and lo is up there.
    const sample = await ipJson(['-d', 'link', 'show'], `s${N - 1}-${t}`);
    expect(sample.map((l: any) => l.ifname).sort()).toEqual(['eth0', 'lo']);

    // Teardown by deleting namespaces: the host-side veths go with them.
    await Promise.all(sandboxes.splice(0).map((ns) => netnsDel(ns)));
    expect(netnsNames().filter((n) => n.startsWith('s') && n.endsWith(`-${t}`))).toEqual([]);
    await eventually(async () => ((await ipJson(['link', 'show', 'type', 'veth'], host!.name)) as any[]).length === 0,
      10_000, 'host-side veths gone');
    await netnsDel(host);
    host = undefined;
    expect(netnsNames().filter((n) => n.endsWith(`-${t}`))).toEqual([]);
    expectAllThreadsHome();
  });
});
