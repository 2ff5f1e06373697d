// What every command that works on networks and sandboxes does around its own
// work: open the Docker layer's Context (openContext, the one place its
// defaults live), clean up after sandboxes that vanished (start of day),
// bring back a DNS server that was killed, and for --dry-run or NSNET_TRACE=1
// print the plan's steps (step-printer.ts); then close the host namespace.
import { openContext, type Context } from '../docker/context.js';
import { startOfDay } from '../docker/boot.js';
import { closeClusterStore } from '../docker/cluster.js';
import { releaseDns, requestCommand, syncDns } from '../dns/control.js';
import { reviveDns } from '../dns/health.js';
import type { StoreDirs } from '../state/store.js';
import type { CommandName } from './commands.js';
import { clusterStoreSetting } from './cluster-config.js';
import { DRY_RUN } from './commands/flags.js';
import type { Command, Handler, Io } from './dispatch.js';
import { printStep } from './step-printer.js';

/** The DNS server is this same program, `nsnet dns`, started detached on first need under its supervisor. */
export const dnsArgv = (root: string | undefined) => [process.argv[1]!, ...(root ? ['--root', root] : []), 'dns', '--supervise'];

/** The CLI's client of the embedded DNS server: one connection per request (a CLI call makes one or two, and node:net would cost more to load than they take). */
export function dnsClient(env: NodeJS.ProcessEnv, argv: string[]): (dirs: StoreDirs) => Context['dns'] {
  return (dirs) => ({
    sync: (start, ids) => syncDns(dirs, { start, argv, env, kept: false, ...(ids && { ids }) }),
    release: (ids) => releaseDns(dirs, ids, { kept: false }),
    command: (ids, gone) => requestCommand(dirs, { op: 'sync', ids, ...(gone && { gone }) }),
  });
}

/** Whether the command was given --dry-run (only commands that declare it can be). */
function dryRunOf(flags: object): boolean {
  return (flags as Record<string, unknown>)[DRY_RUN.long] === true;
}

/** A handler that works in a Context: `body` gets it open, and it is closed after. */
export function withContext<N extends CommandName>(body: (ctx: Context, cmd: Command<N>, io: Io) => Promise<number>): Handler<N> {
  return async (cmd, io) => {
    const root = cmd.global.root;
    const clusterStore = clusterStoreSetting(cmd.global.clusterStore, io.env, root);
    const ctx = await openContext({
      ...(clusterStore && { clusterStore }),
      env: io.env,
      ...(root !== undefined && { root }),
      warn: (m) => io.err(m),
      // The DNS server (which follows the cluster store) is told of a --cluster-store given here.
      dns: dnsClient(clusterStore?.from === '--cluster-store' ? { ...io.env, NSNET_CLUSTER_STORE: clusterStore.url } : io.env, dnsArgv(root)),
      ...(io.env.NSNET_TRACE === '1' && { observe: printStep(io.err) }),
    });
    for (const n of await startOfDay(ctx)) if (cmd.global.debug) io.err(`nsnet: start of day: removed ${ctx.etcNetns}/${n} (sandbox gone)`);
    const dryRun = dryRunOf(cmd.flags);
    // A DNS server that should run but was killed comes back before the command's own work (control.ts).
    if (!dryRun) await reviveDns(ctx.dirs, { argv: dnsArgv(root), env: io.env, warn: ctx.warn });
    if (dryRun) {
      // The plan, as the commands that would do the same by hand; nothing changes.
      ctx.dryRun = true;
      ctx.observe = printStep(io.out);
    }
    try {
      return await body(ctx, cmd, io);
    } finally {
      closeClusterStore(ctx);
      await ctx.host.close();
    }
  };
}
