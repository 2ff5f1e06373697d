// The server's end of the control socket (<runDir>/dns.sock; the CLI's end
// and the protocol are in control.ts): one JSON request per line, one reply
// line each, in order; a client may keep the connection for further requests
// (control.ts requestKept).
//
//   echo '{"op":"ping"}' | socat - UNIX-CONNECT:/run/nsnet/dns.sock
import net from 'node:net';
import { listenPrivate } from '../kernel/unix-listen.js';
import type { ControlReply, ControlRequest } from './control.js';

/** Answers one request; `stop: true` asks the owner to stop the server once the reply is sent. */
export type ControlHandler = (req: ControlRequest) => Promise<ControlReply & { stop?: boolean }>;

/** A request line longer than this is not one: the connection is closed. */
const MAX_LINE = 4096;

/**
 * Listens on `file` (replacing a stale socket left by a crash), mode 0600.
 * `onError`: errors after listening (they must not end the process).
 */
export async function listenControl(file: string, handle: ControlHandler, onStop: () => void, onError: (e: Error) => void): Promise<net.Server> {
  const server = net.createServer((c) => serveConnection(c, handle, onStop, onError));
  await listenPrivate(server, file);
  server.on('error', onError);
  return server;
}

function serveConnection(c: net.Socket, handle: ControlHandler, onStop: () => void, onError: (e: Error) => void): void {
  let buf = '';
  let turn: Promise<void> = Promise.resolve();
  c.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      turn = turn
        .then(() => answer(line, handle))
        .then(({ stop, ...reply }) => {
          if (!c.destroyed) c.write(`${JSON.stringify(reply)}\n`);
          if (stop) onStop();
        })
        .catch((e: Error) => onError(e)); // a broken turn must not end the process (unhandled rejection)
    }
    if (buf.length > MAX_LINE) c.destroy();
  });
  c.on('error', () => {});
}

async function answer(line: string, handle: ControlHandler): Promise<ControlReply & { stop?: boolean }> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: 'bad request' };
  }
  try {
    return await handle(req);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
