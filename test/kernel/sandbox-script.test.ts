// scripts/sandbox.sh: nothing started inside outlives it - a `nsnet dns`
// server (started detached by the first sandbox on a user-defined network)
// and a sandbox's command included - and a SIGTERM sent to the script
// reaches the command. Processes are found by their pid namespace in /proc,
// never by name.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/nsnet.js');
const SANDBOX = path.join(ROOT, 'scripts/sandbox.sh');
const env = { ...process.env, NSNET_IN_SANDBOX: '' }; // a sandbox of its own, nested in the test sandbox

function inPidns(ns: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) === ns) out.push(`${d}: ${readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describeKernel('scripts/sandbox.sh (kernel)', () => {
  test('a detached nsnet dns server and a sandbox command die with the sandbox, every time', async () => {
    for (let i = 0; i < 4; i++) {
      const script = [
        'set -e',
        'readlink /proc/self/ns/pid',
        `node ${BIN} network create tnet >/dev/null`,
        `node ${BIN} run -d --name t1 --network tnet sleep 1000 >/dev/null`,
        // The DNS server runs (it answers inside t1), detached in a session of its own.
        'for n in $(seq 50); do ip netns exec t1 getent hosts t1 >/dev/null && break; sleep 0.1; done',
        'ip netns exec t1 getent hosts t1 >/dev/null',
        // Count it (this shell and PID 1 carry this script's text: not them).
        'n=0; for p in /proc/[0-9]*; do [[ ${p#/proc/} == 1 || ${p#/proc/} == $$ ]] && continue; a=(); mapfile -d "" a < "$p/cmdline" 2>/dev/null || continue; [[ "${a[*]}" == *nsnet*" dns"* ]] && n=$((n+1)); done; echo "DNS: $n"',
      ].join('\n');
      const r = await execa('bash', [SANDBOX, 'bash', '-c', script], { env, reject: false, timeout: 60_000 });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const ns = String(r.stdout).split('\n')[0]!;
      expect(ns).toMatch(/^pid:\[\d+\]$/);
      expect(String(r.stdout)).toMatch(/DNS: [1-9]/);
      expect(inPidns(ns), `try ${i + 1}`).toEqual([]);
    }
  }, 240_000);

  test('SIGTERM to the script reaches the command, and the status is the command\'s', async () => {
    const child = spawn('bash', [SANDBOX, process.execPath, '-e',
      "process.on('SIGTERM', () => { console.log('TERM'); process.exit(42); }); console.log('READY'); setInterval(() => {}, 1000);"],
    { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !out.includes('READY'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('READY');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out).toContain('TERM');
    expect(code).toBe(42);
  }, 60_000);
});
