// V8's code cache for the CLI bundles (dist/cli/nsnet.cjs, nsnet-core.cjs:
// scripts/bundle-cli.mjs) and the CNI plugin's (dist/cni/nsnet-cni.cjs), with every function compiled (not only the top
// level), so a CLI call compiles almost nothing. bin/nsnet.js loads it.
//
// A cache only fits the V8 (Node version and flags) that made it, so it is
// never shipped in the package: bundle-cli.mjs makes it at build time and the
// package's install script makes it again with the Node that installs nsnet.
// Made in a child process: V8 checks its version, flags and the source when
// loading it and rejects a mismatch, which only costs the compile. Bundles
// that are not there (a build without bundle-cli) are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// And the CNI plugin's bundle (dist/cni/nsnet-cni.cjs), which the executable
// `nsnet cni install` writes loads the same way at every ADD/DEL (src/cni/install.ts).
for (const name of ['cli/nsnet.cjs', 'cli/nsnet-core.cjs', 'cni/nsnet-cni.cjs']) {
  const file = fileURLToPath(new URL(`../dist/${name}`, import.meta.url));
  if (!existsSync(file)) continue;
  execFileSync(process.execPath, ['-e', `
    const fs = require('node:fs'), v8 = require('node:v8'), vm = require('node:vm'), Module = require('node:module');
    const file = ${JSON.stringify(file)};
    v8.setFlagsFromString('--no-lazy');
    const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file });
    v8.setFlagsFromString('--lazy'); // the flags the cache records must be the ones it is loaded with
    fs.writeFileSync(file + '.cache.tmp', script.createCachedData());
    fs.renameSync(file + '.cache.tmp', file + '.cache');
    // Check it as bin/nsnet.js will use it.
    const again = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(file + '.cache') });
    if (again.cachedDataRejected) { fs.rmSync(file + '.cache'); console.warn('code-cache: V8 rejected its own code cache for ${name}; the CLI will compile it at start'); }
  `], { stdio: 'inherit' });
}
