// Damaged state (issue 11, item 4): each kind of damage (truncated, empty,
// binary garbage, valid JSON of the wrong shape, deleted) applied to each
// kind of state file (networks.json, a sandbox record, an IPAM bitmap, a port
// claim). The next commands either work or stop with an error naming the
// file - never a raw JSON error, never a silent reset - and no address is
// ever handed out twice, as the kernel sees it (the IPv4 addresses on every
// sandbox's eth interfaces). Then reconcileState brings the state back.
//
// One fake machine per damaged file, the damage kinds in turn on it; the four
// machines run side by side.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { Context } from '../../src/docker/context.js';
import { processStart } from '../../src/docker/proc.js';
import { reconcileState } from '../../src/docker/reconcile-state.js';
import { netnsOpen } from '../../src/kernel/netns.js';
import { bitmapAddresses, bitmapHeader, decodeBitmap } from '../../src/state/bitmap.js';
import { describeKernel, ipJson, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

type Target = 'networks.json' | 'record' | 'bitmap' | 'port claim';
type Damage = 'truncated' | 'empty' | 'binary' | 'wrong shape' | 'deleted';
const DAMAGES: Damage[] = ['truncated', 'empty', 'binary', 'wrong shape', 'deleted'];
const PORT = 18080;

function damage(file: string, kind: Damage, target: Target): void {
  const text = readFileSync(file);
  if (kind === 'truncated') writeFileSync(file, text.subarray(0, Math.floor(text.length / 2)));
  if (kind === 'empty') writeFileSync(file, '');
  if (kind === 'binary') writeFileSync(file, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x1b, 0x7f, 0x00, 0x10, 0x20]));
  // Valid JSON of the wrong shape; for a bitmap, a well-formed but empty one in the old headerless format.
  if (kind === 'wrong shape') writeFileSync(file, target === 'bitmap' ? Buffer.alloc(32) : target === 'networks.json' ? '{"networks":"all of them"}' : '[{"oops":true}]');
  if (kind === 'deleted') rmSync(file);
}

/** The IPv4 addresses on the eth interfaces of every sandbox namespace of this host, as the kernel has them. */
async function kernelAddresses(h: TestHost): Promise<string[]> {
  const out: string[] = [];
  for (const ns of readdirSync('/run/netns').filter((n) => n.endsWith(h.tag) && n !== h.name)) {
    const links = await ipJson<any[]>(['-4', 'addr'], ns).catch(() => []);
    for (const l of links) if (String(l.ifname).startsWith('eth')) for (const a of l.addr_info ?? []) out.push(a.local);
  }
  return out.sort();
}

async function expectNoDuplicates(h: TestHost, why: string): Promise<string[]> {
  const addrs = await kernelAddresses(h);
  expect(addrs.filter((a, i) => addrs.indexOf(a) !== i), `duplicate addresses ${why}: ${addrs.join(' ')}`).toEqual([]);
  return addrs;
}

/** Nothing nsnet prints may be a raw JSON or JS error; a complaint about a file always names it. */
function expectClean(h: TestHost, r: { stderr: string }): void {
  expect(r.stderr).not.toMatch(/is not a function|Cannot read properties|TypeError|SyntaxError|at .*\.js:\d+/);
  for (const line of r.stderr.split('\n')) if (/JSON|damaged|wrong shape|empty|cut short|binary/i.test(line)) expect(line, r.stderr).toContain(h.root);
}

/** Every file under a directory and its content: a dry run must leave it as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    try {
      out[f] = readFileSync(p).toString('base64');
    } catch {
      // a directory
    }
  }
  return out;
}

/** Every bitmap holds exactly the addresses the records hold. */
function expectBitmapsMatchRecords(h: TestHost): void {
  const run = path.join(h.root, 'run');
  const records = readdirSync(path.join(run, 'sandboxes')).filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(run, 'sandboxes', f), 'utf8')));
  for (const f of readdirSync(path.join(run, 'ipam')).filter((x) => x.endsWith('.bits'))) {
    const id = f.slice(0, -5);
    const buf = readFileSync(path.join(run, 'ipam', f));
    const hd = bitmapHeader(buf)!;
    const bm = decodeBitmap(buf, hd);
    expect(bm.problem, f).toBeUndefined();
    const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    const want = records.flatMap((r) => r.endpoints.filter((e: any) => e.networkId === id).map((e: any) => e.ip)).sort();
    expect(bitmapAddresses(bm.bitmap!).map(toIp).sort(), f).toEqual(want);
  }
}

async function contextFor(h: TestHost): Promise<Context> {
  return { host: await netnsOpen({ name: h.name }), dirs: { dataDir: path.join(h.root, 'lib'), runDir: path.join(h.root, 'run') }, etcNetns: h.etc, warn: () => {} };
}

interface Machine {
  h: TestHost;
  target: Target;
  net: string;
  netId: string;
  net2: string;
  net2Id: string;
  subnet: string;
  b: string;
}

/** The fake machine of one target: a network (two for the bitmap target) and a sandbox b with a static address. */
async function machine(target: Target): Promise<Machine> {
  const h = await TestHost.make(tag());
  const net = `n-${h.tag}`;
  const net2 = `m-${h.tag}`;
  const subnet = `10.${60 + ['networks.json', 'record', 'bitmap', 'port claim'].indexOf(target)}.${Number.parseInt(h.tag.slice(0, 2), 16)}`;
  const netId = await h.ok(['network', 'create', '--subnet', `${subnet}.0/24`, net]);
  const net2Id = await h.ok(['network', 'create', '--subnet', `${subnet.replace(/^10\./, '10.1')}.0/24`, net2]);
  const b = h.sb('b');
  await h.ok(['create', '--name', b, '--network', net, '--ip', `${subnet}.9`]);
  if (target === 'bitmap') await h.ok(['network', 'connect', net2, b]); // two endpoints in one record
  return { h, target, net, netId, net2, net2Id, subnet, b };
}

/** One damage kind on the machine's target file: the commands after it, then reconcileState. */
async function oneCase(m: Machine, kind: Damage, i: number): Promise<void> {
  const { h, target, net, net2, b } = m;
  const [a, c, d] = ['a', 'c', 'd'].map((x) => h.sb(`${x}${i}`));
  const run = path.join(h.root, 'run');
  await h.ok(['create', '--name', a!, '--network', net, '-p', `${PORT}:80`]);
  await expectNoDuplicates(h, `before damage ${i}`);
  const file = {
    'networks.json': path.join(h.root, 'lib', 'networks.json'),
    record: path.join(run, 'sandboxes', `${a}.json`),
    bitmap: path.join(run, 'ipam', `${m.netId}.bits`),
    'port claim': path.join(run, 'ports', `tcp-${PORT}.json`),
  }[target];
  damage(file, kind, target);
  if (target === 'bitmap') damage(path.join(run, 'ipam', `${m.net2Id}.bits`), kind, target);
  const label = `${target} ${kind}`;
  const t0 = Date.now();
  const step = (what: string) => process.env.DAMAGE_TRACE && console.log(`${label}: ${what} at ${Date.now() - t0} ms`);

  // ps -a works; a damaged (or vanished) record is listed as damaged.
  step('ps');
  const ps = await h.nsnet(['ps', '-a', '--format', 'json']);
  expect(ps.code, `${label}: ps -a: ${ps.stderr}`).toBe(0);
  expectClean(h, ps);
  const rows = ps.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const rowA = rows.find((r) => r.Names === a);
  // With networks.json damaged, ps works and says how to recover.
  if (target === 'networks.json') expect(ps.stderr, label).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}: .*nsnet system reconcile`));
  if (target === 'record') {
    expect(rowA, label).toMatchObject({ State: 'damaged', Status: `Damaged (see nsnet inspect ${a})` });
    expect(rowA.Problem, label).toContain(file);
  } else {
    expect(rowA?.State, label).toBe('created');
  }

  // inspect: a damaged record is reported with its path, non-zero; with networks.json damaged, inspect still works.
  if (target === 'record' || target === 'networks.json') {
    step('inspect');
    const ins = await h.nsnet(['inspect', a!]);
    expectClean(h, ins);
    if (target === 'record') {
      expect(ins.code, label).toBe(1);
      expect(ins.stderr, label).toContain(file);
    } else {
      expect(ins.code, `${label}: inspect: ${ins.stderr}`).toBe(0);
    }
  }

  // New sandboxes on the damaged network: never an address in use; a damaged networks.json stops them by name.
  step('create');
  const cr = await h.nsnet(['create', '--name', c!, '--network', net]);
  expectClean(h, cr);
  if (target === 'networks.json') {
    expect(cr.code, label).toBe(1);
    expect(cr.stderr, label).toContain(file);
    expect(cr.stderr, label).toContain('nsnet system reconcile');
  } else {
    expect(cr.code, `${label}: create: ${cr.stderr}`).toBe(0);
    if (target === 'bitmap') {
      expect(cr.stderr, label).toContain(file); // rebuilt, and said so
      await h.ok(['create', '--name', d!, '--network', net2]);
    }
  }
  await expectNoDuplicates(h, `after creating on a damaged ${label}`);

  // network rm: refused while sandboxes use it, naming them (a damaged record too); with networks.json damaged, an error naming it.
  if (target === 'record' || target === 'networks.json') {
    step('network rm');
    const nr = await h.nsnet(['network', 'rm', net]);
    expect(nr.code, label).toBe(1);
    expectClean(h, nr);
    if (target === 'networks.json') expect(nr.stderr, label).toContain(file);
    else expect(nr.stderr, label).toMatch(new RegExp(`active endpoints \\(.*${b}.*${a} \\(its record .* is damaged`));
  }

  // rm -f works on every sandbox, damaged or not.
  step('rm -f');
  const rm = await h.nsnet(['rm', '-f', a!]);
  expect(rm.code, `${label}: rm -f: ${rm.stderr}`).toBe(0);
  expectClean(h, rm);
  expect(existsSync(`/run/netns/${a}`), label).toBe(false);
  expect(existsSync(path.join(h.etc, a!)), label).toBe(false);
  expect(existsSync(path.join(run, 'sandboxes', `${a}.json`)), label).toBe(false);

  // reconcileState: a consistent state again; a dry run changes nothing; a second run finds nothing to do.
  step('reconcile');
  const ctx = await contextFor(h);
  try {
    const before = snapshot(h.root);
    const dry = await reconcileState(ctx, { dryRun: true });
    expect(snapshot(h.root), `${label}: a dry run changes nothing`).toEqual(before);
    // The command users run: the state's repairs (as the dry run listed them), then the firewall's, if any.
    const out = await h.ok(['system', 'reconcile']);
    const repaired = out.split('\n').filter((l) => l.startsWith('repaired: ') && !l.includes('nftables tables'));
    expect(repaired.length, `${label}: ${out}`).toBe(dry.repaired.length);
    if (target === 'networks.json') {
      expect(out, label).toContain(file);
      if (kind !== 'deleted') expect(readdirSync(path.dirname(file)).some((f) => f.startsWith('networks.json.damaged-')), label).toBe(true);
    }
    expect(await h.ok(['system', 'reconcile']), `${label}: a second reconcile finds nothing to do`).toBe('nothing to repair');
  } finally {
    await ctx.host.close();
  }
  expectBitmapsMatchRecords(h);
  step('after reconcile');
  const extra = [c!, d!].filter((x) => existsSync(path.join(run, 'sandboxes', `${x}.json`)));
  if (extra.length) await h.ok(['rm', '-f', ...extra]);
  expectBitmapsMatchRecords(h);
}

describeKernel('damaged state files (kernel)', () => {
  test.concurrent.each<Target>(['networks.json', 'record', 'bitmap', 'port claim'])('%s: truncated, empty, binary, wrong shape, deleted', async (target) => {
    const m = await machine(target);
    try {
      for (const [i, kind] of DAMAGES.entries()) await oneCase(m, kind, i);
      // The network is known again (by the name its sandbox gave it), takes new sandboxes, and goes when empty.
      const e = m.h.sb('e');
      await m.h.ok(['create', '--name', e, '--network', m.net]);
      await expectNoDuplicates(m.h, `after the last reconcile (${target})`);
      expectBitmapsMatchRecords(m.h);
      await m.h.ok(['rm', '-f', m.b, e]);
      await m.h.ok(['network', 'rm', m.net, m.net2Id]); // by id: with networks.json lost, its name may not be recoverable
      expect(await m.h.ok(['ps', '-aq'])).toBe('');
    } finally {
      await m.h.cleanup();
    }
  }, 180_000);
});

describeKernel('creates whose process died (kernel)', () => {
  test('the next command undoes a create whose process is gone, and leaves one in progress alone', async () => {
    const h = await TestHost.make(tag());
    try {
      const net = `n-${h.tag}`;
      const [x, y] = [h.sb('x'), h.sb('y')];
      await h.ok(['network', 'create', '--subnet', '10.59.0.0/24', net]);
      await h.ok(['create', '--name', x, '--network', net, '-p', `${PORT + 1}:80`]);
      await h.ok(['create', '--name', y, '--network', net]);
      const run = path.join(h.root, 'run');
      // x: left "creating" by a process that has exited; y: "creating" by this (live) process.
      const dead = spawnSync('true').pid!;
      const creating = (name: string, by: { pid: number; start: string }) => {
        const file = path.join(run, 'sandboxes', `${name}.json`);
        writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), status: 'creating', createdBy: by }));
        mkdirSync(path.join(run, 'creating'), { recursive: true });
        writeFileSync(path.join(run, 'creating', name), JSON.stringify(by));
      };
      creating(x, { pid: dead, start: '1' });
      creating(y, { pid: process.pid, start: processStart(process.pid)! });
      const ps = await h.nsnet(['ps', '-a', '--format', 'json']);
      expect(ps.code, ps.stderr).toBe(0);
      expect(ps.stderr).toMatch(new RegExp(`sandbox ${x} was left half-created by process ${dead}, which is gone; undid it`));
      expect(ps.stdout).not.toContain(x);
      expect(ps.stdout).toContain(y);
      for (const gone of [`/run/netns/${x}`, path.join(h.etc, x), path.join(run, 'sandboxes', `${x}.json`), path.join(run, 'creating', x), path.join(run, 'ports', `tcp-${PORT + 1}.json`)]) {
        expect(existsSync(gone), gone).toBe(false);
      }
      expect(existsSync(path.join(run, 'creating', y))).toBe(true);
      expectBitmapsMatchRecords(h);
      // Its address is free again, and handed out once.
      await h.ok(['create', '--name', h.sb('z'), '--network', net]);
      await expectNoDuplicates(h, 'after undoing a dead create');
      await h.ok(['rm', '-f', y]);
      expect(existsSync(path.join(run, 'creating', y))).toBe(false);
    } finally {
      await h.cleanup();
    }
  }, 60_000);
});
