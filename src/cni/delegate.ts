// Delegated IPAM (SPEC.md section 4): a configuration whose `ipam.type` is
// not nsnet's own names another plugin (host-local, static, dhcp, ...). nsnet
// runs it as the runtime ran nsnet: found in CNI_PATH (first directory that
// has it), the same environment with CNI_COMMAND set, the complete network
// configuration on stdin; its stderr goes to nsnet's stderr, its result
// (any version) comes back in the internal shape, its error JSON becomes
// nsnet's error with the same code.
//
// The plugin's own ADD/DEL/CHECK/GC/STATUS decide when to call this
// (backend.ts); a failed ADD after a delegated ADD calls DEL (SPEC.md).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { formatResult, parseResultText } from './result.js';
import { CNI_ERR, CniError, type CniCommand, type CniRequest, type NetConf, type Result } from './types.js';

/** nsnet's own IPAM: no delegation. An absent ipam section is nsnet's too. */
export const NSNET_IPAM = 'nsnet';

/** The IPAM plugin a configuration delegates to, or undefined when nsnet allocates itself. */
export function delegatedIpam(config: NetConf): string | undefined {
  const t = config.ipam?.type;
  return t && t !== NSNET_IPAM ? t : undefined;
}

/** The plugin's executable: the first of `dirs` holding a regular file by that name (pkg/invoke FindInPath). */
export function findPlugin(type: string, dirs: readonly string[]): string {
  if (!type) throw new CniError(CNI_ERR.invalidConfig, 'no plugin name provided');
  if (type.includes('/')) throw new CniError(CNI_ERR.invalidConfig, `invalid plugin name: ${type}`);
  if (!dirs.length) throw new CniError(CNI_ERR.invalidEnv, `cannot run IPAM plugin "${type}": CNI_PATH is empty`, 'CNI_PATH lists the directories delegated plugins are found in');
  for (const dir of dirs) {
    const file = path.join(dir, type);
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(CNI_ERR.invalidConfig, `failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

/** The configuration as the delegated plugin gets it: as received, prevResult in the configuration's version. */
export function delegateStdin(config: NetConf): string {
  const { prevResult, ...rest } = config;
  return JSON.stringify(prevResult ? { ...rest, prevResult: JSON.parse(formatResult(prevResult, config.cniVersion)) } : rest);
}

/** The CNI_* variables of a request (what the runtime passed), with `command` as CNI_COMMAND. */
export function requestEnv(req: CniRequest, command: CniCommand): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: req.containerId,
    CNI_NETNS: req.netns,
    CNI_IFNAME: req.ifname,
    CNI_ARGS: Object.entries(req.args).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: req.path.join(':'),
  };
}

export interface DelegateOptions {
  /** The environment the plugin itself got (default process.env); its CNI_* are replaced by the request's. */
  env?: NodeJS.ProcessEnv;
  /** Where the delegated plugin's stderr goes (default nsnet's stderr). */
  stderr?: (chunk: Buffer) => void;
}

/**
 * Runs the configuration's IPAM plugin for `command`. ADD returns its result
 * (internal shape); the others return undefined. Throws CniError: the
 * plugin's own error (its code), or 5 when it could not be run.
 */
export async function delegateIpam(command: Exclude<CniCommand, 'VERSION'>, req: CniRequest, opts: DelegateOptions = {}): Promise<Result | undefined> {
  const type = delegatedIpam(req.config);
  if (!type) throw new CniError(CNI_ERR.invalidConfig, 'the configuration delegates no IPAM (ipam.type is nsnet or absent)');
  const file = findPlugin(type, req.path);
  const env = { ...(opts.env ?? process.env), ...requestEnv(req, command) };
  const { code, stdout } = await run(file, delegateStdin(req.config), env, opts.stderr ?? ((c) => process.stderr.write(c)));
  if (code !== 0) throw pluginError(type, code, stdout);
  if (command !== 'ADD') return undefined;
  try {
    return parseResultText(stdout, req.config.cniVersion);
  } catch (e) {
    const err = e as CniError;
    throw new CniError(err.code, `IPAM plugin ${type}: ${err.message}`, err.details);
  }
}

function run(file: string, stdin: string, env: NodeJS.ProcessEnv, stderr: (c: Buffer) => void): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', stderr);
    child.on('error', (e) => reject(new CniError(CNI_ERR.io, `cannot run IPAM plugin ${file}: ${e.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8') }));
    // A plugin that exits without reading its stdin: EPIPE here is not the error to report.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/** A failed plugin's error: its error JSON (pkg/invoke pluginErr), or what it printed. */
function pluginError(type: string, exit: number, stdout: string): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      return new CniError(e.code, `IPAM plugin ${type}: ${e.msg}`, typeof e.details === 'string' ? e.details : '');
    }
  } catch {
    // not JSON: said below
  }
  return new CniError(CNI_ERR.io, `IPAM plugin ${type} failed (exit ${exit})`, stdout.trim().slice(0, 500));
}
