// The CNI plugin's executable: `nsnet cni install` writes /opt/cni/bin/nsnet,
// which loads this file (bundled as dist/cni/nsnet-cni.cjs by
// scripts/bundle-cli.mjs, so an ADD costs one Node start and one file).
// It reads stdin, runs the command (src/cni/plugin.ts) on the backend
// (src/cni/backend.ts), prints the result or the error JSON on stdout and
// exits with the code. It sits with the CLI because, like the CLI, it wires
// the layers below together: the backend, the delegated IPAM and the client
// of the embedded DNS server (which src/cni may not import).
import { readFileSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { formatError } from '../cni/errors.js';
import { cniMain, type BackendSource, type CniOutput } from '../cni/plugin.js';
import { CNI_ERR, CniError } from '../cni/types.js';

// NSNET_CNI_TRACE=1: where one call's time goes, on stderr, in ms since the
// process started (performance.now(): Node's own start is the first figure).
const TRACE = process.env.NSNET_CNI_TRACE === '1';
const mark = (what: string) => {
  if (TRACE) process.stderr.write(`nsnet-cni: ${performance.now().toFixed(1)} ms ${what}\n`);
};

/**
 * The backend, loaded only for commands that need it (VERSION loads none of
 * the Docker layer). The DNS server it starts on first need is `nsnet dns`
 * run by bin/nsnet.js, never this plugin (argv[1] here is /opt/cni/bin/nsnet).
 */
const loadBackend: BackendSource = async () => {
  const [{ cniBackend }, { delegateIpam }, { dnsClient }, { reviveDns }] = await Promise.all([
    import('../cni/backend.js'), import('../cni/delegate.js'), import('./context.js'), import('../dns/health.js'),
  ]);
  mark('backend loaded');
  const bin = fileURLToPath(new URL('../../bin/nsnet.js', import.meta.url));
  const dns = dnsClient(process.env, [bin, 'dns', '--supervise']);
  return cniBackend({
    dns: (dirs) => dns(dirs),
    ipam: (command, req) => delegateIpam(command, req),
    // As every CLI command does first: a DNS server that should run but was killed comes back.
    prepare: async (ctx) => {
      mark('context open');
      await reviveDns(ctx.dirs, { argv: [bin, 'dns', '--supervise'], env: process.env, warn: () => {} });
      mark('DNS server checked');
    },
    ...(TRACE && { observe: (step: { title: string }) => mark(`step: ${step.title}`) }),
  });
};

/** Same device and inode as our own network namespace; a path that cannot be read is left to the backend. */
function isOwnNetns(p: string): boolean {
  try {
    const a = statSync(p);
    const b = statSync('/proc/self/ns/net');
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

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
  finish(await cniMain(process.env, stdin, loadBackend, { isOwnNetns }));
}

// Exit once stdout is written: whatever the backend left open (sockets, timers) must not keep the runtime waiting.
function finish(out: CniOutput): void {
  mark('done');
  if (out.stderr) process.stderr.write(out.stderr);
  process.stdout.write(out.stdout, () => process.exit(out.exitCode));
}

void main();
