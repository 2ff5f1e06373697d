// A Unix socket only root can reach, whatever the umask: the DNS server's
// control socket and the CNI socket. bind(2) (inside listen()) makes the
// socket file with mode 0777 & ~umask, so listening under umask 0177 makes it
// 0600 from its first instant; the chmod after is for file systems that
// ignore the umask on sockets. A socket file left by a killed process is
// replaced: callers hold the lock that says they are the one server.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import type net from 'node:net';

/** Listens on `file` with mode 0600; resolves once listening, rejects with listen's error. */
export async function listenPrivate(server: net.Server, file: string): Promise<void> {
  if (existsSync(file)) unlinkSync(file);
  const umask = process.umask(0o177);
  try {
    server.listen(file);
  } finally {
    process.umask(umask);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    server.once('error', reject);
  });
  chmodSync(file, 0o600);
}
