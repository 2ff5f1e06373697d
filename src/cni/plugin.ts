// One CNI command, from what the runtime gave (env, stdin) to what it reads
// back (stdout, exit code): parse (env.ts), dispatch to the backend, render
// the result in the configuration's cniVersion (result.ts) or the error as
// the spec's error JSON (errors.ts). No I/O of its own: main.ts does the
// process's, the backend the system's.
//
//   VERSION  answered here, without loading the backend or touching state
//   ADD      backend.add -> the result, in the configuration's cniVersion
//   DEL, CHECK, GC, STATUS -> the backend; no output on success
import { formatError, toCniError } from './errors.js';
import { parseRequest, type Env } from './env.js';
import { formatResult, versionAnswer } from './result.js';
import { CNI_VERSIONS, CniError, type CniBackend } from './types.js';

export interface CniOutput {
  stdout: string;
  /** Unstructured text for people (SPEC.md: stderr is for logs). */
  stderr: string;
  exitCode: number;
}

/** The backend, or a function loading it (so VERSION never loads it). */
export type BackendSource = CniBackend | (() => Promise<CniBackend>);

export const ABOUT = `nsnet CNI plugin (type "nsnet"): nsnet's bridge networks, IPAM, published ports and DNS for CNI runtimes
CNI protocol versions supported: ${CNI_VERSIONS.join(', ')}`;

export interface CniMainOptions {
  /**
   * Whether `path` is the plugin's own network namespace (main.ts compares
   * device and inode with /proc/self/ns/net). ADD, CHECK and DEL refuse it,
   * as the reference plugins' skel does: nsnet would rewire the host itself.
   */
  isOwnNetns?: (path: string) => boolean;
}

/** CNI_NETNS naming the namespace the plugin runs in (skel's ErrInvalidNetNS). */
export const CNI_ERR_INVALID_NETNS = 8;

export async function cniMain(env: Env, stdin: string, backend: BackendSource, opts: CniMainOptions = {}): Promise<CniOutput> {
  // Run by hand without CNI_COMMAND: say what this is (as the reference plugins' skel does), exit 0.
  if (!env.CNI_COMMAND) return { stdout: '', stderr: `${ABOUT}\n`, exitCode: 0 };
  let cniVersion: string | undefined;
  try {
    const req = parseRequest(env, stdin);
    cniVersion = req.config.cniVersion;
    if (req.command === 'VERSION') return ok(`${JSON.stringify(versionAnswer(req.config.cniVersion))}\n`);
    if (req.netns && opts.isOwnNetns?.(req.netns)) {
      throw new CniError(CNI_ERR_INVALID_NETNS, "plugin's netns and netns from CNI_NETNS should not be the same", `CNI_NETNS=${req.netns} is the namespace the plugin runs in`);
    }
    const b = typeof backend === 'function' ? await backend() : backend;
    switch (req.command) {
      case 'ADD':
        return ok(`${formatResult(await b.add(req), req.config.cniVersion)}\n`);
      case 'DEL':
        await b.del(req);
        return ok('');
      case 'CHECK':
        await b.check(req);
        return ok('');
      case 'GC':
        await b.gc(req);
        return ok('');
      case 'STATUS':
        await b.status(req);
        return ok('');
    }
  } catch (e) {
    const err = toCniError(e);
    // The stack for people reading the runtime's log, when it is not one of the spec's errors.
    const stderr = err === e ? '' : `${(e as Error)?.stack ?? String(e)}\n`;
    return { stdout: `${formatError(err, cniVersion ?? versionIn(stdin))}\n`, stderr, exitCode: 1 };
  }
}

const ok = (stdout: string): CniOutput => ({ stdout, stderr: '', exitCode: 0 });

/** The cniVersion of a configuration that failed to parse further, for its error result. */
function versionIn(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof v === 'string' && (CNI_VERSIONS as readonly string[]).includes(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
