// `nsnet tour`: re-runs itself inside scripts/sandbox.sh (a private network
// and mount namespace), so the walkthrough never touches this machine's network.
import path from 'node:path';
import type { Handler } from './dispatch.js';

export const tour: Handler<'tour'> = async ({ flags }, io) => {
  const bin = process.argv[1]!;
  if (io.env.NSNET_IN_SANDBOX !== '1') {
    const { spawnSync } = await import('node:child_process');
    const sandbox = new URL('../../scripts/sandbox.sh', import.meta.url).pathname;
    const r = spawnSync('bash', [sandbox, process.execPath, bin, 'tour', ...(flags.step ? ['--step'] : []),
      ...(flags.json ? ['--json'] : []), ...(flags.graph ? ['--graph', path.resolve(flags.graph)] : [])],
      { stdio: 'inherit', env: io.env });
    return r.status ?? 1;
  }
  const { runTour } = await import('../tour/tour.js');
  const steps = await runTour({
    json: flags.json,
    step: flags.step,
    out: io.out,
    color: !!process.stdout.isTTY && !io.env.NO_COLOR,
    waitForEnter: async () => {
      io.err('  (Enter for the next step)');
      await io.stdin();
    },
    dnsArgv: (root) => [bin, '--root', root, 'dns'],
    ...(flags.graph && { graphFile: flags.graph }),
  });
  const ok = steps.every((s) => s.checks.length > 0 && s.checks.every((c) => c.ok));
  if (flags.json) io.out(JSON.stringify({ ok, steps }, null, 2));
  else io.out(ok ? '\nEvery expectation met.' : '\nSome expectations were NOT met (see above).');
  return ok ? 0 : 1;
};
