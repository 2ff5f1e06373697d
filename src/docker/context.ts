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
  /** nsnet's daemon.json (daemon-config.ts), read when the built-in networks are made; absent: no config. */
  configFile?: string;
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
  /**
   * With scratchState: the real state's run directory, where the log and
   * exit files of sandboxes' processes are (plans name those, not the copy's).
   */
  realRunDir?: string;
  /**
   * What a dry run has shown being made ("tables", "bridge br-x"): the kernel
   * does not change, so a long plan (compose up) would otherwise show it again.
   */
  planned?: Set<string>;
  /** Warnings for the user (Docker prints them on stderr). */
  warn: (message: string) => void;
  /**
   * This process lives on after an operation answers (the CNI server): a
   * removal may answer before its `deferrable` undos are done, which run
   * after it (removals.ts).
   */
  deferRemovals?: boolean;
  /**
   * A firewall watcher in this process (the DNS server's, firewall-watch.ts)
   * puts nsnet's tables back as soon as they are flushed: the locked sections
   * skip their own check of the tables (a netlink round trip that waits
   * behind the kernel's other work, such as a veth being deleted).
   */
  tablesWatched?: boolean;
  /**
   * The cluster store overlay networks are kept in (etcd://...), and where it
   * was configured; absent: single-host only. Opened on first use (cluster.ts).
   */
  clusterStore?: { url: string; from: string };
  /**
   * This host's underlay address for overlay networks (an IPv4 address or an
   * interface name), as Docker's --cluster-advertise: NSNET_CLUSTER_ADVERTISE,
   * else "cluster-advertise" in daemon.json, else found (overlay-host.ts).
   */
  clusterAdvertise?: { value: string; from: string };
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

/** In a dry run, notes that `what` was shown made, so later plans of the same run leave it out (shownBefore). */
export function remember(ctx: Context, what: string): void {
  if (ctx.dryRun) (ctx.planned ??= new Set()).add(what);
}

/**
 * For plans that would make `what`: true when a dry run already showed it
 * made (leave it out); otherwise false, remembered in a dry run from now on.
 */
export function shownBefore(ctx: Context, what: string): boolean {
  if (ctx.dryRun && ctx.planned?.has(what)) return true;
  remember(ctx, what);
  return false;
}

export interface ContextOptions {
  /** Where NSNET_DATA_DIR, NSNET_RUN_DIR and NSNET_ETC_NETNS are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The state under this directory (`lib/`, `run/`), as `nsnet --root DIR`; default: from env, else /var/lib/nsnet and /run/nsnet. */
  root?: string;
  /** The state directories themselves (overrides env and root). */
  dirs?: StoreDirs;
  /** Default: NSNET_ETC_NETNS, else /etc/netns. */
  etcNetns?: string;
  observe?: StepObserver;
  /** Default: a line on stderr. */
  warn?: (m: string) => void;
  /** The embedded DNS server's client, or a function making it for the context's state directories. */
  dns?: Context['dns'] | ((dirs: StoreDirs) => Context['dns']);
  /** Default: NSNET_CLUSTER_STORE, else none. */
  clusterStore?: { url: string; from: string };
  /** An open handle of the host namespace to use (a process serving many calls keeps one); default: opened here. Its owner closes it. */
  host?: Netns;
  /** Default: NSNET_CLUSTER_ADVERTISE, else none. */
  clusterAdvertise?: { value: string; from: string };
}

/**
 * A context for the machine nsnet runs on: the process's own namespace is the
 * host. The one place the defaults live; the CLI builds its context here too.
 */
export async function openContext(o: ContextOptions = {}): Promise<Context> {
  const { netnsSelf } = await import('../kernel/netns.js');
  const { defaultDirs } = await import('../state/store.js');
  const env = o.env ?? process.env;
  const dirs = o.dirs ?? defaultDirs(env, o.root);
  const { daemonConfigPath } = await import('./daemon-config.js');
  const dns = typeof o.dns === 'function' ? o.dns(dirs) : o.dns;
  const clusterStore = o.clusterStore ?? (env.NSNET_CLUSTER_STORE ? { url: env.NSNET_CLUSTER_STORE, from: 'NSNET_CLUSTER_STORE' } : undefined);
  const clusterAdvertise = o.clusterAdvertise ?? (env.NSNET_CLUSTER_ADVERTISE ? { value: env.NSNET_CLUSTER_ADVERTISE, from: 'NSNET_CLUSTER_ADVERTISE' } : undefined);
  return {
    host: o.host ?? await netnsSelf(),
    dirs,
    etcNetns: o.etcNetns ?? (env.NSNET_ETC_NETNS || '/etc/netns'),
    configFile: daemonConfigPath(env, o.root),
    warn: o.warn ?? ((m) => process.stderr.write(`${m}\n`)),
    ...(o.observe && { observe: o.observe }),
    ...(dns && { dns }),
    ...(clusterStore && { clusterStore }),
    ...(clusterAdvertise && { clusterAdvertise }),
  };
}
