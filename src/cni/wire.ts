// The frames between the native plugin (native/cni_main.cc, what `nsnet cni
// install` puts in /opt/cni/bin) and the resident nsnet process that runs its
// requests (src/cli/cni-serve.ts), on <runDir>/cni.sock. Little-endian:
//
//   request  "NSC1" u32 envLen u32 stdinLen u32 0 | env ("K=V\0"...) | stdin
//   answer   "NSA1" i32 status u32 outLen  u32 errLen | stdout | stderr
//
// status: the plugin's exit code, or NOT_MINE (-1): the request is for
// another data directory; the plugin then runs the Node plugin itself.
// Lengths are capped: a request over the caps is not read further.
import path from 'node:path';
import type { StoreDirs } from '../state/store.js';

export const MAX_ENV = 64 << 10;
export const MAX_STDIN = 4 << 20;
export const NOT_MINE = -1;
const HEAD = 16;

export const cniSocketPath = (dirs: StoreDirs) => path.join(dirs.runDir, 'cni.sock');

export interface WireRequest {
  env: Record<string, string>;
  stdin: string;
}

/** The frame the native plugin sends (tests and tools send it from JS). */
export function encodeRequest(r: WireRequest): Buffer {
  const env = Buffer.from(Object.entries(r.env).map(([k, v]) => `${k}=${v}\0`).join(''));
  const stdin = Buffer.from(r.stdin);
  const head = Buffer.alloc(HEAD);
  head.write('NSC1', 0, 'latin1');
  head.writeUInt32LE(env.length, 4);
  head.writeUInt32LE(stdin.length, 8);
  return Buffer.concat([head, env, stdin]);
}

export function encodeAnswer(status: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const head = Buffer.alloc(HEAD);
  head.write('NSA1', 0, 'latin1');
  head.writeInt32LE(status, 4);
  head.writeUInt32LE(out.length, 8);
  head.writeUInt32LE(err.length, 12);
  return Buffer.concat([head, out, err]);
}

export function decodeAnswer(b: Buffer): { status: number; stdout: string; stderr: string } | undefined {
  if (b.length < HEAD || b.toString('latin1', 0, 4) !== 'NSA1') return undefined;
  const o = b.readUInt32LE(8);
  const e = b.readUInt32LE(12);
  if (b.length < HEAD + o + e) return undefined;
  return { status: b.readInt32LE(4), stdout: b.toString('utf8', HEAD, HEAD + o), stderr: b.toString('utf8', HEAD + o, HEAD + o + e) };
}

/**
 * Reads one request from the bytes received so far: `more` while it is
 * incomplete, the request once whole, or an error (bad magic, over a cap,
 * bytes after it): the connection is then dropped unanswered.
 */
export type Parsed = { more: true } | { request: WireRequest } | { error: string };

export function parseRequest(b: Buffer): Parsed {
  if (b.length < 4) return b.toString('latin1') === 'NSC1'.slice(0, b.length) ? { more: true } : { error: 'not a CNI request' };
  if (b.toString('latin1', 0, 4) !== 'NSC1') return { error: 'not a CNI request' };
  if (b.length < HEAD) return { more: true };
  const envLen = b.readUInt32LE(4);
  const stdinLen = b.readUInt32LE(8);
  if (envLen > MAX_ENV) return { error: `environment of ${envLen} bytes (at most ${MAX_ENV})` };
  if (stdinLen > MAX_STDIN) return { error: `stdin of ${stdinLen} bytes (at most ${MAX_STDIN})` };
  if (b.readUInt32LE(12) !== 0) return { error: 'unknown flags' };
  const end = HEAD + envLen + stdinLen;
  if (b.length < end) return { more: true };
  if (b.length > end) return { error: 'bytes after the request' };
  const env: Record<string, string> = {};
  for (const kv of b.toString('utf8', HEAD, HEAD + envLen).split('\0')) {
    if (!kv) continue;
    const eq = kv.indexOf('=');
    if (eq <= 0) return { error: `environment entry without a name: ${JSON.stringify(kv.slice(0, 40))}` };
    const k = kv.slice(0, eq);
    // Only what the plugin forwards: a peer cannot set what the process's own code reads (NODE_OPTIONS, PATH).
    if (!k.startsWith('CNI_') && !k.startsWith('NSNET_')) return { error: `environment entry ${JSON.stringify(k.slice(0, 40))} is not CNI_* or NSNET_*` };
    env[k] = kv.slice(eq + 1);
  }
  return { request: { env, stdin: b.toString('utf8', HEAD + envLen, end) } };
}
