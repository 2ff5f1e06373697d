// nftTableGet (one table's attributes, one netlink request) and nftMonitor
// (`nft monitor`'s events): what nsnet needs to notice a flushed ruleset or a
// deleted table and to check cheaply which instance of its table is there.
// `nft` itself, run in the test's namespace, makes the changes and is the oracle.
import { execa } from 'execa';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { KernelError, isNotFound, netnsAdd, netnsDel, nftApply, nftList, nftMonitor, nftTableGet, type Netns, type NftEvent } from '../../src/index.js';
import { describeKernel, eventually, inNetns, tag } from '../helpers/kernel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let t: string;
let ns: Netns;
let other: Netns | undefined;

beforeEach(async () => {
  t = tag();
  ns = await netnsAdd(`nm-${t}`);
});
afterEach(async () => {
  await netnsDel(ns).catch(() => {});
  if (other) await netnsDel(other).catch(() => {});
  other = undefined;
});

const nft = (n: Netns, ...args: string[]) => inNetns(n.name!, ['nft', ...args]);

/** A monitor that records each event with its arrival time. */
async function watch(n: Netns, o: { rcvbuf?: number } = {}) {
  const got: (NftEvent & { at: number })[] = [];
  let batches = 0;
  const mon = await nftMonitor(n, (evs) => {
    batches++;
    const at = performance.now();
    for (const e of evs) got.push({ ...e, at });
  }, o);
  const until = (pred: (e: NftEvent) => boolean, what: string, ms = 2000) =>
    eventually(() => got.some(pred), ms, what).then(() => got.find(pred)!);
  return { got, mon, until, batches: () => batches };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const count = (dir: string) => readdirSync(dir).length;
/** The names (comm) of this process's threads; one may exit between readdir and read. */
const threadNames = () => readdirSync('/proc/self/task').flatMap((tid) => {
  try {
    return [readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()];
  } catch {
    return [];
  }
});

describeKernel('nftables: table get and monitor (kernel)', () => {
  test('nftTableGet of a missing table: ENOENT naming the table', async () => {
    const e = await nftTableGet(ns, 'ip', `none${t}`).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'ENOENT', errno: -2, op: 'NFT_MSG_GETTABLE' });
    expect(isNotFound(e)).toBe(true);
    expect((e as KernelError).message).toBe(`reading nftables table ip none${t} in netns nm-${t}: ENOENT (No such file or directory)`);
    // The same name in another family is another table.
    await nft(ns, 'add', 'table', 'inet', 'x');
    await expect(nftTableGet(ns, 'ip', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('nftTableGet reads the comment nft wrote and the handle nft -a shows; a recreated table has a new handle', async () => {
    await nft(ns, 'add', 'table', 'ip', 't', '{ comment "hello"; }');
    await nft(ns, 'add', 'table', 'inet', 'plain');
    await nftApply(ns, 'add chain ip t c; add set ip t s { type ipv4_addr; }');
    const got = await nftTableGet(ns, 'ip', 't');
    const listed = JSON.parse((await nft(ns, '-j', 'list', 'tables')).stdout).nftables
      .filter((o: any) => o.table).map((o: any) => o.table);
    const oracle = listed.find((x: any) => x.family === 'ip' && x.name === 't');
    expect(got).toEqual({ handle: String(oracle.handle), use: 2, flags: 0, comment: 'hello' });
    const plain = await nftTableGet(ns, 'inet', 'plain');
    expect(plain.comment).toBeUndefined();
    expect(plain.handle).toBe(String(listed.find((x: any) => x.name === 'plain').handle));

    await nft(ns, 'delete', 'table', 'ip', 't');
    await nft(ns, 'add', 'table', 'ip', 't', '{ comment "gen-2"; }');
    const again = await nftTableGet(ns, 'ip', 't');
    expect(again.handle).not.toBe(got.handle);
    expect(again).toMatchObject({ use: 0, comment: 'gen-2' });
    // A dormant table shows its flag (NFT_TABLE_F_DORMANT = 1).
    await nft(ns, 'add', 'table', 'ip', 'd', '{ flags dormant; }');
    expect((await nftTableGet(ns, 'ip', 'd')).flags & 1).toBe(1);
  });

  test('nftTableGet does not grow with the elements a table holds; nft list table does (median of 1000 calls)', async () => {
    await nftApply(ns, 'add table ip nsnet; add set ip nsnet s { type ipv4_addr; }');
    const time = async (n: number, f: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await f();
        xs.push(performance.now() - s);
      }
      return median(xs);
    };
    const getEmpty = await time(1000, () => nftTableGet(ns, 'ip', 'nsnet'));
    const elems = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).join(', ');
    await nftApply(ns, `add element ip nsnet s { ${elems} }`);
    expect((await nftList(ns, 'set ip nsnet s')).split(',').length).toBeGreaterThanOrEqual(1000);
    const get = await time(1000, () => nftTableGet(ns, 'ip', 'nsnet'));
    const list = await time(1000, () => nftList(ns, 'table ip nsnet'));
    console.log(`nftTableGet median ${get.toFixed(3)} ms (empty table ${getEmpty.toFixed(3)} ms); nftList('table ip nsnet') with 1000 elements ${list.toFixed(3)} ms`);
    expect(get).toBeLessThan(list / 5);
    expect(get).toBeLessThan(Math.max(getEmpty * 3, 0.5));
  }, 60_000);

  test('the monitor sees `nft flush ruleset` and `nft delete table` as deltable within a second', async () => {
    await nftApply(ns, 'add table ip nsnet; add chain ip nsnet c; add table inet other');
    const w = await watch(ns);
    let s = performance.now();
    await nft(ns, 'flush', 'ruleset');
    const flushed = await w.until((e) => e.type === 'deltable' && e.table === 'nsnet', 'deltable nsnet after flush');
    const tFlush = (flushed as { at: number }).at - s;
    expect(w.got.some((e) => e.type === 'deltable' && e.table === 'other' && e.family === 'inet')).toBe(true);
    expect(w.got.some((e) => e.type === 'delchain' && e.table === 'nsnet')).toBe(true);
    const gen = await w.until((e) => e.type === 'newgen', 'newgen');
    expect(gen).toMatchObject({ family: 'unspec', comm: 'nft' });
    expect(gen.gen).toBeGreaterThan(0);

    await nftApply(ns, 'add table ip nsnet');
    await w.until((e) => e.type === 'newtable' && e.table === 'nsnet', 'newtable nsnet');
    const before = w.got.length;
    s = performance.now();
    await nft(ns, 'delete', 'table', 'ip', 'nsnet');
    const deleted = await w.until((e) => w.got.indexOf(e as any) >= before && e.type === 'deltable' && e.table === 'nsnet', 'deltable after delete table');
    const tDelete = (deleted as { at: number }).at - s;
    // The same flush committed in-process: what the watcher itself adds, without a child process.
    await nftApply(ns, 'add table ip nsnet');
    await w.until((e) => w.got.filter((x) => x.type === 'newtable' && x.table === 'nsnet').length === 2, 'newtable nsnet again');
    const mark = w.got.length;
    s = performance.now();
    await nftApply(ns, 'flush ruleset');
    const inProc = await w.until((e) => w.got.indexOf(e as any) >= mark && e.type === 'deltable', 'deltable after an in-process flush');
    const tInProc = (inProc as { at: number }).at - s;
    // Measured from the start of the `nft` child process (`ip netns exec` + nft: tens of ms on a busy machine).
    console.log(`deltable arrived ${tFlush.toFixed(1)} ms after \`nft flush ruleset\` started, ${tDelete.toFixed(1)} ms after \`nft delete table\`, ${tInProc.toFixed(2)} ms after an in-process flush`);
    expect(tFlush).toBeLessThan(1000);
    expect(tDelete).toBeLessThan(1000);
    expect(tInProc).toBeLessThan(1000);
    w.mon.close();
  });

  test('the monitor sees set elements come and go, with their table', async () => {
    await nftApply(ns, 'add table ip nsnet; add set ip nsnet s { type ipv4_addr; }');
    const w = await watch(ns);
    await nft(ns, 'add', 'element', 'ip', 'nsnet', 's', '{ 192.0.2.7 }');
    await w.until((e) => e.type === 'newsetelem', 'newsetelem');
    await nftApply(ns, 'delete element ip nsnet s { 192.0.2.7 }');
    await w.until((e) => e.type === 'delsetelem', 'delsetelem');
    expect(w.got.filter((e) => e.type.endsWith('setelem'))).toEqual([
      expect.objectContaining({ type: 'newsetelem', family: 'ip', table: 'nsnet' }),
      expect.objectContaining({ type: 'delsetelem', family: 'ip', table: 'nsnet' }),
    ]);
    // newgen names who committed: `nft` for the first, for the second the name of the thread that
    // did the commit, a throwaway one named as the thread that started it: a libuv pool thread,
    // whose name depends on the Node version ('node', 'libuv-worker'), so one of this process's.
    const gens = w.got.filter((e) => e.type === 'newgen');
    expect(gens[0]!.comm).toBe('nft');
    expect(gens).toHaveLength(2);
    expect(threadNames()).toContain(gens[1]!.comm);
    expect(gens[1]!.gen).toBeGreaterThan(gens[0]!.gen!);
    w.mon.close();
  });

  test('events are per namespace: changes in another namespace are not seen', async () => {
    other = await netnsAdd(`no-${t}`);
    const w = await watch(ns);
    await nft(other, 'add', 'table', 'ip', 'elsewhere');
    await nft(other, 'flush', 'ruleset');
    // A change here afterwards proves the watcher was listening all along.
    await nft(ns, 'add', 'table', 'ip', 'here');
    await w.until((e) => e.type === 'newtable' && e.table === 'here', 'newtable here');
    await sleep(100);
    expect(w.got.filter((e) => e.table !== undefined).map((e) => `${e.type} ${e.table}`)).toEqual(['newtable here']);
    w.mon.close();
  });

  test('an overrun (ENOBUFS) is reported as { type: "overrun" } and the monitor keeps working', async () => {
    // A tiny receive buffer and one transaction of 5000 elements, whose events
    // the kernel sends at commit. On two CPUs the reader thread keeps up, so
    // the overrun runs in a child pinned to one CPU (taskset): there the
    // committing thread and the reader share it and the kernel must drop.
    const script = `
      const a = require(${JSON.stringify(path.join(root, 'build/Release/nsnet.node'))});
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const elems = Array.from({ length: 5000 }, (_, i) => '10.' + (i >> 8) + '.' + (i & 255) + '.2').join(', ');
      (async () => {
        const h = await a.netnsOpen({ name: ${JSON.stringify(ns.name)} });
        await a.nftApply(h.fd, 'add table ip nsnet; add set ip nsnet s { type ipv4_addr; }');
        const got = [];
        const m = await a.nftMonitor(h.fd, (b) => got.push(...b), { rcvbuf: 1024 });
        let tries = 0;
        for (; tries < 5 && !got.some((e) => e.type === 'overrun'); tries++) {
          await a.nftApply(h.fd, 'add element ip nsnet s { ' + elems + ' }');
          await sleep(200);
          await a.nftApply(h.fd, 'flush set ip nsnet s');
          await sleep(100);
        }
        const at = got.findIndex((e) => e.type === 'overrun');
        await a.nftApply(h.fd, 'delete table ip nsnet');
        for (let i = 0; i < 100 && !got.slice(at).some((e) => e.type === 'deltable'); i++) await sleep(20);
        m.close();
        console.log(JSON.stringify({ at, tries, elems: got.filter((e) => e.type.endsWith('setelem')).length, after: got.slice(at).filter((e) => e.table) }));
      })();`;
    const r = JSON.parse((await execa('taskset', ['-c', '0', 'node', '-e', script], { timeout: 20_000 })).stdout);
    expect(r.at).toBeGreaterThanOrEqual(0);
    expect(r.elems).toBeLessThan(r.tries * 2 * 5000); // some of the elements' events were dropped
    expect(r.after).toContainEqual({ type: 'deltable', family: 'ip', table: 'nsnet' });
  });

  test('close() stops delivery at once, even with events already queued; closing twice is harmless', async () => {
    const w = await watch(ns);
    await nft(ns, 'add', 'table', 'ip', 'a');
    await w.until((e) => e.type === 'newtable', 'newtable a');
    // Events committed just before close(): whatever was not delivered yet is dropped.
    await nftApply(ns, 'add table ip b');
    w.mon.close();
    const n = w.got.length;
    w.mon.close();
    await nft(ns, 'add', 'table', 'ip', 'c');
    await sleep(200);
    expect(w.got.length).toBe(n);
    expect(w.got.some((e) => e.table === 'c')).toBe(false);
    // close() from inside the callback works too.
    let calls = 0;
    const m = await nftMonitor(ns, () => {
      calls++;
      m.close();
    });
    await nftApply(ns, 'add table ip d');
    await eventually(() => calls > 0, 2000, 'a first batch');
    await nftApply(ns, 'add table ip e');
    await sleep(200);
    expect(calls).toBe(1);
  });

  test('opening and closing 100 monitors leaves no fd and no thread behind', async () => {
    const warm = await nftMonitor(ns, () => {});
    warm.close();
    const fds = count('/proc/self/fd');
    const tasks = count('/proc/self/task');
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      const m = await nftMonitor(ns, (evs) => seen.push(evs.length));
      if (i % 10 === 0) {
        // Some of them hear an event before closing, so their queues are used too.
        await nftApply(ns, `add table ip t${i}`);
        await eventually(() => seen.length > 0, 2000, 'an event');
        seen.length = 0;
      }
      m.close();
    }
    expect(count('/proc/self/fd')).toBe(fds);
    await eventually(() => count('/proc/self/task') === tasks, 2000, `threads back to ${tasks}`);
  });

  test('the monitor does not keep the event loop alive unless ref()ed', async () => {
    const script = (ref: boolean) => `
      const a = require(${JSON.stringify(path.join(root, 'build/Release/nsnet.node'))});
      a.netnsOpen({ name: ${JSON.stringify(ns.name)} }).then((h) => a.nftMonitor(h.fd, () => {})).then((m) => {
        ${ref ? 'm.ref();' : ''} console.log('watching');
      });`;
    const s = performance.now();
    const free = await execa('node', ['-e', script(false)], { timeout: 10_000 });
    expect(free.stdout).toBe('watching');
    expect(performance.now() - s).toBeLessThan(5000);

    const held = execa('node', ['-e', script(true)], { reject: false });
    await eventually(() => held.pid !== undefined, 2000, 'child started');
    await sleep(1500);
    expect(held.exitCode).toBeNull(); // still running: ref() holds the loop
    held.kill('SIGTERM');
    const r = await held;
    expect(r.stdout).toBe('watching');
    expect(r.signal).toBe('SIGTERM');
  });
});
