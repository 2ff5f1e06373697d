// The embedded DNS server inside the library's own process, as Docker runs
// its resolver inside dockerd: for a container runtime that uses nsnet as a
// library and lives as long as its sandboxes do.
//
//   const ctx = await openContext();
//   const dns = await inProcessDns(ctx);   // ctx.dns is now this process's server
//   await sandboxCreate(ctx, { name: 'web', network: 'mynet' });
//   ...
//   await dns.stop();                      // sandboxes' names stop resolving until a server runs again
//
// What it saves, per sandbox: the control round trip to the `nsnet dns`
// process, and that process's turn on the CPU. The server is the same one
// (server.ts): it takes the same single-instance lock and opens the same
// control socket, so `nsnet` CLI calls on this host sync with it too.
//
// It never ends the host process: a server that can't start rejects (another
// one holds the lock: DnsLockBusyError, code EBUSY), a failed sync rejects the
// nsnet call that asked for it, and a failure while stopping on a client's
// request goes to `onError`.
import type { Context } from '../docker/context.js';
import type { ControlReply } from './control.js';
import { DnsServer } from './server.js';

export interface InProcessDns {
  server: DnsServer;
  /** Detaches from every sandbox, closes the control socket and lets go of the lock. */
  stop(): Promise<void>;
}

function check(r: ControlReply): void {
  if (!r.ok) throw new Error(`DNS server: ${r.error}`);
}

/** Starts the DNS server in this process and points `ctx.dns` at it. */
export async function inProcessDns(ctx: Context, o: { log?: (line: string) => void; onError?: (e: Error) => void } = {}): Promise<InProcessDns> {
  const server = new DnsServer(ctx, { ...(o.log && { log: o.log }) });
  await server.start();
  const previous = ctx.dns;
  ctx.dns = {
    sync: async (_start, ids) => check(await server.sync(ids)),
    release: async (ids) => check(await server.sync(ids, true)),
  };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await server.stop();
    if (previous) ctx.dns = previous;
    else delete ctx.dns;
  })());
  // `{"op":"stop"}` on the control socket stops the server, never this process.
  void server.stopRequested.then(stop).catch((e: Error) => (o.onError ?? ((x: Error) => o.log?.(`DNS server: stopping: ${x.message}`)))(e));
  return { server, stop };
}
