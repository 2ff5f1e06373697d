// `nsnet cni install` and `nsnet cni config` through the built CLI (bin/nsnet.js,
// dist/ from the global setup), and the installed executable run as runtimes
// run it: with an empty environment. Only what needs no backend: VERSION and
// the protocol's errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { CNI_VERSIONS } from '../../src/cni/types.js';
import { CniExecError, CniRuntime } from '../helpers/cni-exec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nsnet = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/nsnet.js'), ...args], { encoding: 'utf8' });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nsnet-cni-install-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('install writes an executable into each --bin-dir that answers VERSION under env -i', () => {
  const a = path.join(dir, 'opt-cni-bin');
  const b = path.join(dir, 'usr-lib-cni');
  const r = nsnet('cni', 'install', '--bin-dir', a, '--bin-dir', b);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(`wrote ${a}/nsnet\nwrote ${b}/nsnet\n`);
  for (const d of [a, b]) {
    const file = path.join(d, 'nsnet');
    expect(statSync(file).mode & 0o777).toBe(0o755);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(`#!${realpathSync(process.execPath)}`);
    expect(readdirSync(d)).toEqual(['nsnet']); // no temporary file left
    // `env -i CNI_COMMAND=VERSION DIR/nsnet </dev/null`
    const v = spawnSync('env', ['-i', 'CNI_COMMAND=VERSION', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...CNI_VERSIONS] });
  }
  // Again: replaced in place.
  expect(nsnet('cni', 'install', '--bin-dir', a).status).toBe(0);
  expect(readdirSync(a)).toEqual(['nsnet']);
});

test('the installed plugin, run as libcni runs it: VERSION in the asked version, errors as JSON on stdout', async () => {
  expect(nsnet('cni', 'install', '--bin-dir', dir).status).toBe(0);
  const rt = new CniRuntime({ path: [dir], cacheDir: path.join(dir, 'cache') });
  expect(await rt.version('nsnet', '0.4.0')).toEqual({ cniVersion: '0.4.0', supportedVersions: [...CNI_VERSIONS] });
  const plugin = rt.find('nsnet');
  // ADD without the container's variables: code 4.
  const noEnv = await rt.exec(plugin, 'ADD', { cniVersion: '1.0.0', name: 'podnet', type: 'nsnet' });
  expect(noEnv.exitCode).toBe(1);
  expect(noEnv.json).toEqual({ cniVersion: '1.0.0', code: 4, msg: 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing' });
  // A configuration in a version nsnet does not speak: code 1, through the runtime's error path.
  const list = { cniVersion: '0.2.0', name: 'podnet', plugins: [{ type: 'nsnet' }] };
  const e = await rt.add(list, { containerId: 'c1', netns: '/run/netns/c1', ifname: 'eth0' }).then(() => undefined, (x: unknown) => x as CniExecError);
  expect(e).toBeInstanceOf(CniExecError);
  expect(e!.code).toBe(1);
  // The plugin's own namespace as CNI_NETNS (/proc/self is the plugin): refused before anything is touched.
  const own = await rt.exec(plugin, 'ADD', { cniVersion: '1.0.0', name: 'podnet', type: 'nsnet' }, { containerId: 'c1', netns: '/proc/self/ns/net', ifname: 'eth0' });
  expect(own.json).toMatchObject({ code: 8 });
  // Broken JSON: code 6.
  const broken = await rt.exec(plugin, 'DEL', '{"cniVersion":', { containerId: 'c1', ifname: 'eth0' });
  expect(broken.json).toMatchObject({ code: 6 });
});

test('install --dry-run shows the file and writes nothing', () => {
  const r = nsnet('cni', 'install', '--dry-run', '--bin-dir', path.join(dir, 'x'));
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`would write ${dir}/x/nsnet (mode 0755):`);
  expect(r.stdout).toContain(`#!${realpathSync(process.execPath)}`);
  expect(readdirSync(dir)).toEqual([]);
});

test('cni config prints a conflist; a bad option is an error naming it', () => {
  const r = nsnet('cni', 'config', '--bridge', 'cbr0', '--subnet', '10.244.1.0/24', '--cni-version', '0.4.0', 'podnet');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '0.4.0', name: 'podnet', plugins: [{ type: 'nsnet', bridge: 'cbr0', ipam: { type: 'nsnet', subnet: '10.244.1.0/24' } }] });
  const bad = nsnet('cni', 'config', '--subnet', '10.244.1.0/99', 'podnet');
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('--subnet 10.244.1.0/99');
});
