// Bundles the CLI into CommonJS files that bin/nsnet.js loads: dist/cli/nsnet.cjs
// (every command) and dist/cli/nsnet-core.cjs (all but compose, graph, tour
// and the DNS server); and the CNI plugin into dist/cni/nsnet-cni.cjs.
// Run by `npm run build` and `prepare` (npm ci), after tsc.
//
// Why: every `nsnet` call is a fresh Node process, and Node 20's ESM loader
// resolves, reads and links each of the CLI's ~50 modules on every start
// (~25 ms here); one CommonJS file is read and compiled once. Dynamic
// imports stay lazy inside the bundle: `nsnet --version` still runs none of
// the Docker layer. The addon (build/Release/nsnet.node) is not bundled.
//
// esbuild is a pinned devDependency; its binary comes from npm as the
// @esbuild/<platform> package (an optional dependency), nothing is downloaded.
import { build } from 'esbuild';

// The commands whose code only the full bundle carries: each is a dynamic
// import (of a handler, src/cli/dispatch.ts, or of what a handler draws with).
// bin/nsnet.js loads the full bundle when one of these words is on the
// command line, the core bundle otherwise.
const FULL_ONLY = [
  { importer: 'src/cli/dispatch.ts', path: './compose.js', command: 'compose' },
  { importer: 'src/cli/dispatch.ts', path: './tour.js', command: 'tour' },
  { importer: 'src/cli/dispatch.ts', path: './dns.js', command: 'dns' },
  { importer: 'src/cli/system.ts', path: '../graph/topology.js', command: 'graph' },
];

// In the core bundle, those imports resolve to a module that says where the code is.
const stubFullOnly = {
  name: 'stub-full-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/[a-z/]+\.js$/ }, (args) => {
      const hit = FULL_ONLY.find((f) => args.path === f.path && args.importer.endsWith(f.importer));
      return hit ? { path: hit.command, namespace: 'full-only' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'full-only' }, (args) => ({
      contents: `throw new Error('nsnet: "${args.path}" is in dist/cli/nsnet.cjs, not the core bundle: run nsnet through bin/nsnet.js');`,
      loader: 'js',
    }));
  },
};

const common = {
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import() of node: builtins as require() too (the bundle may be run from a vm.Script).
  supported: { 'dynamic-import': false },
  // The sources find files relative to their own URL; the bundle sits in
  // dist/cli/ like dist/cli/main.js, so the same relative paths hold.
  define: { 'import.meta.url': '__nsnet_url' },
  banner: { js: 'const __nsnet_url = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: true,
  legalComments: 'none',
  // Half the bundle would be the YAML parser, which only `nsnet compose` needs:
  // it stays in node_modules and is required when compose runs (measured:
  // loading the bundle and its code cache costs ~8 ms with it, ~4 ms without).
  external: ['yaml'],
  logLevel: 'warning',
};
// Every command.
await build({ ...common, outfile: 'dist/cli/nsnet.cjs' });
// All but compose, graph, tour and the DNS server (~40% of the code): what
// `nsnet create`, `run`, `rm`, `network ...` load - a smaller file and code
// cache to read and deserialize at every call (measured in docs/bench/analysis.md).
await build({ ...common, outfile: 'dist/cli/nsnet-core.cjs', plugins: [stubFullOnly] });
// The CNI plugin (src/cli/cni-plugin.ts): what `nsnet cni install`'s executable
// loads at every ADD/DEL/CHECK a runtime runs; the Docker layer it needs is
// loaded lazily (VERSION runs none of it).
await build({ ...common, entryPoints: ['src/cli/cni-plugin.ts'], outfile: 'dist/cni/nsnet-cni.cjs' });

// V8's code cache for each bundle, for the Node that builds (never shipped:
// the package's install script makes it for the Node that installs).
await import('./code-cache.mjs');
