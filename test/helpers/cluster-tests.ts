// What the kernel tests on three simulated hosts with etcd share (vitest side;
// cluster.ts itself imports no vitest, so the benches use it too).
import { describe, expect, test } from 'vitest';
import { clusterMissing, type Cluster, type ClusterHost } from './cluster.js';
import { describeKernel } from './kernel.js';

/** A kernel describe that needs etcd: skipped without it, except in CI, where a missing etcd is a failure. */
export function describeCluster(name: string, fn: () => void): void {
  const missing = clusterMissing();
  if (missing === null) describeKernel(name, fn);
  else if (process.env.CI === 'true') describe(name, () => test('etcd is installed', () => expect.fail(missing)));
  else describe.skip(`${name} [skipped: ${missing}]`, fn);
}

/** nsnet on host h of cluster c: its stdout, trimmed; throws with its stderr when it fails. */
export async function nsnetOn(c: Cluster, h: ClusterHost, ...args: string[]): Promise<string> {
  const r = await c.nsnet(h, args);
  if (r.exitCode !== 0) throw new Error(`host ${h.index}: nsnet ${args.join(' ')}: exit ${r.exitCode}: ${String(r.stderr)}`);
  return String(r.stdout).trim();
}

/** `fn`'s value once it stops throwing (the other hosts' watchers act a moment after the store changes). */
export async function settled<T>(fn: () => Promise<T>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
