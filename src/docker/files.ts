// A sandbox's /etc/resolv.conf, /etc/hosts and /etc/hostname, kept where
// iproute2 looks for them: /etc/netns/NAME/. `ip netns exec NAME` bind-mounts
// each file there over its /etc counterpart, and so does nsnet when it starts
// a process in the sandbox, so both see the same files.
//
//   ip netns exec web cat /etc/resolv.conf
import { mkdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sandboxHosts } from '../etc/hosts.js';
import { parseResolvConf } from '../etc/resolv-conf.js';
import { sandboxResolvConf } from '../etc/sandbox-resolv-conf.js';
import type { Context } from './context.js';
import { hostResolvConf } from './host.js';
import type { Step } from './plan.js';
import type { SandboxRecord, State } from './types.js';

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

/** What writeSandboxFiles does, as shell commands. */
export function writeSandboxFilesCommand(etcNetns: string, netns: string, files: Record<SandboxFile, string>): string[] {
  const dir = sandboxEtcDir(etcNetns, netns);
  return [`mkdir -p ${path.dirname(sandboxEtcMark(etcNetns, netns))} && touch ${sandboxEtcMark(etcNetns, netns)}  # marks ${dir} as nsnet's`,
    `mkdir -p ${dir}`, ...SANDBOX_FILES.map((f) => `cat > ${dir}/${f} <<'EOF'\n${files[f]}EOF`)];
}

/** What removeSandboxFiles does, as a shell command. */
export function removeSandboxFilesCommand(etcNetns: string, netns: string): string {
  return `rm -rf ${sandboxEtcDir(etcNetns, netns)} ${sandboxEtcMark(etcNetns, netns)}`;
}

export type SandboxFiles = Record<SandboxFile, string>;

/**
 * The step that writes a sandbox's files, undone by removing them. `files`
 * is what the step writes: absent when the plan is only for its removal.
 */
export function filesStep(ctx: Context, netns: string, files: SandboxFiles | undefined): Step {
  const dir = sandboxEtcDir(ctx.etcNetns, netns);
  return {
    title: `writing ${dir}/{resolv.conf,hosts,hostname}`,
    equivalent: files ? writeSandboxFilesCommand(ctx.etcNetns, netns, files) : [],
    do: () => writeSandboxFiles(ctx.etcNetns, netns, files!),
    // Plain file writes on this thread, done while the namespace is being made on another.
    overlap: true,
    undo: {
      title: `removing ${dir}`,
      equivalent: [removeSandboxFilesCommand(ctx.etcNetns, netns)],
      do: () => removeSandboxFiles(ctx.etcNetns, netns),
    },
  };
}

/** The step that rewrites a live sandbox's files (its networks changed). */
export function rewriteFilesStep(ctx: Context, netns: string, files: SandboxFiles): Step {
  const dir = sandboxEtcDir(ctx.etcNetns, netns);
  return {
    title: `rewriting ${dir}/{resolv.conf,hosts,hostname}`,
    equivalent: SANDBOX_FILES.map((f) => `cat > ${dir}/${f} <<'EOF'\n${files[f]}EOF`),
    do: () => writeSandboxFiles(ctx.etcNetns, netns, files),
  };
}

/** Renders the sandbox's resolv.conf, hosts and hostname (under the lock: links name other sandboxes). */
export async function renderFiles(s: State, sb: SandboxRecord): Promise<SandboxFiles> {
  const firstNet = sb.endpoints[0] && s.networks.find((n) => n.id === sb.endpoints[0]!.networkId);
  const mode = sb.mode === 'none' ? 'none' : firstNet?.defaultBridge ? 'default-bridge' : 'user-network';
  const host = parseResolvConf(await hostResolvConf());
  const links = [];
  // Docker writes /etc/hosts entries for links only on the default bridge; on a
  // user-defined network a link is an alias the embedded DNS answers for this sandbox.
  for (const l of mode === 'default-bridge' ? sb.links : []) {
    const target = await s.sandboxes.get(l.name);
    if (target?.endpoints[0]) links.push({ name: l.name, alias: l.alias, ip: target.endpoints[0].ip, hostname: target.hostname });
  }
  return {
    'resolv.conf': sandboxResolvConf({ host, mode, dns: sb.dns, dnsSearch: sb.dnsSearch, dnsOptions: sb.dnsOptions }),
    hosts: sandboxHosts({ hostname: sb.hostname, addresses: sb.endpoints.filter((e) => !e.gwbridge).map((e) => e.ip), links, extra: sb.extraHosts, ipv6: false }),
    hostname: `${sb.hostname}\n`,
  };
}

/** [source, target] bind mounts for a process in the sandbox. */
export function sandboxBinds(etcNetns: string, netns: string): [string, string][] {
  const dir = sandboxEtcDir(etcNetns, netns);
  return SANDBOX_FILES.map((f) => [path.join(dir, f), `/etc/${f}`]);
}
