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

/**
 * The mark that /etc/netns/NAME was made by nsnet: an empty file
 * /etc/netns/.nsnet/NAME. Beside the directory, not in it: `ip netns exec`
 * bind-mounts every entry of /etc/netns/NAME over /etc/ENTRY and complains
 * about one /etc lacks. After a reboot, only marked directories are removed
 * (boot.ts), so a user's own /etc/netns/foo is never touched.
 */
export function sandboxEtcMark(etcNetns: string, netns: string): string {
  return path.join(etcNetns, MARKS_DIR, netns);
}

/** Sandbox names start with a letter or digit, so no sandbox's directory can be this one. */
export const MARKS_DIR = '.nsnet';

/** Writes the files (each atomically: temp + rename; small and local, so synchronously). */
export async function writeSandboxFiles(etcNetns: string, netns: string, files: Record<SandboxFile, string>): Promise<void> {
  const dir = sandboxEtcDir(etcNetns, netns);
  // The mark first: a crash right after leaves a mark without a directory (harmless), never the reverse.
  const mark = sandboxEtcMark(etcNetns, netns);
  try {
    writeFileSync(mark, '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(path.dirname(mark), { recursive: true, mode: 0o755 });
    writeFileSync(mark, '');
  }
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
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    if (code !== 'ENOENT') rmSync(dir, { recursive: true, force: true }); // something else in there (a temp file left by a crash)
  }
  rmSync(sandboxEtcMark(etcNetns, netns), { force: true });
}

/** [source, target] bind mounts for a process in the sandbox. */
export function sandboxBinds(etcNetns: string, netns: string): [string, string][] {
  const dir = sandboxEtcDir(etcNetns, netns);
  return SANDBOX_FILES.map((f) => [path.join(dir, f), `/etc/${f}`]);
}
