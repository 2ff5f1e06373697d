// The control connection: the kept one (control.ts requestKept), where
// requests take turns on one connection and one the server closed is
// replaced; and the one-shot one a CLI call makes through the addon (request).
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { request, requestKept, START_WAIT_MAX_MS, START_WAIT_MS, startWait, supervisorLockPath, tryLock } from '../../src/dns/control.js';
import { testDir } from '../helpers/temp-dir.js';

let server: net.Server | undefined;
afterEach(() => server?.close());

/** A fake DNS server: answers each line with {ok, n} (n counts requests); `once` closes after each answer, as older servers did. */
function fake(once: boolean) {
  const runDir = testDir('nsnet-ctl-');
  const stats = { connections: 0, requests: 0 };
  server = net.createServer((c) => {
    stats.connections++;
    let buf = '';
    c.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        buf = buf.slice(nl + 1);
        if (c.writableEnded) return; // an older server reads no more after its answer
        stats.requests++;
        const reply = `${JSON.stringify({ ok: true, attached: stats.requests })}\n`;
        if (once) c.end(reply);
        else c.write(reply);
      }
    });
  });
  return new Promise<{ dirs: { dataDir: string; runDir: string }; stats: typeof stats }>((resolve) =>
    server!.listen(path.join(runDir, 'dns.sock'), () => resolve({ dirs: { dataDir: runDir, runDir }, stats })));
}

test('one connection for many requests, answered in order, even when sent at once', async () => {
  const { dirs, stats } = await fake(false);
  const replies = await Promise.all(Array.from({ length: 5 }, () => requestKept(dirs, { op: 'ping' })));
  expect(replies.map((r) => r.attached)).toEqual([1, 2, 3, 4, 5]);
  expect((await requestKept(dirs, { op: 'ping' })).attached).toBe(6);
  expect(stats.connections).toBe(1);
});

test('a server that closes after each answer still answers every request', async () => {
  const { dirs, stats } = await fake(true);
  for (let i = 1; i <= 4; i++) expect((await requestKept(dirs, { op: 'sync' })).ok).toBe(true);
  await new Promise((r) => setTimeout(r, 20));
  expect(stats.requests).toBe(4);
});

test('no server: the error says so (ENOENT), for syncDns to start one', async () => {
  const runDir = testDir('nsnet-ctl-');
  await expect(requestKept({ dataDir: runDir, runDir }, { op: 'ping' })).rejects.toMatchObject({ code: 'ENOENT' });
});

/** A server that does `behave` with each connection. */
function rawServer(behave: (c: net.Socket) => void) {
  const runDir = testDir('nsnet-ctl-');
  server = net.createServer(behave);
  return new Promise<{ dataDir: string; runDir: string }>((resolve) => server!.listen(path.join(runDir, 'dns.sock'), () => resolve({ dataDir: runDir, runDir })));
}

test('one-shot request (through the addon): the reply line, also when it comes in pieces', async () => {
  const { dirs, stats } = await fake(true);
  expect(await request(dirs, { op: 'ping' })).toEqual({ ok: true, attached: 1 });
  expect(stats.connections).toBe(1);
  const pieces = await rawServer((c) => c.once('data', () => {
    c.write('{"ok":tr');
    setTimeout(() => c.end('ue,"attached":7}\n{"ignored":1}\n'), 20);
  }));
  expect(await request(pieces, { op: 'ping' })).toEqual({ ok: true, attached: 7 });
});

test('one-shot request: no server, a server that never answers, one that hangs up', async () => {
  const none = { dataDir: '/nonexistent', runDir: testDir('nsnet-ctl-') };
  await expect(request(none, { op: 'ping' })).rejects.toMatchObject({ code: 'ENOENT' });
  const silent = await rawServer(() => {});
  await expect(request(silent, { op: 'ping' }, 100)).rejects.toThrow('the DNS server did not answer within 100 ms');
  server?.close();
  const rude = await rawServer((c) => c.once('data', () => c.end()));
  await expect(request(rude, { op: 'ping' })).rejects.toMatchObject({ code: 'ECONNRESET' });
});

test('a command waits for a server it started: 5 s, then while a supervisor holds its lock, up to the cap', async () => {
  const runDir = testDir('nsnet-wait-');
  const dirs = { dataDir: runDir, runDir };
  const now = Date.now();
  expect(await startWait(dirs, now)).toBe(true);
  // Past 5 s, no supervisor (no lock file, then a lock file nobody holds): done waiting.
  expect(await startWait(dirs, now - START_WAIT_MS - 1)).toBe(false);
  const fd = openSync(supervisorLockPath(dirs), 'a');
  expect(await startWait(dirs, now - START_WAIT_MS - 1)).toBe(false);
  // A live supervisor (its lock held: here by this process, through another open file): keep waiting...
  expect(await tryLock(fd)).toBe(true);
  try {
    expect(await startWait(dirs, now - START_WAIT_MS - 1)).toBe(true);
    // ...but not forever.
    expect(await startWait(dirs, now - START_WAIT_MAX_MS)).toBe(false);
  } finally {
    closeSync(fd);
  }
  expect(await startWait(dirs, now - START_WAIT_MS - 1)).toBe(false);
});
