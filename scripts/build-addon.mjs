// Builds the native addon with node-gyp against the headers of the Node that
// runs this script, so node-gyp never tries to download them (this machine
// and CI are offline). `npm ci` runs it as the package's install script.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
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
  gyp = process.env.npm_config_node_gyp; // npm's bundled copy
}
if (!gyp) {
  console.error('nsnet: node-gyp not found (install dev dependencies, or run through npm)');
  process.exit(1);
}

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
  stdio: 'inherit',
  cwd: path.resolve(path.dirname(new URL(import.meta.url).pathname), '..'),
});
process.exit(r.status ?? 1);
