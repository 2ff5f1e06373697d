// Start of day: after a reboot, the first nsnet command removes the
// /etc/netns/NAME directories of sandboxes that are gone - only the ones
// nsnet made, and never one whose sandbox record or namespace still exists.
// The "reboot" happens to the test's fake machine only: its private runDir is
// emptied and its sandboxes' namespaces deleted, as a reboot would.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { netnsDel } from '../../src/index.js';
import { describeKernel, netnsNames, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

const run = () => path.join(h.root, 'run');

describeKernel('start of day after a reboot (kernel)', () => {
  test("stale sandbox directories go; a user's own, and live sandboxes', stay", async () => {
    const [a, b, c] = [h.sb('a'), h.sb('b'), h.sb('c')];
    for (const n of [a, b]) await h.ok(['create', '--name', n]);
    await h.ok(['create', '--name', c, '--network', 'none']);
    // A directory the user made by hand for `ip netns exec mine`: not nsnet's.
    const mine = path.join(h.etc, `mine-${h.tag}`);
    mkdirSync(mine, { recursive: true });
    writeFileSync(path.join(mine, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    for (const n of [a, b, c]) expect(existsSync(path.join(h.etc, n)), n).toBe(true);
    expect(readFileSync(path.join(run(), 'boot'), 'utf8')).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));

    // Not a reboot: nothing is removed, even if a namespace vanished.
    await netnsDel(c);
    await h.ok(['ps', '-a']);
    expect(existsSync(path.join(h.etc, c))).toBe(true);

    // The reboot: /run is empty again (records, the boot mark), every namespace is gone.
    await h.stopDns('SIGKILL');
    for (const n of [a, b]) await netnsDel(n);
    rmSync(run(), { recursive: true, force: true });
    // ...except one namespace made again by someone before nsnet's first command: its directory stays.
    await h.run(['ip', 'netns', 'add', b]);
    const r = await h.nsnet(['--debug', 'network', 'ls']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`start of day: removed ${h.etc}/${a}`);
    expect(existsSync(path.join(h.etc, a))).toBe(false);
    expect(existsSync(path.join(h.etc, '.nsnet', a))).toBe(false);
    expect(existsSync(path.join(h.etc, c))).toBe(false);
    expect(existsSync(path.join(h.etc, b))).toBe(true); // /run/netns/b exists
    expect(readFileSync(path.join(mine, 'resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.53\n');
    // Once per boot: the next command finds the mark and does nothing.
    expect((await h.nsnet(['--debug', 'ps'])).stderr).not.toContain('start of day');
    await h.run(['ip', 'netns', 'del', b]);
    expect(netnsNames()).not.toContain(a);
  });

  test('a sandbox record keeps its directory, even without a namespace; a new sandbox of the same name works', async () => {
    const a = h.sb('a');
    await h.ok(['create', '--name', a]);
    await netnsDel(a);
    rmSync(path.join(run(), 'boot')); // a reboot as far as the boot mark can tell, records kept
    await h.ok(['network', 'ls']);
    expect(existsSync(path.join(h.etc, a))).toBe(true);
    await h.ok(['rm', '-f', a]);
    expect(existsSync(path.join(h.etc, a))).toBe(false);
    expect(existsSync(path.join(h.etc, '.nsnet', a))).toBe(false); // rm takes the mark too
    await h.ok(['create', '--name', a]);
    expect(existsSync(path.join(h.etc, '.nsnet', a))).toBe(true);
  });
});
