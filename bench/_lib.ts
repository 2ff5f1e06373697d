import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openContext } from '../src/docker/context.js';
import { networkCreate } from '../src/docker/networks.js';
import { sandboxCreate } from '../src/docker/sandboxes.js';
import { sandboxRemove } from '../src/docker/process.js';
const root = mkdtempSync('/run/nsb-');
const ctx = await openContext({ dirs: { dataDir: path.join(root, 'lib'), runDir: path.join(root, 'run') }, etcNetns: path.join(root, 'etc'), warn: () => {} });
await networkCreate(ctx, { name: 'bn', subnet: '10.200.0.0/16' });
const N = Number(process.env.N ?? 300);
const times: number[] = [];
let steps: Record<string, number> = {};
for (let i = 0; i < N; i++) {
  const s = performance.now();
  await sandboxCreate(ctx, { name: `s${i}`, network: 'bn' });
  times.push(performance.now() - s);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log('first 10 median', med(times.slice(0, 10)).toFixed(2), 'last 10 median', med(times.slice(-10)).toFixed(2));
const t = performance.now();
await sandboxRemove(ctx, Array.from({ length: N }, (_, i) => `s${i}`), { force: true });
console.log('teardown per sb', ((performance.now() - t) / N).toFixed(2));
