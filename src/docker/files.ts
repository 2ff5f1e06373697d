// A sandbox's /etc/resolv.conf, /etc/hosts and /etc/hostname, kept where
// iproute2 looks for them: /etc/netns/NAME/. `ip netns exec NAME` bind-mounts
// each file there over its /etc counterpart, and so does nsnet when it starts
// a process in the sandbox, so both see the same files.
//
//   ip netns exec web cat /etc/resolv.conf
import { mkdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SANDBOX_FILES = ['resolv.conf', 'hosts', 'hostname'] as const;
export type SandboxFile = (typeof SANDBOX_FILES)[number];

export function sandboxEtcDir(etcNetns: string, netns: string): string {
  return path.join(etcNetns, netns);
}

/** Writes the files (each atomically: temp + rename; small and local, so synchronously). */
export async function writeSandboxFiles(etcNetns: string, netns: string, files: Record<SandboxFile, string>): Promise<void> {
  const dir = sandboxEtcDir(etcNetns, netns);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const name of SANDBOX_FILES) {
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, files[name], { mode: 0o644 });
    renameSync(tmp, path.join(dir, name));
  }
}

export async function removeSandboxFiles(etcNetns: string, netns: string): Promise<void> {
  const dir = sandboxEtcDir(etcNetns, netns);
  // The three files and the directory: four syscalls, where a recursive rm walks the tree first.
  for (const name of SANDBOX_FILES) rmSync(path.join(dir, name), { force: true });
  try {
    rmdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    rmSync(dir, { recursive: true, force: true }); // something else in there (a temp file left by a crash)
  }
}

/** [source, target] bind mounts for a process in the sandbox. */
export function sandboxBinds(etcNetns: string, netns: string): [string, string][] {
  const dir = sandboxEtcDir(etcNetns, netns);
  return SANDBOX_FILES.map((f) => [path.join(dir, f), `/etc/${f}`]);
}
