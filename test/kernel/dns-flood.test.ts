// Fairness under a flood: one sandbox saturates its resolver (a tight sender
// loop, thousands of queries in flight) while another sandbox's queries still
// get answers at once. The server reads its sockets in turns, a few
// datagrams from each per turn (native/udp_serve.cc), so the flood's socket
// can't hold the others back by more than one turn.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { request } from '../../src/dns/control.js';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { makeWan, type Wan } from '../helpers/wan.js';

const LOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/dns-load.mjs');

let h: TestHost;
let wan: Wan;
beforeEach(async () => {
  h = await TestHost.make(tag());
  wan = await makeWan(h.ns, h.tag);
});
afterEach(async () => {
  await h.cleanup();
  await wan.remove().catch(() => {});
  expect(h.procs()).toEqual([]);
});

describeKernel('embedded DNS under a flood (kernel)', () => {
  test('one sandbox floods its resolver; another sandbox\'s 200 queries are all answered, p99 under 5 ms (more than without the flood)', async () => {
    const net = `n-${h.tag}`;
    const [flooder, quiet] = [h.sb('flood'), h.sb('quiet')];
    await h.ok(['network', 'create', net]);
    await h.ok(['create', '--name', flooder, '--network', net]);
    await h.ok(['create', '--name', quiet, '--network', net]);
    const probe = async () => {
      const r = await h.nsnet(['exec', quiet, 'node', LOAD, 'probe', '200', flooder, '172.18.0.2'], { timeout: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim()) as { answered: number; wrong: number; p50: number; p99: number; max: number };
    };
    const server = h.dnsPid();
    // The same probe without the flood, before and after: this machine's own latency (shared
    // with other work, its p99 can be tens of ms on its own); the flood may add at most 5 ms to it.
    const idle = [await probe()];
    const flood = h.nsnet(['exec', flooder, 'node', LOAD, 'flood', '12', quiet], { timeout: 40_000 });
    await new Promise((r) => setTimeout(r, 3000)); // well under way
    // Three probes under the flood, the best p99 counted: one scheduling hiccup of a shared machine is not
    // starvation (a starved resolver fails all three).
    const tries = [await probe(), await probe(), await probe()];
    const busy = tries.reduce((a, b) => (b.p99 < a.p99 ? b : a));
    const f = await flood;
    idle.push(await probe());
    expect(h.dnsPid()).toBe(server); // the same server all along
    expect(f.code, f.stderr).toBe(0);
    const fl = JSON.parse(f.stdout.trim()) as { sent: number; answered: number };
    // The flood was real: many answered, and the server had a full batch waiting (256 queries) at times.
    expect(fl.answered).toBeGreaterThan(20_000);
    const stats = await request({ dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') }, { op: 'stats' });
    expect(stats.datagrams?.largest).toBe(256);
    for (const p of [...idle, ...tries]) expect(p).toMatchObject({ answered: 200, wrong: 0 });
    const baseline = Math.max(...idle.map((p) => p.p99));
    expect(busy.p99, JSON.stringify({ tries, idle })).toBeLessThan(5 + baseline);
  }, 120_000);
});
