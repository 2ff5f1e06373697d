// The layer check (.dependency-cruiser.cjs) on the tree, and on small trees that each break
// one rule, so a rule that stopped matching anything would fail here rather than pass quietly.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as IConfiguration;

/** The violations as "rule: from -> to", for the tree under `baseDir`/src. */
async function violations(baseDir: string): Promise<string[]> {
  const { output } = await cruise(['src'], {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  });
  const result = output as ICruiseResult;
  return (result.summary.violations ?? []).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('layers', () => {
  test('the tree keeps them', async () => {
    const result = await violations(root);
    expect(result).toEqual([]);
  });

  // A tree with one module per layer, each importing the one below it (all allowed), plus the
  // import under test. Exactly that one import must be reported, by the rule named.
  const LEGAL: Record<string, string[]> = {
    'net/ip.ts': [],
    'etc/hosts.ts': ['../net/ip.js'],
    'dns/message.ts': ['../net/ip.js'],
    'native.ts': [],
    'kernel/link.ts': ['../native.js', '../net/ip.js'],
    'state/store.ts': ['../kernel/link.js'],
    'docker/sandboxes.ts': ['../state/store.js', '../etc/hosts.js'],
    'dns/server.ts': ['../docker/sandboxes.js', './message.js'],
    'compose/compose.ts': ['../docker/sandboxes.js', '../dns/message.js'],
    'graph/topology.ts': ['../docker/sandboxes.js'],
    'cli/main.ts': ['../compose/compose.js', '../dns/server.js', '../graph/topology.js', '../tour/tour.js'],
    'tour/tour.ts': ['../dns/server.js'],
    'index.ts': ['./docker/sandboxes.js', './dns/server.js', './compose/compose.js'],
  };
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function tree(extra: { from: string; to: string }): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nsnet-layers-'));
    dirs.push(dir);
    const files = new Map(Object.entries(LEGAL).map(([f, deps]) => [f, [...deps]]));
    if (!files.has(extra.to)) files.set(extra.to, []);
    const rel = path.relative(path.dirname(path.join('src', extra.from)), path.join('src', extra.to)).replace(/\.ts$/, '.js');
    files.set(extra.from, [...(files.get(extra.from) ?? []), rel.startsWith('.') ? rel : `./${rel}`]);
    for (const [file, deps] of files) {
      const full = path.join(dir, 'src', file);
      mkdirSync(path.dirname(full), { recursive: true });
      const imports = deps.map((d, i) => `import * as m${i} from '${d}';\nvoid m${i};\n`).join('');
      writeFileSync(full, `${imports}export const name = ${JSON.stringify(file)};\n`);
    }
    return dir;
  }

  test('the legal tree passes (so each case below reports only its own import)', async () => {
    const dir = tree({ from: 'cli/main.ts', to: 'kernel/link.ts' });
    expect(await violations(dir)).toEqual([]);
  });

  test.each([
    ['kernel/link.ts', 'docker/sandboxes.ts', 'kernel-imports-below'],
    ['net/ip.ts', 'native.ts', 'pure-imports-below'],
    ['etc/hosts.ts', 'docker/sandboxes.ts', 'pure-imports-below'],
    ['dns/message.ts', 'state/store.ts', 'pure-imports-below'],
    ['native.ts', 'kernel/link.ts', 'native-imports-below'],
    ['state/store.ts', 'docker/sandboxes.ts', 'state-imports-below'],
    ['docker/sandboxes.ts', 'dns/server.ts', 'docker-imports-below'],
    ['compose/compose.ts', 'dns/server.ts', 'service-siblings'],
    ['dns/server.ts', 'graph/topology.ts', 'service-siblings'],
    ['graph/topology.ts', 'cli/main.ts', 'service-imports-below'],
    ['index.ts', 'cli/main.ts', 'entry-imports-below'],
    ['tour/tour.ts', 'index.ts', 'entry-not-imported'],
    ['stray/x.ts', 'net/ip.ts', 'unlayered'],
  ])('%s importing %s: %s', async (from, to, rule) => {
    const dir = tree({ from, to });
    expect(await violations(dir)).toEqual([`${rule}: src/${from} -> src/${to}`]);
  });
});
