// One shape for every operation: for each state-changing command, the plan
// --dry-run prints and the trace NSNET_TRACE=1 gives of the real run are the
// same lines in the same order (both print each step as the runner sees it).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, onTestFinished, test } from 'vitest';
import { describeKernel, tag } from '../helpers/kernel.js';
import { TestHost } from '../helpers/host.js';
import { makeLan } from '../helpers/lan.js';

let h: TestHost;
beforeEach(async () => {
  h = await TestHost.make(tag());
});
afterEach(async () => {
  await h.cleanup();
});

/** What differs between two runs of one command: random veth names, new ids and the MACs made from them (and dm-ID, an internal macvlan network's parent). */
const normalize = (text: string) => text
  .replace(/veth[0-9a-f]{7}/g, 'vethID')
  .replace(/\b[0-9a-f]{64}\b/g, 'ID')
  .replace(/\b[0-9a-f]{12}\b/g, 'SHORTID')
  .replace(/address 02(:[0-9a-f]{2}){5} up type bridge/g, 'address BRMAC up type bridge');

/** The plan of `args`, then its real run's trace; the real run must succeed. */
async function planAndTrace(args: string[]): Promise<{ plan: string[]; trace: string[] }> {
  // The command's words, then its flags and arguments (compose: its own flags come first).
  const words = args[0] === 'network' ? 2 : args[0] === 'compose' ? args.findIndex((a) => a === 'up' || a === 'down') + 1 : 1;
  const dry = await h.nsnet([...args.slice(0, words), '--dry-run', ...args.slice(words)]);
  expect(dry.code, dry.stderr).toBe(0);
  const real = await h.nsnet(args, { env: { NSNET_TRACE: '1' } });
  expect(real.code, real.stderr).toBe(0);
  // The trace is stderr's lines from the first step on (warnings and compose's progress lines are not steps).
  const lines = (t: string) => normalize(t).split('\n').filter(Boolean);
  const plan = lines(dry.stdout);
  return { plan, trace: lines(real.stderr).filter((l) => !l.startsWith('nsnet: ') && !l.startsWith('WARNING') && !/^ (Network|Sandbox) /.test(l)).slice(0, plan.length + 5) };
}

describeKernel('--dry-run and NSNET_TRACE=1 print the same plan', () => {
  test('network create/connect/disconnect/rm, create, run, stop, start, kill, restart, rm: the same lines in the same order', async () => {
    const net = `n-${h.tag}`;
    const other = `m-${h.tag}`;
    const [web, db] = [h.sb('web'), h.sb('db')];
    const [mv, mvi, mva, mvb] = [`v-${h.tag}`, `vi-${h.tag}`, h.sb('mva'), h.sb('mvb')];
    const lan = await makeLan(h);
    onTestFinished(() => lan.remove());
    await h.ok(['network', 'ls']); // the built-in networks first: not part of any plan
    const commands = [
      ['network', 'create', '--subnet', '10.81.0.0/24', net],
      ['network', 'create', '--subnet', '10.82.0.0/24', '--internal', other],
      ['create', '--name', db, '--network', net, '-p', '9191:91'],
      ['run', '-d', '--name', web, '--network', net, '--', 'sleep', '300'],
      ['network', 'connect', other, db],
      ['network', 'disconnect', other, db],
      ['stop', '-t', '0', web],
      ['start', web],
      ['kill', '-s', 'TERM', web],
      ['restart', '-t', '0', web],
      ['rm', '-f', web],
      ['rm', db],
      ['network', 'rm', other],
      // macvlan: on the fake LAN's ens4, and internal (a parent of its own).
      ['network', 'create', '-d', 'macvlan', '--subnet', '192.0.2.0/24', '-o', 'parent=ens4', mv],
      ['network', 'create', '-d', 'macvlan', '--internal', '--subnet', '10.84.0.0/24', mvi],
      ['run', '-d', '--name', mva, '--network', mv, '--', 'sleep', '300'],
      ['create', '--name', mvb, '--network', mvi],
      ['network', 'connect', mv, mvb],
      ['network', 'disconnect', mv, mvb],
      ['rm', '-f', mva],
      ['rm', mvb],
      ['network', 'rm', mvi],
    ];
    for (const args of commands) {
      const { plan, trace } = await planAndTrace(args);
      expect(plan.length, args.join(' ')).toBeGreaterThan(1);
      expect(trace, args.join(' ')).toEqual(plan);
    }
  }, 180_000);

  test('compose up and down, network prune: the same lines in the same order', async () => {
    const shop = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/compose/shop/compose.yaml');
    const p = `tr${h.tag}`;
    h.names.add(`${p}_web_1`).add(`${p}_api_1`).add(`${p}_db_1`).add(`${p}_sidecar_1`);
    await h.ok(['network', 'ls']);
    await h.ok(['network', 'create', '--subnet', '10.83.0.0/24', `unused-${h.tag}`]);
    for (const args of [
      ['compose', '-f', shop, '-p', p, 'up', '-d'],
      ['compose', '-f', shop, '-p', p, 'down'],
      ['network', 'prune', '-f'],
    ]) {
      const { plan, trace } = await planAndTrace(args);
      expect(plan.length, args.join(' ')).toBeGreaterThan(1);
      expect(trace, args.join(' ')).toEqual(plan);
    }
  });
});
