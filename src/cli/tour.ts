// `nsnet tour`: re-runs itself inside scripts/sandbox.sh (private network,
// mount and PID namespaces), so the walkthrough never touches this machine's
// network and nothing it started outlives it.
//
// Exit: 0 at the end with every check met, or after `q`; 1 when a check
// failed; 128+N after signal N (SIGINT 130, SIGTERM 143). The tour removes
// what it made on each of these.
import path from 'node:path';
import { constants } from 'node:os';
import type { Handler } from './dispatch.js';

export const tour: Handler<'tour'> = async ({ flags }, io) => {
  const bin = process.argv[1]!;
  if (io.env.NSNET_IN_SANDBOX !== '1') {
    const { spawn } = await import('node:child_process');
    const sandbox = new URL('../../scripts/sandbox.sh', import.meta.url).pathname;
    const child = spawn('bash', [sandbox, process.execPath, bin, 'tour', ...(flags.step ? ['--step'] : []),
      ...(flags.json ? ['--json'] : []), ...(flags.graph ? ['--graph', path.resolve(flags.graph)] : [])],
    { stdio: 'inherit', env: io.env });
    // Ctrl-C reaches every process of the terminal's group, the tour inside
    // included; a signal sent to this process alone is passed on. Either way
    // this process stays until the tour has removed what it made.
    const pass = (sig: NodeJS.Signals) => child.kill(sig);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const sig of signals) process.on(sig, pass);
    try {
      return await new Promise<number>((resolve) => {
        child.on('error', (e) => {
          io.err(`Error: starting the tour's sandbox (${sandbox}): ${e.message}`);
          resolve(125);
        });
        child.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)));
      });
    } finally {
      for (const sig of signals) process.off(sig, pass);
    }
  }
  const { runTour, STEP_COUNT } = await import('../tour/tour.js');
  const { wrap } = await import('../tour/render.js');
  const tty = !!process.stdout.isTTY;
  const width = tty ? process.stdout.columns : undefined;
  const say = (write: (s: string) => void, text: string) => write(`\n${wrap(text, width).join('\n')}`);
  const { steps, stopped } = await runTour({
    json: flags.json,
    step: flags.step,
    out: io.out,
    color: tty && !io.env.NO_COLOR,
    ...(width && { width }),
    waitForEnter: async () => {
      io.err('  (Enter for the next step, q to quit)');
      const line = await io.stdin();
      return line === null || line.trim().toLowerCase() === 'q' ? 'quit' : 'next';
    },
    dnsArgv: (root) => [bin, '--root', root, 'dns'],
    ...(flags.graph && { graphFile: flags.graph }),
  });
  const ok = !stopped && steps.every((s) => s.checks.length > 0 && s.checks.every((c) => c.ok));
  if (flags.json) io.out(JSON.stringify({ ok, ...(stopped && { stopped }), steps }, null, 2));
  if (stopped) {
    const why = stopped === 'quit' ? 'Stopped' : `Stopped by ${stopped}`;
    say(io.err, `${why} at step ${steps.length} of ${STEP_COUNT}; everything the tour made is removed.`);
    return stopped === 'quit' ? 0 : 128 + constants.signals[stopped];
  }
  if (!flags.json) say(io.out, ok ? 'Every expectation met; everything the tour made is removed.' : 'Some expectations were NOT met (see above); everything the tour made is removed.');
  return ok ? 0 : 1;
};
