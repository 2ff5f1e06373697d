// A CNI runtime for tests: runs plugin executables exactly as libcni does
// (containernetworking/cni libcni/api.go, pkg/invoke), so tests can send
// what Debian's runtimes cannot (GC, STATUS, 1.1.0) and check what they get.
//
// - A plugin is found by its `type` in the CNI_PATH directories; it runs with
//   CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH
//   set and the plugin's configuration on stdin; stdout is its result or error JSON.
// - Each plugin of a conflist gets the list's `name` and `cniVersion`, a
//   `runtimeConfig` with the capability args it declares, and on ADD the
//   result of the plugin before it as `prevResult`.
// - ADD's final result is cached per (network, container id, ifname) in
//   `cacheDir` (libcni's results/NET-ID-IFNAME file); CHECK and DEL inject it
//   as `prevResult` (from 0.4.0 on), DEL runs the list in reverse and drops it.
// - GC runs DEL for cached attachments not in the valid list, then GC on each
//   plugin with `cni.dev/valid-attachments` (and `cni.dev/attachments`) (1.1.0);
//   STATUS runs each plugin's STATUS (1.1.0).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Conflist {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  plugins: Record<string, unknown>[];
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs. */
  args?: Record<string, string>;
  /** What the runtime offers for capabilities (portMappings, ips, mac, aliases, ...). */
  capabilityArgs?: Record<string, unknown>;
}

export interface PluginRun {
  command: string;
  plugin: string;
  stdin: Record<string, unknown>;
  env: Record<string, string>;
  stdout: string;
  stderr: string;
  exitCode: number;
  /** stdout as JSON, when it is. */
  json: Record<string, unknown> | undefined;
}

/** A plugin that exited non-zero; `error` is its error JSON when it printed one. */
/** The pid of the resident nsnet process that served a plugin call, from the call's stderr (undefined: not served by one). */
export function servedBy(r: PluginRun): string | undefined {
  return /served by the resident nsnet process \(pid (\d+), /.exec(r.stderr)?.[1];
}

export class CniExecError extends Error {
  constructor(readonly run: PluginRun) {
    const e = run.json as { code?: number; msg?: string; details?: string } | undefined;
    super(`${run.plugin} ${run.command} failed (exit ${run.exitCode}): ${e?.msg ? `code ${e.code}: ${e.msg}${e.details ? ` (${e.details})` : ''}` : run.stdout || run.stderr}`);
  }
  get code(): number | undefined {
    return (this.run.json as { code?: number } | undefined)?.code;
  }
}

export interface CniRuntimeOptions {
  /** CNI_PATH: where plugins are found. */
  path: string[];
  /** Where ADD results are cached (a temp dir per test). */
  cacheDir: string;
  /** The environment plugins get besides CNI_* (default: none at all, as a bare runtime). */
  env?: Record<string, string>;
  /** Every plugin run, for tests that look at what was sent. */
  log?: PluginRun[];
  /**
   * A command the plugin runs under (absolute path first), e.g. `nsenter -t PID -m -n --`
   * to run it on a CniNode, in the node's network and mount namespaces, as that node's runtime would.
   */
  wrap?: string[];
}

const ge = (a: string, b: string) => {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return true;
};

export class CniRuntime {
  constructor(readonly o: CniRuntimeOptions) {}

  /** pkg/invoke FindInPath. */
  find(type: string): string {
    for (const dir of this.o.path) {
      const f = path.join(dir, type);
      if (existsSync(f) && statSync(f).isFile()) return f;
    }
    throw new Error(`failed to find plugin "${type}" in path [${this.o.path.join(' ')}]`);
  }

  /** One plugin run; resolves whatever the exit code (see `check` to throw on failure). */
  exec(plugin: string, command: string, stdin: Record<string, unknown> | string, att?: Partial<Attachment>): Promise<PluginRun> {
    const env: Record<string, string> = {
      ...(this.o.env ?? {}),
      CNI_COMMAND: command,
      CNI_CONTAINERID: att?.containerId ?? '',
      CNI_NETNS: att?.netns ?? '',
      CNI_IFNAME: att?.ifname ?? '',
      CNI_ARGS: Object.entries(att?.args ?? {}).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: this.o.path.join(':'),
    };
    const text = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
    return new Promise((resolve, reject) => {
      const [cmd, ...argv] = [...(this.o.wrap ?? []), plugin];
      const child = spawn(cmd!, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.stdin.on('error', () => {});
      child.stdin.end(text);
      child.on('close', (code) => {
        const stdout = Buffer.concat(out).toString();
        let json: Record<string, unknown> | undefined;
        try {
          json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
        } catch {
          json = undefined;
        }
        const run: PluginRun = {
          command, plugin, env, stdout, stderr: Buffer.concat(err).toString(), exitCode: code ?? 1, json,
          stdin: typeof stdin === 'string' ? {} : stdin,
        };
        this.o.log?.push(run);
        resolve(run);
      });
    });
  }

  /** exec, throwing CniExecError on a non-zero exit. */
  async run(plugin: string, command: string, stdin: Record<string, unknown>, att?: Partial<Attachment>): Promise<PluginRun> {
    const r = await this.exec(plugin, command, stdin, att);
    if (r.exitCode !== 0) throw new CniExecError(r);
    return r;
  }

  /** libcni buildOneConfig + injectRuntimeConfig. */
  pluginConfig(list: Conflist, plugin: Record<string, unknown>, prevResult: unknown, att?: Attachment): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    if (prevResult !== undefined) conf.prevResult = prevResult;
    const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
    const rc: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(caps)) if (on && att?.capabilityArgs && cap in att.capabilityArgs) rc[cap] = att.capabilityArgs[cap];
    if (Object.keys(rc).length) conf.runtimeConfig = rc;
    return conf;
  }

  cacheFile(network: string, att: Pick<Attachment, 'containerId' | 'ifname'>): string {
    return path.join(this.o.cacheDir, 'results', `${network}-${att.containerId}-${att.ifname}`);
  }

  cachedResult(network: string, att: Pick<Attachment, 'containerId' | 'ifname'>): Record<string, unknown> | undefined {
    try {
      return (JSON.parse(readFileSync(this.cacheFile(network, att), 'utf8')) as { result: Record<string, unknown> }).result;
    } catch {
      return undefined;
    }
  }

  /** AddNetworkList: the chain, each plugin's result the next one's prevResult; the last result cached and returned. */
  async add(list: Conflist, att: Attachment): Promise<Record<string, unknown>> {
    let result: Record<string, unknown> | undefined;
    for (const p of list.plugins) {
      const r = await this.run(this.find(String(p.type)), 'ADD', this.pluginConfig(list, p, result, att), att);
      if (!r.json) throw new Error(`${String(p.type)} ADD printed no result`);
      result = r.json;
    }
    const file = this.cacheFile(list.name, att);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify({
      kind: 'cniCacheV1', containerId: att.containerId, ifName: att.ifname, networkName: list.name, netns: att.netns,
      cniArgs: att.args ?? {}, capabilityArgs: att.capabilityArgs ?? {}, config: list, result,
    }), { mode: 0o600 });
    return result!;
  }

  /** CheckNetworkList: 0.4.0 and later, skipped with disableCheck; needs the cached result. */
  async check(list: Conflist, att: Attachment): Promise<void> {
    if (!ge(list.cniVersion, '0.4.0')) throw new Error(`configuration version "${list.cniVersion}" does not support the CHECK command`);
    if (list.disableCheck) return;
    const cached = this.cachedResult(list.name, att);
    if (!cached) throw new Error(`failed to get network "${list.name}" cached result`);
    for (const p of list.plugins) await this.run(this.find(String(p.type)), 'CHECK', this.pluginConfig(list, p, cached, att), att);
  }

  /** DelNetworkList: the chain in reverse, with the cached result (0.4.0 and later), then the cache entry removed. */
  async del(list: Conflist, att: Attachment): Promise<void> {
    const cached = ge(list.cniVersion, '0.4.0') ? this.cachedResult(list.name, att) : undefined;
    for (const p of [...list.plugins].reverse()) await this.run(this.find(String(p.type)), 'DEL', this.pluginConfig(list, p, cached, att), att);
    rmSync(this.cacheFile(list.name, att), { force: true });
  }

  /** GCNetworkList: DEL for cached attachments not listed, then GC on every plugin (1.1.0). Errors are gathered. */
  async gc(list: Conflist, valid: { containerID: string; ifname: string }[]): Promise<void> {
    if (list.disableGC) return;
    const errors: Error[] = [];
    const dir = path.join(this.o.cacheDir, 'results');
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      let c: { networkName: string; containerId: string; ifName: string; netns: string; cniArgs: Record<string, string>; capabilityArgs: Record<string, unknown> };
      try {
        c = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      } catch {
        continue;
      }
      if (c.networkName !== list.name || valid.some((v) => v.containerID === c.containerId && v.ifname === c.ifName)) continue;
      await this.del(list, { containerId: c.containerId, ifname: c.ifName, netns: c.netns, args: c.cniArgs, capabilityArgs: c.capabilityArgs })
        .catch((e: Error) => errors.push(e));
    }
    if (ge(list.cniVersion, '1.1.0')) {
      for (const p of list.plugins) {
        const conf = { ...p, name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid };
        await this.run(this.find(String(p.type)), 'GC', conf).catch((e: Error) => errors.push(e));
      }
    }
    if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('\n'));
  }

  /** GetStatusNetworkList: STATUS on each plugin (1.1.0; older lists: nothing to ask). */
  async status(list: Conflist): Promise<void> {
    if (!ge(list.cniVersion, '1.1.0')) return;
    for (const p of list.plugins) await this.run(this.find(String(p.type)), 'STATUS', { ...p, name: list.name, cniVersion: list.cniVersion });
  }

  /** GetVersionInfo: VERSION with `{"cniVersion": V}` on stdin. */
  async version(type: string, cniVersion = '1.1.0'): Promise<{ cniVersion: string; supportedVersions: string[] }> {
    const r = await this.run(this.find(type), 'VERSION', { cniVersion });
    return r.json as { cniVersion: string; supportedVersions: string[] };
  }
}
