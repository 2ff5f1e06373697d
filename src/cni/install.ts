// `nsnet cni install`: the plugin executable runtimes run. They run plugins
// with a bare environment (no PATH, no HOME), so the executable names the
// Node that installed it by absolute path in its shebang, and loads the
// plugin's bundle (dist/cni/nsnet-cni.cjs, with its V8 code cache; dist/cli/cni-plugin.js
// when nsnet was not bundled) by absolute path: one Node start, one file read.
//
// Written atomically (a temporary file in the same directory, then rename):
// a runtime calling the plugin meanwhile runs the old file or the new one,
// never half of one.
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where runtimes look: the reference location, and Debian's (containernetworking-plugins, Podman). */
export const DEFAULT_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];

/** The executable's name: the `type` configurations give. */
export const PLUGIN_NAME = 'nsnet';

export interface PluginTarget {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of the plugin's code: a .cjs bundle (required) or an ES module (imported). */
  entry: string;
}

/**
 * The executable's text, a script that loads the entry. Node reads an extensionless
 * file as CommonJS or as an ES module depending on the package.json above it (a bin
 * dir inside an ESM project, as in tests): the line works as either.
 */
export function pluginScript(t: PluginTarget): string {
  if (!path.isAbsolute(t.node) || !path.isAbsolute(t.entry)) throw new Error('the node binary and the plugin entry must be absolute paths');
  if (/\s/.test(t.node)) throw new Error(`the node binary's path has whitespace, which a shebang line cannot hold: ${t.node}`);
  // A bundle is run with V8's code cache beside it (ENTRY.cache, scripts/code-cache.mjs) when there is
  // one, as bin/nsnet.js runs the CLI's: a DEL then compiles almost nothing (measured in docs/bench/cni.md).
  // A cache from another Node is rejected by V8 and the file is compiled; no cache: a plain require.
  const load = t.entry.endsWith('.cjs')
    ? `{
  const f = ${JSON.stringify(t.entry)}, g = (id) => process.getBuiltinModule(id), fs = g('node:fs'), M = g('node:module'), dir = g('node:path').dirname(f);
  let cachedData;
  try { cachedData = fs.readFileSync(f + '.cache'); } catch {}
  if (!cachedData) M.createRequire(f)(f);
  else {
    const m = new M(f);
    m.filename = f;
    m.paths = M._nodeModulePaths(dir);
    new (g('node:vm').Script)(M.wrap(fs.readFileSync(f, 'utf8')), { filename: f, cachedData }).runInThisContext()
      .call(m.exports, m.exports, (id) => m.require(id), m, f, dir);
    m.loaded = true;
  }
}`
    : `import(${JSON.stringify(pathToFileURL(t.entry).href)});`;
  return `#!${t.node}
// nsnet's CNI plugin (type "nsnet"), written by \`nsnet cni install\`.
// Runtimes run it with a bare environment: node and the plugin are named by absolute path.
${load}
`;
}

/** Writes the executable into `dir` (created if missing), mode 0755, atomically. Returns its path. */
export function writePlugin(dir: string, script: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, PLUGIN_NAME);
  const tmp = path.join(dir, `.${PLUGIN_NAME}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, script, { mode: 0o755 });
    chmodSync(tmp, 0o755); // the umask may have taken bits away
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`writing ${file}: ${(e as Error).message}`, { cause: e });
  }
  return file;
}
