// Shared set-up for kernel tests: the "can we run?" check, unique names,
// and the kernel as oracle (`ip -j`, `nft`), run with execa.
//
// Kernel tests need root *and* the hermetic sandbox (scripts/sandbox.sh),
// which `npm test` provides. Anywhere else they are skipped, visibly, with
// the reason in the suite name - except under CI=true, where they fail.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function whyNot(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (run: sudo npm test)';
  if (process.env.NSNET_IN_SANDBOX !== '1') return 'needs the test sandbox (run: npm test)';
  // Never run against the machine's own network: our namespaces must differ
  // from the ones sandbox.sh started in (and from PID 1's, where readable).
  const outer = { net: process.env.NSNET_OUTER_NETNS, mnt: process.env.NSNET_OUTER_MNTNS };
  // In the sandbox's own PID namespace, PID 1 is the sandbox's shell (in our namespaces by design), not the machine's init.
  const ownPidns = !!process.env.NSNET_OUTER_PIDNS && readlinkSync('/proc/self/ns/pid') !== process.env.NSNET_OUTER_PIDNS;
  for (const kind of ['net', 'mnt'] as const) {
    const mine = readlinkSync(`/proc/self/ns/${kind}`);
    let init: string | undefined;
    try {
      if (!ownPidns) init = readlinkSync(`/proc/1/ns/${kind}`);
    } catch {
      // PID 1 may be out of reach (another user namespace, an LSM); the outer value suffices.
    }
    if (!outer[kind] || mine === outer[kind] || mine === init) return `not in a private ${kind} namespace`;
  }
  if (!existsSync(path.join(root, 'build/Release/nsnet.node'))) return 'native addon not built (run: npm ci)';
  return null;
}

export const kernelUnavailable = whyNot();

/** describe() for tests that need root and the sandbox. */
export function describeKernel(name: string, fn: () => void): void {
  if (kernelUnavailable === null) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('kernel tests can run here', () => {
        throw new Error(`kernel tests cannot run under CI: ${kernelUnavailable}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${kernelUnavailable}]`, fn);
  }
}

/** A short random tag for names: interface names must stay within 15 characters. */
/** True while process `pid` runs (a zombie is gone: it only waits for its parent to read its status). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export function tag(): string {
  return randomBytes(3).toString('hex');
}

/** `ip -j [-n NS] ARGS...` parsed. The kernel, asked through iproute2, is the oracle. */
export async function ipJson<T = any[]>(args: string[], ns?: string): Promise<T> {
  const r = await execa('ip', ['-j', ...(ns ? ['-n', ns] : []), ...args]);
  return JSON.parse(r.stdout || '[]') as T;
}

/** Runs a command inside a named namespace (tests only: the code under test never spawns). */
export function inNetns(ns: string, cmd: string[], opts: { reject?: boolean; timeout?: number } = {}) {
  return execa('ip', ['netns', 'exec', ns, ...cmd], { reject: opts.reject ?? true, timeout: opts.timeout ?? 10_000 });
}

/** One ICMP echo; true when answered. */
export async function ping(fromNs: string, to: string): Promise<boolean> {
  const r = await inNetns(fromNs, ['ping', '-c1', '-W1', '-n', '-q', to], { reject: false });
  return r.exitCode === 0;
}

/** Named namespaces now under /run/netns. */
export function netnsNames(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Each thread of this process and its network namespace, as /proc says. */
export function threadNamespaces(): { tid: string; ns: string }[] {
  const out: { tid: string; ns: string }[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.push({ tid, ns: readlinkSync(`/proc/self/task/${tid}/ns/net`) });
    } catch {
      // the thread exited between readdir and readlink
    }
  }
  return out;
}

/** Polls `check` until it returns true (netns teardown is asynchronous in the kernel). */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
