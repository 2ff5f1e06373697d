// One CNI call, from what the runtime gave (env, stdin) to what it reads back
// (stdout, stderr, exit code), with nothing of the process touched: no
// process.env, no exit, no console. Two callers run the very same code:
//
//   cni-plugin.ts   the Node plugin (a process per call: the fallback)
//   cni-serve.ts    the resident nsnet process (`nsnet dns`), for the native
//                   plugin that forwards the call over <runDir>/cni.sock
//
// It sits with the CLI because, like the CLI, it wires the layers below
// together: the backend, the delegated IPAM and the client of the embedded
// DNS server (which src/cni may not import).
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from '../docker/context.js';
import type { Netns } from '../kernel/netns.js';
import { cniMain, type BackendSource, type CniOutput } from '../cni/plugin.js';

export type { CniOutput } from '../cni/plugin.js';

export interface CniRunOptions {
  /** The runtime's environment (CNI_*, NSNET_* for the state directories). */
  env: NodeJS.ProcessEnv;
  stdin: string;
  /**
   * The embedded DNS server's client. Default: the `nsnet dns` process over
   * its control socket, revived before the command if it should run but
   * was killed (as every CLI command does). The resident process passes its
   * own server (nothing to revive: it is the server).
   */
  dns?: Context['dns'];
  /** NSNET_CNI_TRACE=1: each stage, as it is reached. */
  trace?: (what: string) => void;
  /** The caller lives on after answering (the resident process): DEL deletes the veth after its answer (docker/removals.ts). */
  deferRemovals?: boolean;
  /** The caller's process watches nsnet's firewall tables (the resident process's DNS server): no check per call. */
  tablesWatched?: boolean;
}

/** Same device and inode as our own network namespace; a path that cannot be read is left to the backend. */
function isOwnNetns(p: string): boolean {
  try {
    const a = statSync(p);
    const b = statSync('/proc/self/ns/net');
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * Finishes the removals a killed resident process left half done (their veth
 * deleted after the answer: docker/removals.ts): what the first locked
 * section of any nsnet command does, done at once by the new resident process.
 */
export async function finishRemovals(env: NodeJS.ProcessEnv, dns: Context['dns'], log: (line: string) => void): Promise<void> {
  const [{ openContext }, { usingState }] = await Promise.all([import('../docker/context.js'), import('../docker/networks.js')]);
  const ctx = await openContext({ env, dns, warn: log });
  try {
    await usingState(ctx, () => undefined);
  } finally {
    await ctx.host.close();
  }
}

/** Waits for this process's removals still deleting their veth (at most `ms`); how many there were. */
export async function removalsDrained(ms: number): Promise<number> {
  const { removalsSettled } = await import('../docker/removals.js');
  return Promise.race([removalsSettled({ all: true }), new Promise<number>((r) => setTimeout(() => r(-1), ms).unref())]);
}

/** The resident process's handle of the host namespace, shared by its calls (opened once, never closed: the process's own). */
let residentHost: Promise<Netns> | undefined;

export async function runCni(o: CniRunOptions): Promise<CniOutput> {
  const { env, trace } = o;
  const stderr: string[] = [];
  /**
   * The backend, loaded only for commands that need it (VERSION loads none of
   * the Docker layer). The DNS server it starts on first need is `nsnet dns`
   * run by bin/nsnet.js, never this plugin (argv[1] of the Node plugin is /opt/cni/bin/nsnet).
   */
  const loadBackend: BackendSource = async () => {
    const [{ cniBackend }, { delegateIpam }, { dnsClient }, { reviveDns }] = await Promise.all([
      import('../cni/backend.js'), import('../cni/delegate.js'), import('./context.js'), import('../dns/health.js'),
    ]);
    trace?.('backend loaded');
    const bin = fileURLToPath(new URL('../../bin/nsnet.js', import.meta.url));
    // In the resident process: one host handle for all calls (no open/close per call; the tables' recheck window is shared).
    const host = o.deferRemovals ? await (residentHost ??= import('../kernel/netns.js').then((m) => m.netnsSelf())) : undefined;
    return cniBackend({
      env,
      ...(host && { host }),
      dns: o.dns ?? dnsClient(env, [bin, 'dns', '--supervise']),
      // The delegated plugin's stderr goes with the answer (the runtime's log), never to a daemon's own.
      ipam: (command, req) => delegateIpam(command, req, { env, stderr: (c) => stderr.push(c.toString('utf8')) }),
      prepare: async (ctx) => {
        trace?.('context open');
        // As every CLI command does first: a DNS server that should run but was killed comes back.
        if (!o.dns) await reviveDns(ctx.dirs, { argv: [bin, 'dns', '--supervise'], env, warn: () => {} });
        trace?.('DNS server checked');
      },
      ...(o.deferRemovals && { deferRemovals: true }),
      ...(o.tablesWatched && { tablesWatched: true }),
      ...(trace && {
        trace,
        observe: (step: { title: string; deferrable?: boolean }) => trace(`step: ${step.title}${step.deferrable && o.deferRemovals ? ' (after the answer)' : ''}`),
      }),
    });
  };
  const out = await cniMain(env, o.stdin, loadBackend, { isOwnNetns });
  return stderr.length ? { ...out, stderr: stderr.join('') + out.stderr } : out;
}
