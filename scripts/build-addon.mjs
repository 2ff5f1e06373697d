// Builds the native addon with node-gyp against the headers of the Node that
// runs this script, so node-gyp never tries to download them (this machine
// and CI are offline). The package's install script: `npm ci` here, and
// `npm install nsnet` for a user, run it.
//
// node-gyp lets npm's config override its command line: npm hands its config
// to scripts as npm_config_* variables, and a `nodedir` in an .npmrc (or
// target/runtime/dist-url) would make it compile against another Node's
// headers than the one running (seen: Node 24 building with Node 20's). So
// the child gets --nodedir of this Node and none of those variables.
//
// It records what it built for in build/nsnet-addon.json: scripts/setup.sh
// rebuilds when the running Node's ABI (process.versions.modules) differs.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nodedir = path.resolve(path.dirname(process.execPath), '..');
const header = path.join(nodedir, 'include', 'node', 'node_api.h');
if (!existsSync(header)) {
  console.error(`nsnet: Node's headers are not at ${header}.\n` +
    'Install them (Debian: the nodejs package ships them; nvm/NodeSource builds include them) and retry.');
  process.exit(1);
}

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = process.env.npm_config_node_gyp; // npm's bundled copy (a user's `npm install nsnet`)
}
if (!gyp) {
  console.error('nsnet: node-gyp not found (install dev dependencies, or run through npm)');
  process.exit(1);
}

/** The environment without the npm/node-gyp settings that would pick other headers. */
function gypEnv(env) {
  const override = /^npm_(config|package_config_node_gyp)_(nodedir|target|runtime|dist_url|disturl)$/i;
  return Object.fromEntries(Object.entries(env).filter(([k]) => !override.test(k)));
}

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
  stdio: 'inherit',
  cwd: root,
  env: gypEnv(process.env),
});
if (r.status !== 0) process.exit(r.status ?? 1);
// nodeBinary: setup.sh's quick check (no Node start) that the same binary runs.
const bin = realpathSync(process.execPath);
const st = statSync(bin);
writeFileSync(path.join(root, 'build', 'nsnet-addon.json'), JSON.stringify({
  node: process.version,
  modules: process.versions.modules,
  napi: process.versions.napi,
  nodedir,
  nodeBinary: `${bin}:${Math.floor(st.mtimeMs / 1000)}:${st.size}`,
}, null, 2) + '\n');
