// What `npm pack` puts in the package (package.json's `files`), without
// building it: the listing of a stand-in tree, and of this tree's dist/ (built
// by the tests' global setup). scripts/check-package.sh (in .ci/run) packs,
// installs and uses the real thing.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  files: string[];
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
  bin: Record<string, string>;
  main: string;
  types: string;
};

/** The paths `npm pack` would put in a tarball of `dir` (no lifecycle scripts run). */
async function packList(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir });
  const [p] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return p.files.map((f) => f.path).sort();
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nsnet-pack-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('package files', () => {
  test('a tree with every kind of file: only what an install and a user need is packed', async () => {
    const files = [
      'bin/nsnet.js', 'bin/package.json', 'binding.gyp', 'native/addon.cc', 'native/verbs.h',
      'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/cli/main.js', 'dist/cli/nsnet.cjs',
      'dist/cli/nsnet.cjs.cache', 'dist/cli/nsnet.cjs.map', 'dist/cli/nsnet-core.cjs.cache',
      'scripts/build-addon.mjs', 'scripts/code-cache.mjs', 'scripts/sandbox.sh', 'scripts/setup.sh',
      'scripts/check-package.sh', 'scripts/bundle-cli.mjs', 'src/index.ts', 'test/unit/a.test.ts',
      'test/fixtures/compose/x.yml', 'bench/core.ts', 'docs/bench/results.json', 'docs/README.md',
      'build/Release/nsnet.node', 'node_modules/yaml/index.js', 'tsconfig.json', 'vitest.config.ts', 'README.md',
    ];
    for (const f of files) {
      mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
      writeFileSync(path.join(tmp, f), 'x');
    }
    writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ ...pkg, scripts: {} }));
    expect(await packList(tmp)).toEqual([
      'README.md', 'bin/nsnet.js', 'bin/package.json', 'binding.gyp',
      'dist/cli/main.js', 'dist/cli/nsnet.cjs', 'dist/index.d.ts', 'dist/index.js',
      'native/addon.cc', 'native/verbs.h', 'package.json',
      'scripts/build-addon.mjs', 'scripts/code-cache.mjs', 'scripts/sandbox.sh',
    ]);
  });

  test('this tree: entry points, every addon source, and only dependencies imported by shipped code', async () => {
    const list = await packList(root);
    expect(list).toContain(pkg.main.replace(/^\.\//, ''));
    expect(list).toContain(pkg.types.replace(/^\.\//, ''));
    for (const bin of Object.values(pkg.bin)) expect(list).toContain(bin.replace(/^\.\//, ''));
    expect(list.filter((f) => /^(test|bench|src|docs)\/|\.(cache|map)$/.test(f))).toEqual([]);

    // node-gyp needs every source binding.gyp names, and the install script its scripts.
    const gyp = JSON.parse(readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
    const sources = gyp.targets.flatMap((t) => t.sources);
    expect(sources.length).toBeGreaterThan(0);
    const scripts = [...pkg.scripts.install!.matchAll(/node (\S+)/g)].map((m) => m[1]!);
    expect(scripts).toContain('scripts/build-addon.mjs');
    expect(sources.concat(scripts).filter((f) => !list.includes(f))).toEqual([]);

    // A bare import in shipped code must be a dependency (devDependencies are not installed).
    const bare = new Set<string>();
    for (const f of list.filter((f) => /\.(c|m)?js$/.test(f))) {
      // (comment lines dropped: they show imports of 'nsnet' as examples)
      const text = readFileSync(path.join(root, f), 'utf8').replace(/^\s*(\/\/|\/?\*).*$/gm, '');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...bare]).toContain('yaml'); // the scan finds imports at all (src/compose reads YAML)
    expect([...bare].filter((d) => !(d in pkg.dependencies))).toEqual([]);
    expect(list.some((f) => f.startsWith('dist/') && f.endsWith('.js'))).toBe(true);
  });
});
