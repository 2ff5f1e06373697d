// `nsnet dns`: the embedded DNS server and what runs it. Loaded by main.ts
// without the Docker layer (run.ts): a restarted server answers sooner, and
// the supervisor loads not even the server.
//
//   nsnet dns                   the server, in the foreground (server.ts)
//   nsnet dns --supervise       the supervisor the CLI starts on demand (supervise.ts)
//   nsnet dns --install-unit    the systemd unit instead (unit.ts)
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Command, Handler, Io } from './dispatch.js';
import { defaultDirs, type StoreDirs } from '../state/store.js';
import { DNS_LOCK_BUSY_STATUS, lockPath, pidPath, request, tryLock, type ControlReply, type DnsManager } from '../dns/control.js';
import type { DnsServer } from '../dns/server.js';
import type { CniListener } from './cni-serve.js';
import { dnsHealth } from '../dns/health.js';
import { clusterStoreSetting } from './cluster-config.js';

export const dnsCommand: Handler<'dns'> = async (p, io) => {
  const root = p.global.root;
  const dirs = defaultDirs(io.env, root);
  if (p.flags['install-unit']) return installUnit(p, io);
  if (p.flags.supervise) {
    const { supervise } = await import('../dns/supervise.js');
    process.title = `nsnet dns (supervisor)${root ? ` --root ${root}` : ''}`;
    // The server: this same command line without --supervise.
    const argv = process.argv.slice(1).filter((a) => a !== '--supervise');
    return supervise({ dirs, argv, env: io.env, log: (l) => io.err(l) });
  }
  return runServer(dirs, p.flags.debug, io, root);
};

/** `nsnet dns --install-unit [--unit-dir DIR]`. */
async function installUnit(p: Command<'dns'>, io: Io): Promise<number> {
  const { installUnit: install } = await import('../dns/unit.js');
  const root = p.global.root && path.resolve(p.global.root);
  try {
    const file = await install(p.flags['unit-dir'], { node: process.execPath, bin: path.resolve(process.argv[1]!), ...(root && { root }), env: io.env });
    io.out(`wrote ${file}\nnext: systemctl daemon-reload && systemctl enable --now nsnet-dns`);
    io.out('(a DNS server nsnet started on demand hands over to the unit\'s when it starts)');
    return 0;
  } catch (e) {
    io.err(`Error: writing the systemd unit: ${(e as Error).message}`);
    return 1;
  }
}

/**
 * The server, in the foreground, until SIGTERM/SIGINT or a `stop` request.
 * NSNET_DNS_MANAGER says who runs it (the supervisor, systemd), for the CLI's
 * health check. Under the supervisor, a server that finds another one
 * serving is the standby: it waits for that one's lock, and serves when it dies.
 */
async function runServer(dirs: StoreDirs, debug: boolean, io: Io, root: string | undefined): Promise<number> {
  const m = io.env.NSNET_DNS_MANAGER;
  const manager: DnsManager = m === 'supervisor' || m === 'systemd' ? m : 'foreground';
  const title = (s: string) => (process.title = `nsnet dns${s}${root ? ` --root ${root}` : ''}`);
  const log = (l: string) => io.err(`${new Date().toISOString()} ${l}`);
  title('');
  let waiting = false;
  let signalled!: () => void;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (sig: NodeJS.Signals) => {
    if (!waiting) return signalled(); // listening from the start: a SIGTERM while attaching still stops cleanly
    // Waiting for the lock holds a pool thread that process.exit would wait for: end at once (nothing to clean).
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (manager === 'systemd') await takeOver(dirs, io);
  // Loaded before any wait: a standby takes over in the time an attach takes.
  const [{ DnsServer }, { openContext }, { native }] = await Promise.all([import('../dns/server.js'), import('../docker/context.js'), import('../native.js')]);
  let lockFd: number | undefined;
  if (manager === 'supervisor') {
    mkdirSync(dirs.runDir, { recursive: true });
    lockFd = openSync(lockPath(dirs), 'a', 0o600);
    if (!(await tryLock(lockFd))) {
      title(' (standby)');
      waiting = true;
      // Our supervisor gone, a standby has nothing to wait for (the next nsnet command starts a new pair).
      const parent = process.ppid;
      const orphan = setInterval(() => process.ppid !== parent && onSignal('SIGTERM'), 1000);
      await native().flock(lockFd, { mode: 'exclusive', wait: true });
      clearInterval(orphan);
      waiting = false;
      // The server before us let go of the lock: after a clean stop (no dns.pid left), stop too.
      if (!existsSync(pidPath(dirs))) {
        closeSync(lockFd);
        return 0;
      }
      title('');
      log('standby: the server before died; taking over');
    }
  }
  // The cluster store, as the CLI finds it (flag: passed on as NSNET_CLUSTER_STORE): its watcher runs here.
  const clusterStore = clusterStoreSetting(undefined, io.env, root);
  const ctx = await openContext({ env: io.env, dirs, warn: (w) => io.err(w), ...(clusterStore && { clusterStore }) });
  const host = ctx.host;
  const server = new DnsServer(ctx,
    { debug, manager, log: (l) => io.err(l), ...(lockFd !== undefined && { lockFd }) });
  try {
    await server.start();
  } catch (e) {
    await host.close();
    if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
    io.err(`Error: ${(e as Error).message}`);
    return DNS_LOCK_BUSY_STATUS;
  }
  // CNI calls forwarded by the native plugin run here (cni-serve.ts); DNS serves on without them if this fails.
  const cni = await serveCni(server, dirs, io.env, (l) => io.err(`${new Date().toISOString()} ${l}`));
  // The host namespace stays open while serving: the firewall watcher and its repairs work there.
  await Promise.race([signal, server.stopRequested]);
  cni?.close();
  await cni?.drain();
  await server.stop();
  await host.close();
  return 0;
}

/** Listens for the native CNI plugin's calls, with this process's server as their DNS client. */
async function serveCni(server: DnsServer, dirs: StoreDirs, env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<CniListener | undefined> {
  const check = (r: ControlReply) => {
    if (!r.ok) throw new Error(`DNS server: ${r.error}`);
  };
  try {
    const { listenCni } = await import('./cni-serve.js');
    return await listenCni({
      dirs, env, log,
      // The server started its firewall watcher (start() fails without it).
      tablesWatched: true,
      dns: { sync: async (_start, ids) => check(await server.sync(ids)), release: async (ids) => check(await server.sync(ids, true)) },
    });
  } catch (e) {
    log(`cni: not serving CNI calls (the plugin runs them in Node): ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * The unit's server replaces one nsnet started on demand (installing the
 * unit and `systemctl enable --now` should just work): it asks that server
 * to stop, which ends its supervisor too, and waits for its lock.
 */
async function takeOver(dirs: StoreDirs, io: Io): Promise<void> {
  const h = await dnsHealth(dirs);
  if (h.state !== 'up' || h.manager !== 'supervisor') return;
  io.err('taking over from the DNS server nsnet started on demand');
  await request(dirs, { op: 'stop' }, 5000).catch(() => {});
  for (let i = 0; i < 250 && (await dnsHealth(dirs)).state === 'up'; i++) await new Promise((r) => setTimeout(r, 20));
}
