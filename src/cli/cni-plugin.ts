// The Node CNI plugin: what the native plugin (native/cni_main.cc, written by
// `nsnet cni install`) runs when no resident nsnet process serves its request,
// and what a runtime runs directly where the native one was not built. Bundled
// as dist/cni/nsnet-cni.cjs by scripts/bundle-cli.mjs: one Node start, one file.
// It reads stdin, runs the call (cni-run.ts, the same code the resident process
// runs), prints the result or the error JSON on stdout and exits with the code.
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { formatError } from '../cni/errors.js';
import { CNI_ERR, CniError } from '../cni/types.js';
import { runCni, type CniOutput } from './cni-run.js';

// NSNET_CNI_TRACE=1: where one call's time goes, on stderr, in ms since the
// process started (performance.now(): Node's own start is the first figure).
const TRACE = process.env.NSNET_CNI_TRACE === '1';
const mark = (what: string) => {
  if (TRACE) process.stderr.write(`nsnet-cni: ${performance.now().toFixed(1)} ms ${what}\n`);
};

/** All of stdin ('' for a terminal: VERSION typed by hand must not wait). */
async function readStdin(): Promise<string> {
  if (isatty(0)) return '';
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EOF' || code === 'ENXIO' || code === 'EBADF') return ''; // no stdin at all
    if (code !== 'EAGAIN') throw e;
  }
  // A non-blocking stdin (inherited from some parents): read it as a stream.
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  mark(`bundle loaded (${process.env.CNI_COMMAND})`);
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    const err = new CniError(CNI_ERR.io, 'error reading the network configuration from stdin', (e as Error).message);
    return finish({ stdout: `${formatError(err)}\n`, stderr: '', exitCode: 1 });
  }
  finish(await runCni({ env: process.env, stdin, ...(TRACE && { trace: mark }) }));
}

// Exit once stdout is written: whatever the backend left open (sockets, timers) must not keep the runtime waiting.
function finish(out: CniOutput): void {
  mark('done');
  if (out.stderr) process.stderr.write(out.stderr);
  process.stdout.write(out.stdout, () => process.exit(out.exitCode));
}

void main();
