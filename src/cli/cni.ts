// `nsnet cni install` and `nsnet cni config`: handlers over src/cni/install.ts and conflist.ts.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { conflist } from '../cni/conflist.js';
import { DEFAULT_BIN_DIRS, fallbackArgv, nativePlugin, PLUGIN_NAME, pluginScript, writePlugin } from '../cni/install.js';
import { cniExe } from '../native.js';
import type { Handler } from './dispatch.js';
import path from 'node:path';

/**
 * The plugin's code beside this CLI: the bundle (dist/cni/nsnet-cni.cjs,
 * from scripts/bundle-cli.mjs), else the compiled module dist/cli/cni-plugin.js.
 * Both the CLI's bundle (dist/cli/nsnet*.cjs) and dist/cli/cni.js sit in dist/cli/.
 */
function pluginEntry(): string {
  const candidates = ['../cni/nsnet-cni.cjs', './cni-plugin.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`the CNI plugin's code is not built; looked for:\n  ${candidates.join('\n  ')}\nrun: npm run build`);
  return found;
}

export const cniInstall: Handler<'cni install'> = async ({ flags }, io) => {
  const dirs = (flags['bin-dir'].length ? flags['bin-dir'] : DEFAULT_BIN_DIRS).map((d) => path.resolve(d));
  const target = { node: process.execPath, entry: pluginEntry() };
  // The native plugin (forwards to the resident nsnet process, else runs the Node plugin), or the Node plugin alone.
  const exe = cniExe();
  const file = exe ? nativePlugin(readFileSync(exe), fallbackArgv(target)) : pluginScript(target);
  if (flags['dry-run']) {
    for (const d of dirs) io.out(`would write ${path.join(d, PLUGIN_NAME)} (mode 0755):`);
    if (exe) io.out(`${exe} (it forwards calls to the resident nsnet process over <runDir>/cni.sock), with its fallback:\n${fallbackArgv(target).map((a) => JSON.stringify(a)).join(' ')}`);
    else io.out((file as string).trimEnd());
    return 0;
  }
  for (const d of dirs) io.out(`wrote ${writePlugin(d, file)}`);
  return 0;
};

export const cniConfig: Handler<'cni config'> = async ({ flags, args }, io) => {
  io.out(JSON.stringify(conflist({
    name: args[0]!,
    cniVersion: flags['cni-version'],
    ...(flags.subnet && { subnet: flags.subnet }),
    ...(flags.gateway && { gateway: flags.gateway }),
    ...(flags.bridge && { bridge: flags.bridge }),
    ...(flags['cluster-cidr'] && { clusterCIDR: flags['cluster-cidr'] }),
    ...(flags['cluster-store'] && { clusterStore: flags['cluster-store'] }),
    ...(flags['pod-cidr-prefix-len'] && { podCIDRPrefixLen: Number(flags['pod-cidr-prefix-len']) }),
  }), null, 2));
  return 0;
};
