// `nsnet tour` as a user drives it: through a pseudo-terminal (util-linux
// `script` is the driver: what the test writes to its stdin is typed on the
// terminal, so "\r" is Enter and "\x03" is Ctrl-C), and on every way out -
// the end, `q`, Ctrl-C, SIGTERM, a failed check - it leaves no process and no
// namespace behind.
//
// Two ways of looking:
// - as a user runs it (`nsnet tour` starts its own sandbox): after it exits,
//   no process of that sandbox's PID namespace is left;
// - the tour's own cleanup, without the sandbox's PID namespace to kill what
//   it forgot: the tour runs inside a sandbox whose shell, after the tour
//   exits, lists every process, named namespace and tour directory still
//   there (LEFTOVER lines) before the sandbox ends.
//
// Processes are matched by /proc/PID/cmdline and by pid, never by ps's
// command name (Node 24 calls its main thread MainThread there).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { describeKernel, netnsNames } from '../helpers/kernel.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/nsnet.js');
const SANDBOX = path.join(ROOT, 'scripts/sandbox.sh');
const COLS = 72;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}
function pidns(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}
/** Every process below `pid`, from /proc/PID/task/TID/children (a detached process is still its parent's child). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      continue;
    }
    for (const k of kids) out.push(k, ...descendants(k));
  }
  return out;
}
const allPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
const isTour = (pid: number) => { const a = cmdline(pid); return a[1] === BIN && a[2] === 'tour'; };
/** The tour's DNS server: started as `node BIN --root /run/nsnet-tour-X dns`, it may retitle itself `nsnet dns --root ...`. */
const isDns = (pid: number) => { const c = cmdline(pid).join(' '); return /--root \/run\/nsnet-tour-\S+ dns\b|\bdns --root \/run\/nsnet-tour-/.test(c); };

interface Run {
  pid: number;
  /** Everything the terminal showed so far, without colours and carriage returns. */
  text: () => string;
  type: (s: string) => void;
  /** Resolves when `re` matches the terminal's text after `from`; the index after the match. */
  until: (re: RegExp, from?: number, ms?: number) => Promise<number>;
  /** Resolves when `fn` is true. */
  when: (fn: () => boolean, ms?: number) => Promise<void>;
  exit: Promise<number>;
  /** pid namespaces below us seen during the run, and the tour's DNS server pids. */
  seen: { pidns: Set<string>; dns: Set<number> };
}

/** Runs `shell` (a sh -c command) on a fresh pseudo-terminal of COLS columns. */
function onPty(shell: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn('script', ['-qfec', `stty cols ${COLS} rows 50; exec ${shell}`, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NSNET_IN_SANDBOX: '', NODE_EXTRA_CA_CERTS: '', TERM: 'xterm', ...env },
  });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  const mine = readlinkSync('/proc/self/ns/pid');
  const seen = { pidns: new Set<string>(), dns: new Set<number>() };
  const watch = setInterval(() => {
    for (const p of descendants(child.pid!)) {
      const ns = pidns(p);
      if (ns && ns !== mine) seen.pidns.add(ns);
      if (isDns(p)) seen.dns.add(p);
    }
  }, 50);
  const exit = new Promise<number>((resolve) => child.on('exit', (code, sig) => {
    clearInterval(watch);
    resolve(code ?? (sig ? 128 : -1));
  }));
  const text = () => strip(raw);
  const when = async (fn: () => boolean, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!fn()) {
      if (Date.now() > end) throw new Error(`timed out; the terminal shows:\n${text()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    pid: child.pid!,
    text,
    type: (s) => child.stdin.write(s),
    until: async (re, from = 0, ms = 60_000) => {
      let at = -1;
      await when(() => {
        const m = re.exec(text().slice(from));
        if (m) at = from + m.index + m[0].length;
        return !!m;
      }, ms);
      return at;
    },
    when,
    exit,
    seen,
  };
}

/** The user's way: `nsnet tour ARGS` starts its own sandbox. */
const asUser = (args: string) => onPty(`${q(process.execPath)} ${q(BIN)} tour ${args}`);

/**
 * The tour run inside a sandbox whose shell reports what is left once the tour
 * exits. The shell ignores the SIGTERM the sandbox passes on (the tour gets
 * its own signals) and exits with the tour's status.
 */
function withReport(args: string, env: NodeJS.ProcessEnv = {}): Run {
  const report = [
    "trap 'true' TERM",
    `${q(process.execPath)} ${q(BIN)} tour ${args}; st=$?`,
    'for p in /proc/[0-9]*; do n=${p#/proc/}; [[ $n == 1 || $n == $$ ]] && continue; a=(); mapfile -d "" a < "$p/cmdline" 2>/dev/null || continue; (( ${#a[@]} )) && echo "LEFTOVER process $n: ${a[*]}"; done',
    'for n in $(ip netns list | cut -d" " -f1); do echo "LEFTOVER netns $n"; done',
    'for d in /run/nsnet-tour-*; do [[ -e $d ]] && echo "LEFTOVER dir $d"; done',
    'echo "REPORT DONE"',
    'exit $st',
  ].join('\n');
  return onPty(`bash ${q(SANDBOX)} bash -c ${q(report)}`, env);
}

function leftovers(r: Run): string[] {
  expect(r.text()).toContain('REPORT DONE');
  return r.text().split('\n').filter((l) => l.startsWith('LEFTOVER'));
}

/** After a run as a user: no process of its sandbox's PID namespace (DNS server included) remains. */
function nothingOfItLeft(r: Run): void {
  expect(r.seen.pidns.size, 'the tour ran in a PID namespace of its own').toBeGreaterThan(0);
  const left = allPids().filter((p) => r.seen.pidns.has(pidns(p) ?? '') || r.seen.dns.has(p) && cmdline(p).length > 0);
  expect(left.map((p) => `${p}: ${cmdline(p).join(' ')}`)).toEqual([]);
}

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

describeKernel('nsnet tour on a terminal (kernel)', () => {
  test('--step with Enter after each step runs to the end: summary, exit 0, lines within the terminal, real names, state in every step', async () => {
    const before = netnsNames();
    const r = asUser('--step');
    let at = 0;
    for (let i = 1; i <= 5; i++) {
      at = await r.until(/\(Enter for the next step, q to quit\)/, at, 90_000);
      r.type('\r');
    }
    expect(await r.exit, r.text()).toBe(0);
    const text = r.text();
    expect(text).toContain('Every expectation met');
    expect(text).not.toMatch(/FAIL|✗/);
    // Every step ran, showed kernel state and asked for Enter once (none after the last).
    for (let i = 1; i <= 6; i++) expect(text).toMatch(new RegExp(`^${i}\\. `, 'm'));
    expect(text.split('What the kernel shows now:').length - 1).toBe(6);
    expect(text.split('(Enter for the next step').length - 1).toBe(5);
    // Real names only, and lines fit the terminal (the typed Enter echoes as an empty line).
    expect(text).not.toMatch(/XXXX|<12 hex>|br-<|\.\.\. ?$/m);
    expect(text).toMatch(/ip link add veth[0-9a-f]{7} master nsnet0/);
    expect(text).toMatch(/ip link add br-[0-9a-f]{12} type bridge/);
    const long = text.split('\n').filter((l) => l.length > COLS);
    expect(long).toEqual([]);
    nothingOfItLeft(r);
    expect(netnsNames()).toEqual(before);
  }, 240_000);

  test('Ctrl-C at a prompt, as a user runs it: exit 130, its sandbox and DNS server gone', async () => {
    const r = asUser('--step');
    let at = await r.until(/\(Enter for the next step/, 0, 90_000);
    r.type('\r');
    await r.until(/\(Enter for the next step/, at, 90_000);
    expect(r.seen.dns.size, 'the DNS server runs').toBeGreaterThan(0);
    r.type('\x03');
    expect(await r.exit, r.text()).toBe(130);
    expect(r.text()).toContain('Stopped by SIGINT at step 2 of 6; everything the tour made is removed.');
    nothingOfItLeft(r);
  }, 240_000);

  test('the end: nothing left by the tour itself', async () => {
    const r = withReport('');
    expect(await r.exit, r.text()).toBe(0);
    expect(r.text()).toContain('Every expectation met');
    expect(r.seen.dns.size).toBeGreaterThan(0);
    expect(leftovers(r)).toEqual([]);
  }, 240_000);

  test('q at the first prompt: exit 0, stopped, nothing left', async () => {
    const r = withReport('--step');
    await r.until(/\(Enter for the next step/, 0, 90_000);
    r.type('q\r');
    expect(await r.exit, r.text()).toBe(0);
    expect(r.text()).toContain('Stopped at step 1 of 6; everything the tour made is removed.');
    expect(r.text()).not.toMatch(/^2\. /m);
    expect(leftovers(r)).toEqual([]);
  }, 240_000);

  test('Ctrl-C while step 2 runs, its DNS server up: exit 130, nothing left', async () => {
    const r = withReport('--step');
    const at = await r.until(/\(Enter for the next step/, 0, 90_000);
    r.type('\r');
    // Step 2 under way: its title printed and web2's command running (web's, db's and web2's sleep).
    // (Ctrl-C flushes what was typed but not yet read: it must come after the tour took the Enter.)
    await r.until(/^2\. A user-defined network/m, at);
    await r.when(() => descendants(r.pid).filter((p) => /(^|\/)sleep 3600$/.test(cmdline(p).join(' '))).length >= 3);
    expect(r.seen.dns.size, 'the DNS server runs').toBeGreaterThan(0);
    r.type('\x03');
    expect(await r.exit, r.text()).toBe(130);
    expect(r.text()).toMatch(/Stopped by SIGINT at step 2 of 6/);
    expect(leftovers(r)).toEqual([]);
  }, 240_000);

  test('SIGTERM to the tour at a prompt: exit 143, nothing left', async () => {
    const r = withReport('--step');
    const at = await r.until(/\(Enter for the next step/, 0, 90_000);
    r.type('\r');
    await r.until(/\(Enter for the next step/, at, 90_000);
    const tours = descendants(r.pid).filter(isTour);
    expect(tours).toHaveLength(1);
    process.kill(tours[0]!, 'SIGTERM');
    expect(await r.exit, r.text()).toBe(143);
    expect(r.text()).toContain('Stopped by SIGTERM at step 2 of 6');
    expect(leftovers(r)).toEqual([]);
  }, 240_000);

  test('a failed check (ping broken on purpose): exit 1, the failure shown, nothing left', async () => {
    // A `ping` that always fails, first on PATH: the tour's own check of step 1 fails, as it would on a broken network.
    const dir = mkdtempSync(path.join(tmpdir(), 'nsnet-tour-ping-'));
    tmp.push(dir);
    writeFileSync(path.join(dir, 'ping'), '#!/bin/sh\necho "ping: broken by the test" >&2\nexit 1\n');
    chmodSync(path.join(dir, 'ping'), 0o755);
    const r = withReport('', { PATH: `${dir}:${process.env.PATH}` });
    expect(await r.exit, r.text()).toBe(1);
    expect(r.text()).toMatch(/FAIL web pings db by address|✗ web pings db by address/);
    expect(r.text()).toContain('Some expectations were NOT met');
    expect(leftovers(r)).toEqual([]);
  }, 240_000);
});
