// `nsnet cni install`: the plugin executable runtimes run.
//
// The native plugin (build/Release/nsnet-cni, native/cni_main.cc) is copied,
// with a trailer: the argv of the Node plugin it runs when no resident nsnet
// process serves its call. Runtimes run plugins with a bare environment (no
// PATH, no HOME), so that argv names the Node that installed it and the
// plugin's bundle (dist/cni/nsnet-cni.cjs, with its V8 code cache;
// dist/cli/cni-plugin.js when nsnet was not bundled) by absolute path. A
// trailer rather than a file beside it: one file per bin dir, replaced in one
// rename, so the program and the paths it falls back to never disagree, and no
// second file in the bin dir for a runtime to take for a plugin.
//
//   tail -c 12 /opt/cni/bin/nsnet | od -c      ... u32 length, "NSNETCNI"
//
// Without the native program built, the executable is the Node script itself
// (pluginScript: the shebang names node), as before the native plugin.
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
 * The JavaScript that loads the entry. Node reads an extensionless file as
 * CommonJS or as an ES module depending on the package.json above it (a bin
 * dir inside an ESM project, as in tests), and `node -e` as CommonJS: the
 * code works as either.
 */
export function loaderCode(t: PluginTarget): string {
  if (!path.isAbsolute(t.node) || !path.isAbsolute(t.entry)) throw new Error('the node binary and the plugin entry must be absolute paths');
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
  return load;
}

/** The Node plugin as a script of its own: the executable when the native plugin is not built. */
export function pluginScript(t: PluginTarget): string {
  const load = loaderCode(t);
  if (/\s/.test(t.node)) throw new Error(`the node binary's path has whitespace, which a shebang line cannot hold: ${t.node}`);
  return `#!${t.node}
// nsnet's CNI plugin (type "nsnet"), written by \`nsnet cni install\`.
// Runtimes run it with a bare environment: node and the plugin are named by absolute path.
${load}
`;
}

const TRAILER_MAGIC = 'NSNETCNI';

/** The argv the native plugin execs when no resident process serves its call (argv[0]: node, absolute). */
export function fallbackArgv(t: PluginTarget): string[] {
  return [t.node, '-e', loaderCode(t)];
}

/** The native program with the trailer naming its fallback: argv NUL-separated, its u32 length (LE), "NSNETCNI". */
export function nativePlugin(exe: Buffer, argv: string[]): Buffer {
  if (argv.some((a) => a.includes('\0'))) throw new Error('the fallback\'s arguments may not hold NUL');
  const payload = Buffer.from(argv.join('\0'));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length);
  return Buffer.concat([exe, payload, len, Buffer.from(TRAILER_MAGIC, 'latin1')]);
}

/** The fallback argv in a native plugin's trailer (undefined: none). */
export function trailerArgv(file: Buffer): string[] | undefined {
  if (file.length < 12 || file.toString('latin1', file.length - 8) !== TRAILER_MAGIC) return undefined;
  const len = file.readUInt32LE(file.length - 12);
  if (len + 12 > file.length) return undefined;
  return file.subarray(file.length - 12 - len, file.length - 12).toString('utf8').split('\0');
}

/** Writes the executable into `dir` (created if missing), mode 0755, atomically. Returns its path. */
export function writePlugin(dir: string, script: string | Buffer): string {
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
