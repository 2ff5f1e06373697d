// A CNI request as a runtime sends it: CNI_* environment variables plus the
// network configuration on stdin (SPEC.md section 2), parsed and checked into
// one CniRequest. Pure: the same env and stdin give the same request or the
// same CniError, with the spec's code:
//
//   4 a required CNI_* variable is missing or malformed    6 stdin is not a JSON object
//   7 cniVersion, name or type missing or invalid          1 a cniVersion nsnet does not speak,
//                                                            or a command that version lacks
//
// The checks follow the reference plugins' skel (containernetworking/cni
// pkg/skel, pkg/utils): runtimes are tested against it, so they send what it accepts.
import { CNI_ERR, CNI_VERSIONS, CniError, type CniCommand, type CniRequest, type CniVersion, type NetConf } from './types.js';
import { parseResult } from './result.js';

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

/** The variables each command needs non-empty (SPEC.md "CNI operations"). DEL may come without CNI_NETNS. */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: [],
  STATUS: [],
  VERSION: [],
};

/** The first version that has each command (SPEC.md; skel refuses the others with code 1). */
const SINCE: Partial<Record<CniCommand, CniVersion>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses a request. Throws CniError (never anything else) when the env or the
 * configuration is not one the spec allows. VERSION needs only CNI_COMMAND:
 * its stdin may be empty or anything (answered with its cniVersion when it has one).
 */
export function parseRequest(env: Env, stdin: string): CniRequest {
  const command = parseCommand(env.CNI_COMMAND);
  const missing = REQUIRED[command].filter((v) => !env[v]);
  if (missing.length) throw new CniError(CNI_ERR.invalidEnv, `required env variables [${missing.join(',')}] missing`);
  const uses = (v: string) => REQUIRED[command].includes(v) || (command === 'DEL' && v === 'CNI_NETNS');
  const containerId = uses('CNI_CONTAINERID') ? checkContainerId(env.CNI_CONTAINERID ?? '') : '';
  const ifname = uses('CNI_IFNAME') ? checkIfname(env.CNI_IFNAME ?? '') : '';
  const netns = uses('CNI_NETNS') ? checkNetns(env.CNI_NETNS ?? '') : '';
  const args = command === 'VERSION' ? {} : parseCniArgs(env.CNI_ARGS ?? '');
  const path = splitPath(env.CNI_PATH ?? '');
  const config = command === 'VERSION' ? versionConfig(stdin) : parseConfig(stdin, command);
  return { command, containerId, netns, ifname, args, path, config };
}

function parseCommand(c: string | undefined): CniCommand {
  if (!c) throw new CniError(CNI_ERR.invalidEnv, 'required env variables [CNI_COMMAND] missing');
  if (!(COMMANDS as readonly string[]).includes(c)) {
    throw new CniError(CNI_ERR.invalidEnv, `unknown CNI_COMMAND: ${c}`, `CNI_COMMAND is one of ${COMMANDS.join(', ')}`);
  }
  return c as CniCommand;
}

// Container ids and network names: an alphanumeric, then alphanumerics, '_', '.', '-' (pkg/utils).
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkContainerId(id: string): string {
  if (!NAME.test(id)) throw new CniError(CNI_ERR.invalidEnv, 'invalid characters in CNI_CONTAINERID', id);
  return id;
}

/** The kernel's rules for a link name (net/core/dev.c dev_valid_name): 1-15 bytes, no '/', ':' or space, not '.' or '..'. */
export function checkIfname(name: string): string {
  const bad = (why: string) => new CniError(CNI_ERR.invalidEnv, `invalid CNI_IFNAME "${name}": ${why}`);
  if (Buffer.byteLength(name) > 15) throw bad('longer than 15 bytes');
  if (name === '.' || name === '..') throw bad('"." and ".." are not interface names');
  if (/[/:\s]/.test(name)) throw bad('contains "/", ":" or whitespace');
  return name;
}

/** The forms CNI_NETNS takes. Which file it is (an nsfs one) the backend checks when it opens it. */
export type NetnsRef =
  | { kind: 'none' }
  | { kind: 'named'; name: string; path: string }
  | { kind: 'pid'; pid: number; tid?: number; path: string }
  | { kind: 'path'; path: string };

/** What a CNI_NETNS value refers to: /run/netns/NAME (also /var/run), /proc/PID[/task/TID]/ns/net, another absolute path, or ''. */
export function netnsRef(p: string): NetnsRef {
  if (p === '') return { kind: 'none' };
  const named = /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(p);
  if (named && named[1] !== '.' && named[1] !== '..') return { kind: 'named', name: named[1]!, path: p };
  const pid = /^\/proc\/([1-9][0-9]*)(?:\/task\/([1-9][0-9]*))?\/ns\/net$/.exec(p);
  if (pid) return { kind: 'pid', pid: Number(pid[1]), ...(pid[2] !== undefined && { tid: Number(pid[2]) }), path: p };
  return { kind: 'path', path: p };
}

function checkNetns(p: string): string {
  // Podman's VERSION call passes "dummy"; for the others only an absolute path can name a namespace file.
  if (p !== '' && (!p.startsWith('/') || p.includes('\0'))) {
    throw new CniError(CNI_ERR.invalidEnv, `invalid CNI_NETNS "${p}": not an absolute path`, 'CNI_NETNS is a path such as /run/netns/NAME or /proc/PID/ns/net');
  }
  return p;
}

/** CNI_ARGS: `K=V;K=V` (SPEC.md). A pair without '=' is an error; the value may hold '='. */
export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of s.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.invalidEnv, `invalid CNI_ARGS pair "${pair}"`, 'CNI_ARGS is K=V;K=V');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** CNI_PATH: ':'-separated directories; empty entries dropped. */
export function splitPath(s: string): string[] {
  return s.split(':').filter((d) => d !== '');
}

/** Compares dotted versions ("0.4.0" < "1.0.0"): negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (CNI_VERSIONS as readonly string[]).includes(v);
}

/** VERSION's stdin: only cniVersion matters, and not even that (skel ignores it); never an error. */
function versionConfig(stdin: string): NetConf {
  let cniVersion: unknown;
  try {
    cniVersion = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
  } catch {
    // no or broken stdin: answered in the newest version
  }
  return { cniVersion: (typeof cniVersion === 'string' && cniVersion ? cniVersion : '1.1.0') as CniVersion, name: '', type: '' };
}

/** The configuration on stdin: a JSON object with cniVersion, name, type; everything else kept as given. */
export function parseConfig(stdin: string, command: CniCommand): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_ERR.decode, 'error decoding the network configuration on stdin', (e as Error).message);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(CNI_ERR.decode, 'error decoding the network configuration on stdin', 'the configuration is not a JSON object');
  }
  const conf = raw as Record<string, unknown>;
  for (const key of ['cniVersion', 'name', 'type'] as const) {
    const v = conf[key];
    if (v === undefined || v === '') throw new CniError(CNI_ERR.invalidConfig, `missing ${key} in the network configuration`);
    if (typeof v !== 'string') throw new CniError(CNI_ERR.decode, `"${key}" in the network configuration is not a string`, JSON.stringify(v));
  }
  const name = conf.name as string;
  if (!NAME.test(name)) throw new CniError(CNI_ERR.invalidConfig, 'invalid characters in the network name', name);
  const version = conf.cniVersion as string;
  if (!isSupportedVersion(version)) {
    throw new CniError(CNI_ERR.incompatibleVersion, 'incompatible CNI versions', `config is "${version}", plugin supports [${CNI_VERSIONS.join(' ')}]`);
  }
  const since = SINCE[command];
  if (since && compareVersions(version, since) < 0) {
    throw new CniError(CNI_ERR.incompatibleVersion, `config version does not allow ${command}`, `${command} needs cniVersion ${since} or later; the config is ${version}`);
  }
  for (const key of ['ipam', 'runtimeConfig', 'args', 'dns', 'capabilities'] as const) {
    const v = conf[key];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw new CniError(CNI_ERR.decode, `"${key}" in the network configuration is not an object`, JSON.stringify(v));
    }
  }
  if (conf.ipam !== undefined && typeof (conf.ipam as { type?: unknown }).type !== 'string') {
    throw new CniError(CNI_ERR.invalidConfig, 'missing ipam.type in the network configuration');
  }
  const out = { ...conf } as NetConf;
  // prevResult: in the config's version on the wire, in the 1.1.0 shape inside.
  delete out.prevResult;
  if (conf.prevResult !== undefined && conf.prevResult !== null) {
    try {
      out.prevResult = parseResult(conf.prevResult, version);
    } catch (e) {
      // DEL is best effort (SPEC.md): a cache entry the runtime mangled must not stop the cleanup.
      if (command !== 'DEL') throw e;
    }
  }
  return out;
}

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

/**
 * GC's list of attachments to keep. libcni puts it at the top of the plugin's
 * configuration as `cni.dev/valid-attachments` and, for the spec's first
 * spelling, `cni.dev/attachments` (cni#1101); runtimeConfig is read too.
 * Undefined when the request names none (GC then keeps everything: nothing
 * says what is stale). Throws CniError 6 on a malformed list.
 */
export function validAttachments(config: NetConf): GcAttachment[] | undefined {
  const c = config as Record<string, unknown>;
  const rc = (config.runtimeConfig ?? {}) as Record<string, unknown>;
  const raw = c['cni.dev/valid-attachments'] ?? c['cni.dev/attachments'] ?? rc['cni.dev/valid-attachments'] ?? rc['cni.dev/attachments'];
  if (raw === undefined || raw === null) return undefined;
  const ok = Array.isArray(raw) && raw.every((a) => a && typeof a === 'object' && typeof (a as GcAttachment).containerID === 'string' && typeof (a as GcAttachment).ifname === 'string');
  if (!ok) throw new CniError(CNI_ERR.decode, 'cni.dev/valid-attachments is not a list of {containerID, ifname}', JSON.stringify(raw));
  return (raw as GcAttachment[]).map(({ containerID, ifname }) => ({ containerID, ifname }));
}
