// CNI calls served by the resident nsnet process (the embedded DNS server,
// `nsnet dns`): the native plugin (native/cni_main.cc) forwards a runtime's
// call here over <runDir>/cni.sock (frames: src/cni/wire.ts) instead of
// starting Node, and this runs it with the same code the Node plugin runs
// (cni-run.ts). That code is loaded on the first call, not before: a DNS
// server on a host without CNI keeps its memory (issue 16).
//
// Who may call: the socket is 0600 (made under umask 0177, whatever the
// process's umask), and each connection's peer (SO_PEERCRED) must be `uid`
// (root). A call for other state directories than this process's answers
// NOT_MINE (the plugin then runs the Node plugin itself). A request that is
// malformed, over the caps, or never completed (30 s) is dropped unanswered;
// it cannot stop the process or hold anything but its own connection.
//
// Calls run concurrently, as runtimes make them; nsnet's state lock (taken in
// turn by the callers in this process, src/state/lock.ts) orders them.
//
//   nsnet-cni </dev/null  (with CNI_COMMAND=VERSION): served here when this runs
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Context } from '../docker/context.js';
import { cniSocketPath, encodeAnswer, NOT_MINE, parseRequest, type WireRequest } from '../cni/wire.js';
import { listenPrivate } from '../kernel/unix-listen.js';
import { native } from '../native.js';
import { listDir } from '../state/small-files.js';
import { defaultDirs, type StoreDirs } from '../state/store.js';

export interface CniServeOptions {
  /** This process's state directories: calls for others are not its own. */
  dirs: StoreDirs;
  /** This process's environment: what a call's env does not set (PATH for delegated IPAM plugins). */
  env: NodeJS.ProcessEnv;
  /** The embedded DNS server in this process, as the backend's client of it. */
  dns: Context['dns'];
  log: (line: string) => void;
  /** The only user that may call (default 0, root: the plugin runs as the runtime, root). */
  uid?: number;
  /** Drop a connection whose request is not complete after this long (default 30 s). */
  idleMs?: number;
  /** This process's DNS server watches nsnet's firewall tables (firewall-watch.ts): calls skip their own check. */
  tablesWatched?: boolean;
}

export interface CniListener {
  readonly path: string;
  /** Stops taking calls. */
  close(): void;
  /** Waits (at most `ms`) for removals still deleting their veth after they answered: before the process exits. */
  drain(ms?: number): Promise<void>;
}

const etcNetnsOf = (env: NodeJS.ProcessEnv) => path.resolve(env.NSNET_ETC_NETNS || '/etc/netns');

/** Whether a call's environment names this process's state (its NSNET_* directories, or the defaults). */
function isMine(o: CniServeOptions, env: Record<string, string>): boolean {
  const d = defaultDirs(env);
  return path.resolve(d.dataDir) === path.resolve(o.dirs.dataDir) && path.resolve(d.runDir) === path.resolve(o.dirs.runDir)
    && etcNetnsOf(env) === etcNetnsOf(o.env);
}

/** The environment naming this process's state directories (what isMine checks a call's against). */
const dirsEnv = (o: CniServeOptions) => ({ NSNET_DATA_DIR: o.dirs.dataDir, NSNET_RUN_DIR: o.dirs.runDir, NSNET_ETC_NETNS: etcNetnsOf(o.env) });

export async function listenCni(o: CniServeOptions): Promise<CniListener> {
  const file = cniSocketPath(o.dirs);
  const uid = o.uid ?? 0;
  // What the calls' env lays over: this process's, without its own CNI_*/NSNET_* (a call brings its own).
  const base = Object.fromEntries(Object.entries(o.env).filter(([k]) => !k.startsWith('CNI_') && !k.startsWith('NSNET_')));
  let run: Promise<typeof import('./cni-run.js')> | undefined;

  const answer = async (req: WireRequest): Promise<Buffer> => {
    if (!isMine(o, req.env)) return encodeAnswer(NOT_MINE, '', '');
    const t0 = performance.now();
    const lines: string[] = [];
    let delay: ReturnType<typeof monitorEventLoopDelay> | undefined;
    const trace = req.env.NSNET_CNI_TRACE === '1' ? (what: string) => lines.push(`nsnet-cni: ${(performance.now() - t0).toFixed(1)} ms ${what}\n`) : undefined;
    if (trace) {
      delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      trace(`served by the resident nsnet process (pid ${process.pid}, ${req.env.CNI_COMMAND})`);
    }
    const { runCni } = await (run ??= import('./cni-run.js'));
    const out = await runCni({ env: { ...base, ...req.env }, stdin: req.stdin, dns: o.dns, deferRemovals: true, ...(o.tablesWatched && { tablesWatched: true }), ...(trace && { trace }) });
    if (trace && delay) {
      delay.disable();
      trace(`done; this process's event loop was blocked at most ${(delay.max / 1e6).toFixed(1)} ms meanwhile`);
    }
    return encodeAnswer(out.exitCode, out.stdout, lines.join('') + out.stderr);
  };

  const serve = (c: net.Socket) => {
    c.on('error', () => {});
    let peer: { uid: number; pid: number };
    try {
      peer = native().peerCred((c as unknown as { _handle: { fd: number } })._handle.fd);
    } catch (e) {
      o.log(`cni: ${(e as Error).message}`);
      c.destroy();
      return;
    }
    if (peer.uid !== uid) {
      o.log(`cni: refused a call from pid ${peer.pid} (uid ${peer.uid})`);
      c.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let need = 16; // the header; then the whole frame
    c.setTimeout(o.idleMs ?? 30_000, () => c.destroy());
    const onData = (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size < need) return;
      const parsed = parseRequest(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      if ('more' in parsed) {
        // The header is in: wait for the frame it announces without parsing at every chunk.
        const b = Buffer.concat(chunks);
        chunks.length = 0;
        chunks.push(b);
        need = 16 + b.readUInt32LE(4) + b.readUInt32LE(8);
        return;
      }
      c.off('data', onData);
      c.setTimeout(0);
      if ('error' in parsed) {
        o.log(`cni: dropped a request from pid ${peer.pid}: ${parsed.error}`);
        c.destroy();
        return;
      }
      answer(parsed.request).then((b) => c.end(b), (e: Error) => {
        o.log(`cni: ${parsed.request.env.CNI_COMMAND ?? '?'} ${parsed.request.env.CNI_CONTAINERID ?? ''}: ${e.stack ?? e.message}`);
        c.destroy();
      });
    };
    c.on('data', onData);
    // The client's side closed before a whole request: there will be none.
    c.on('end', () => {
      if (c.listenerCount('data')) c.destroy();
    });
  };

  // Half-open: a client may shut down its side after the request (socat, tools) and still read the answer.
  const server = net.createServer({ allowHalfOpen: true }, serve);
  server.maxConnections = 1024;
  await listenPrivate(server, file); // we hold dns.lock: a socket file left there is a killed server's
  server.on('error', (e) => o.log(`cni: ${e.message}`));
  // A resident process killed while deleting veths after its DELs answered left pending removals: finish them now
  // (the next locked section would; this one does not wait for a call). One readdir when there are none.
  if (listDir(path.join(o.dirs.runDir, 'removing')).length) {
    void (run ??= import('./cni-run.js')).then((r) => r.finishRemovals({ ...o.env, ...dirsEnv(o) }, o.dns, (l) => o.log(`cni: ${l}`)))
      .catch((e: Error) => o.log(`cni: finishing pending removals: ${e.message}`));
  }
  return {
    path: file,
    close: () => {
      server.close();
      try {
        unlinkSync(file);
      } catch {
        // gone already
      }
    },
    drain: async (ms = 5000) => {
      if (!run) return;
      const n = await (await run).removalsDrained(ms);
      if (n < 0) o.log(`cni: stopping with removals still deleting their veth; the next nsnet command finishes them`);
    },
  };
}

