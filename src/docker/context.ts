// What every Docker-layer operation needs: the host's namespace (where
// bridges, veth host ends and the firewall live), the state directories,
// and an optional observer that sees each setup step before it runs.
import type { Netns } from '../kernel/netns.js';
import type { StoreDirs } from '../state/store.js';
import type { StepObserver } from './plan.js';

export interface Context {
  host: Netns;
  dirs: StoreDirs;
  /** Where per-sandbox resolv.conf/hosts/hostname live: /etc/netns (iproute2's convention). */
  etcNetns: string;
  observe?: StepObserver;
  /**
   * Plan only: every step is shown to `observe` (which prints its equivalent
   * commands) and none is carried out; nothing is written to the state.
   */
  dryRun?: boolean;
  /**
   * With dryRun, for plans that span several operations (`compose up --dry-run`):
   * the state is a scratch copy, and is written, so that each operation sees
   * what the ones before it planned. The kernel is still left alone.
   */
  scratchState?: boolean;
  /** Set once a dry run has shown the nftables skeleton, so a long plan shows it once. */
  plannedTables?: boolean;
  /** Warnings for the user (Docker prints them on stderr). */
  warn: (message: string) => void;
  /**
   * Tells the embedded DNS server that sandboxes changed and waits for it
   * (`start`: launch it if it isn't running). Absent: no embedded DNS.
   */
  dns?: {
    sync(start: boolean, ids?: string[]): Promise<void>;
    /**
     * Optional: tells the server these sandboxes are being removed, before
     * their records are (it lets go of their sockets and names at once, while
     * the rest of the removal runs). Without it, rm syncs after the fact.
     */
    release?(ids: string[]): Promise<void>;
    /** The shell command that does what sync (gone: false) or release (gone: true) asks, for plans. */
    command?(ids: string[], gone: boolean): string;
  };
}

/** A context for the machine nsnet runs on: the process's own namespace is the host. */
export async function openContext(o: { dirs?: StoreDirs; etcNetns?: string; observe?: StepObserver; warn?: (m: string) => void; dns?: Context['dns'] } = {}): Promise<Context> {
  const { netnsSelf } = await import('../kernel/netns.js');
  const { defaultDirs } = await import('../state/store.js');
  return {
    host: await netnsSelf(),
    dirs: o.dirs ?? defaultDirs(),
    etcNetns: o.etcNetns ?? process.env.NSNET_ETC_NETNS ?? '/etc/netns',
    warn: o.warn ?? ((m) => process.stderr.write(`${m}\n`)),
    ...(o.observe && { observe: o.observe }),
    ...(o.dns && { dns: o.dns }),
  };
}
