// The forwarder's pool of upstream sockets (upstream-sockets.ts): when a query
// gets a socket of its own and when it shares one, its id, rotation, and
// closing - against a fake kernel that records opens and closes.
import { describe, expect, test } from 'vitest';
import { POOL_MAX, POOL_USES, UpstreamSockets } from '../../src/dns/upstream-sockets.js';

function fakeIo() {
  let nextFd = 1024;
  const open = new Map<number, { upstream: string; token: number }>();
  const closed: number[] = [];
  return {
    open,
    closed,
    io: {
      open: (upstream: string, token: number) => {
        const fd = nextFd++;
        open.set(fd, { upstream, token });
        return fd;
      },
      close: (fd: number) => {
        if (!open.delete(fd)) throw new Error(`closed twice: ${fd}`);
        closed.push(fd);
      },
    },
  };
}

const U = '203.0.113.53';

describe('UpstreamSockets', () => {
  test('below the limit each query gets a socket of its own, closed once its query is done', () => {
    const k = fakeIo();
    const pool = new UpstreamSockets<string>(k.io, 4, 100);
    const a = pool.take(U, 'a');
    const b = pool.take(U, 'b');
    expect(a.sock.fd).not.toBe(b.sock.fd);
    expect(a.sock.token).not.toBe(b.sock.token);
    expect(pool.size).toBe(2);
    pool.release(a.sock, a.id);
    expect(k.closed).toEqual([a.sock.fd]);
    expect(pool.byToken(a.sock.token)).toBeUndefined();
    // The next query does not get the closed one's socket back.
    const c = pool.take(U, 'c');
    expect(c.sock.fd).not.toBe(a.sock.fd);
    expect(pool.stats).toEqual({ opened: 3, shared: 0 });
  });

  test('a full pool shares its sockets, chosen at random, with ids distinct on each socket', () => {
    const k = fakeIo();
    const pool = new UpstreamSockets<number>(k.io, 8, 10_000);
    const taken = Array.from({ length: 2000 }, (_, i) => pool.take(U, i));
    expect(pool.size).toBe(8);
    expect(k.open.size).toBe(8);
    expect(pool.stats).toEqual({ opened: 8, shared: 1992 });
    // Every socket got its share (random choice: 250 each on average).
    const per = new Map<number, number>();
    for (const t of taken) per.set(t.sock.fd, (per.get(t.sock.fd) ?? 0) + 1);
    for (const n of per.values()) expect(n).toBeGreaterThan(120);
    // Ids: distinct on a socket, spread over 16 bits.
    for (const fd of per.keys()) {
      const ids = taken.filter((t) => t.sock.fd === fd).map((t) => t.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const ids = taken.map((t) => t.id);
    expect(Math.max(...ids) - Math.min(...ids)).toBeGreaterThan(60_000);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThanOrEqual(0xffff);
    // Each query is found on its socket by its id.
    for (const [i, t] of taken.entries()) expect(t.sock.queries.get(t.id)).toBe(i);
  });

  test('an id already in flight on the socket is drawn again', () => {
    const k = fakeIo();
    const draws = [7, 0, 7, 7, 9]; // socket choice 0, then ids
    const pool = new UpstreamSockets<string>(k.io, 1, 100, () => draws.shift() ?? 1);
    const a = pool.take(U, 'a'); // opens: id 7
    const b = pool.take(U, 'b'); // shares (choice 0): 7 taken twice, then 9
    expect(a.sock).toBe(b.sock);
    expect([a.id, b.id]).toEqual([7, 9]);
  });

  test('idle sockets stay open only while the pool is full', () => {
    const k = fakeIo();
    const pool = new UpstreamSockets<number>(k.io, 4, 1000);
    const taken = Array.from({ length: 12 }, (_, i) => pool.take(U, i));
    expect(pool.size).toBe(4);
    // Release everything on one socket while 4+ are still in flight: it stays, idle.
    const s0 = taken[0]!.sock;
    const onS0 = taken.filter((t) => t.sock === s0);
    const others = taken.filter((t) => t.sock !== s0);
    expect(others.length).toBeGreaterThanOrEqual(4); // else this test could not tell
    for (const t of onS0) pool.release(t.sock, t.id);
    expect(k.open.has(s0.fd)).toBe(true);
    expect(s0.idle).toBe(true);
    // Fewer than 4 in flight: the idle ones close, then each socket with its last query.
    for (const t of others) pool.release(t.sock, t.id);
    expect(k.open.size).toBe(0);
    expect(pool.size).toBe(0);
  });

  test('a socket is rotated out after POOL_USES queries: no new query, closed with its last', () => {
    const k = fakeIo();
    const pool = new UpstreamSockets<number>(k.io, 1, 3);
    const t = [0, 1, 2].map((i) => pool.take(U, i));
    expect(new Set(t.map((x) => x.sock)).size).toBe(1);
    expect(t[0]!.sock.retired).toBe(true);
    const next = pool.take(U, 3);
    expect(next.sock).not.toBe(t[0]!.sock);
    for (const x of t) pool.release(x.sock, x.id);
    expect(k.closed).toEqual([t[0]!.sock.fd]);
    expect(POOL_USES).toBeGreaterThan(1);
    expect(POOL_MAX).toBeGreaterThan(1);
  });

  test('a refused socket takes no new query; upstreams have sockets of their own; close() closes all', () => {
    const k = fakeIo();
    const pool = new UpstreamSockets<string>(k.io, 1, 100);
    const a = pool.take(U, 'a');
    pool.retire(a.sock);
    const b = pool.take(U, 'b');
    expect(b.sock).not.toBe(a.sock);
    const c = pool.take('198.51.100.53', 'c');
    expect(c.sock).not.toBe(b.sock);
    expect(k.open.get(c.sock.fd)!.upstream).toBe('198.51.100.53');
    expect(k.open.size).toBe(3);
    pool.close();
    expect(k.open.size).toBe(0);
    expect(pool.size).toBe(0);
    // Releasing a query of a closed socket is harmless.
    pool.release(a.sock, a.id);
    expect(k.closed.length).toBe(3);
  });
});
