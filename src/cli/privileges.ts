// Does this process hold what nsnet needs? Namespaces (setns, unshare, mount)
// need CAP_SYS_ADMIN; links, addresses, routes and nftables need CAP_NET_ADMIN.
// Root has both. Asked once at start, from the process's effective capability
// set (`CapEff:` in /proc/self/status, a hex mask of capability bits), so a
// user without them gets one clear sentence rather than the first failure's
// raw EACCES on /run/nsnet/lock. One small read: ~0.05 ms (docs/cli.md).
import { readFileSync } from 'node:fs';

/** Capability numbers, from linux/capability.h. */
export const NEEDED_CAPS = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21 } as const;

/** The needed capabilities missing from a /proc/PID/status text (all of them if CapEff can't be read). */
export function missingCaps(status: string): string[] {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  const eff = m ? BigInt(`0x${m[1]}`) : 0n;
  return Object.entries(NEEDED_CAPS).filter(([, bit]) => !(eff & (1n << BigInt(bit)))).map(([name]) => name);
}

/** The needed capabilities this process lacks; [] when it has them (or /proc can't tell: then the kernel will). */
export function missingPrivileges(): string[] {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return [];
  }
  return missingCaps(status);
}
