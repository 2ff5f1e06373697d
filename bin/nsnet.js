#!/usr/bin/env node
// nsnet's command-line entry point. CommonJS (bin/package.json), and kept
// small: every `nsnet` call is a fresh Node process, so start-up counts.
//
// It runs the CLI bundled into one file, dist/cli/nsnet-core.cjs or
// dist/cli/nsnet.cjs, with V8's code cache for it (FILE.cache): made by
// scripts/code-cache.mjs at build time (npm ci, npm run build) and, as the
// package ships none, by its install script for the installing Node. Node 20 has
// no module compile cache of its own; this is the same thing done by hand. A
// cache made by another Node/V8 is rejected by V8 and the file is simply
// compiled. With no bundle at all, the ES modules of dist/ are used.
const fs = require('node:fs');
const path = require('node:path');

// Two bundles: the core one (every command but those below) is ~40% smaller
// to read and deserialize; a command word of the full one anywhere on the
// command line picks the full one (a sandbox *named* dns only costs a few ms).
const FULL_ONLY = ['compose', 'graph', 'tour', 'dns'];
const full = process.argv.slice(2).some((a) => FULL_ONLY.includes(a));
const dir = path.join(__dirname, '../dist/cli');
const file = path.join(dir, !full && fs.existsSync(path.join(dir, 'nsnet-core.cjs')) ? 'nsnet-core.cjs' : 'nsnet.cjs');

function load() {
  let source;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // not bundled: dist/cli/main.js
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    return require(file);
  }
  const vm = require('node:vm');
  const Module = require('node:module');
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, file, path.dirname(file));
  m.loaded = true;
  return m.exports;
}

const bundle = load();
if (bundle) bundle.cli();
else import('../dist/cli/main.js').then((m) => m.cli());
