// `nsnet tour` runs the seeds' walkthrough to the end with every expectation
// met, and leaves nothing behind. It runs in a sandbox of its own (nested in
// the test sandbox), as it does for a user.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { describeKernel, netnsNames } from '../helpers/kernel.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/nsnet.js');

describeKernel('nsnet tour (kernel)', () => {
  test('every step passes its checks; nothing is left', async () => {
    const before = netnsNames();
    const r = await execa('node', [BIN, 'tour', '--json'], {
      reject: false, timeout: 120_000, env: { NSNET_IN_SANDBOX: '', NODE_EXTRA_CA_CERTS: '' },
    });
    const report = JSON.parse(String(r.stdout)) as { ok: boolean; steps: { title: string; equivalent: string[]; shown: unknown[]; checks: { what: string; ok: boolean; detail?: string }[] }[] };
    const failed = report.steps.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.title}: ${c.what} (${c.detail ?? ''})`));
    expect(failed).toEqual([]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.steps).toHaveLength(6);
    for (const s of report.steps) expect(s.checks.length, s.title).toBeGreaterThan(0);
    // Every step shows the kernel state it made; the equivalents carry real names, no placeholders.
    for (const s of report.steps) expect(s.shown.length, s.title).toBeGreaterThan(0);
    const equivalents = report.steps.flatMap((s) => s.equivalent).join('\n');
    expect(equivalents).not.toMatch(/XXX|<\d+ hex>|\.\.\./);
    expect(equivalents).toMatch(/veth[0-9a-f]{7} master nsnet0/);
    expect(equivalents).toMatch(/br-[0-9a-f]{12} type bridge/);
    expect(netnsNames()).toEqual(before);
  }, 150_000);
});
