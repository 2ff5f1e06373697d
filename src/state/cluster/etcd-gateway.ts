// etcd's v3 API through its JSON gateway, over node:http: every call is
// `POST /v3/<service>/<method>` with the gRPC request message as JSON (keys
// and values base64, int64s as decimal strings), served on the members'
// client port (2379) by etcd itself - no gRPC stack in nsnet (docs/overlay.md
// has the measurements that chose this over the etcd3 package).
//
// Several members: a call goes to the member that answered last, and on a
// connection error (or etcd's "unavailable", a member without a leader) to the
// next one, so one member down costs one refused connect. When none answers,
// the error names the store: "cluster store etcd://...: connection refused on
// all 3 members".
//
// Calls are retried on another member only when the member was unreachable or
// unavailable; a write whose connection dropped after it was sent may have
// been applied, so the callers' transactions are written to be safe to repeat
// (cluster-records.ts: an owner token in each claimed key).
import http from 'node:http';
import { formatMember, type StoreMember, type StoreUrl } from './store-url.js';

/** An error of the cluster store: names it, and keeps etcd's gRPC code (5: not found, 9: failed precondition...). */
export class ClusterStoreError extends Error {
  constructor(
    readonly store: string,
    message: string,
    readonly grpcCode?: number,
  ) {
    super(`cluster store ${store}: ${message}`);
    this.name = 'ClusterStoreError';
  }
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: string;
  modRevision: string;
  /** The lease the key is attached to ('0' or absent: none). */
  lease?: string;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** The store's revision the result was read at (a watch from revision+1 misses nothing after it). */
  revision: string;
}

/** One operation of a transaction, in the gateway's JSON (keys already base64: build them with txnOps). */
export type TxnOp = Record<string, unknown>;
export type TxnCompare = Record<string, unknown>;

export interface TxnResult {
  succeeded: boolean;
  revision: string;
  /** The ranges the branch that ran asked for, in order (other operations give an empty list). */
  ranges: KeyValue[][];
}

export interface GatewayOptions {
  /** How long a member may take to accept the connection (default 1000 ms: a LAN). */
  connectTimeoutMs?: number;
  /** How long a call may take once connected (default 8000 ms: etcd's own request timeout is 7 s). */
  requestTimeoutMs?: number;
}

// ---- encoding (pure) --------------------------------------------------------

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The range_end that makes a range cover every key starting with `prefix` (etcdctl --prefix). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64'); // every key
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

export function decodeKv(kv: RawKv): KeyValue {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: kv.create_revision ?? '0',
    modRevision: kv.mod_revision ?? '0',
    ...(kv.lease && kv.lease !== '0' && { lease: kv.lease }),
  };
}

/** A range request's JSON: one key, or every key under a prefix. */
export function rangeRequest(key: string, o: { prefix?: boolean; keysOnly?: boolean } = {}): Record<string, unknown> {
  return { key: b64(key), ...(o.prefix && { range_end: prefixEnd(key) }), ...(o.keysOnly && { keys_only: true }) };
}

/** Transaction building blocks, in the gateway's JSON. */
export const txnOps = {
  /** The key does not exist (it was never created, or was deleted since). */
  absent: (key: string): TxnCompare => ({ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }),
  /** The key was last written at revision `rev` (unchanged since it was read). */
  modIs: (key: string, rev: string): TxnCompare => ({ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: rev }),
  /** The key's value is exactly `value`. */
  valueIs: (key: string, value: string): TxnCompare => ({ key: b64(key), target: 'VALUE', result: 'EQUAL', value: b64(value) }),
  put: (key: string, value: string, lease?: string): TxnOp => ({ request_put: { key: b64(key), value: b64(value), ...(lease && { lease }) } }),
  del: (key: string): TxnOp => ({ request_delete_range: { key: b64(key) } }),
  delPrefix: (prefix: string): TxnOp => ({ request_delete_range: { key: b64(prefix), range_end: prefixEnd(prefix) } }),
  range: (key: string, o: { prefix?: boolean; keysOnly?: boolean } = {}): TxnOp => ({ request_range: rangeRequest(key, o) }),
};

// ---- the transport ----------------------------------------------------------

/** Why a member could not be used, in words, or undefined when the error is not about reaching it. */
function unreachable(e: NodeJS.ErrnoException): string | undefined {
  switch (e.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'ENETUNREACH': return 'network unreachable';
    case 'ETIMEDOUT': return 'timed out';
    case 'ECONNRESET': return 'connection reset';
    case 'EPIPE': return 'connection reset';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found';
    case 'EADDRNOTAVAIL': return 'address not available';
    default: return undefined;
  }
}

/** etcd's answer to a call that failed: {error, message, code} with a gRPC code. */
class EtcdReply extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const GRPC_UNAVAILABLE = 14;

export class EtcdGateway {
  private first = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly connectMs: number;
  private readonly requestMs: number;

  constructor(readonly url: StoreUrl, o: GatewayOptions = {}) {
    this.connectMs = o.connectTimeoutMs ?? 1000;
    this.requestMs = o.requestTimeoutMs ?? 8000;
  }

  get store(): string {
    return this.url.text;
  }

  /** Lets go of kept-alive connections (a CLI command's process can then exit at once). */
  close(): void {
    this.agent.destroy();
  }

  /** One call (`kv/range`, `kv/txn`, `lease/grant`...) on the first member that answers; `what` goes in errors. */
  call<T>(method: string, body: unknown, what: string): Promise<T> {
    return this.firstMember(what, (m) => this.post<T>(m, method, body));
  }

  /**
   * `fn` on the member that answered last, else the next ones in turn; a member
   * that is unreachable or unavailable (gRPC 14: no leader, stopping) is passed
   * over, any other error is the answer. All failed: one error naming each.
   */
  private async firstMember<T>(what: string, fn: (m: StoreMember) => Promise<T>): Promise<T> {
    const n = this.url.members.length;
    const reasons: string[] = [];
    for (let i = 0; i < n; i++) {
      const idx = (this.first + i) % n;
      const member = this.url.members[idx]!;
      try {
        const r = await fn(member);
        this.first = idx;
        return r;
      } catch (e) {
        if (e instanceof EtcdReply) {
          if (e.code !== GRPC_UNAVAILABLE) throw new ClusterStoreError(this.store, `${what}: ${e.message}`, e.code);
          reasons.push(`${formatMember(member)}: ${e.message}`);
          continue;
        }
        const why = unreachable(e as NodeJS.ErrnoException);
        if (why === undefined) throw new ClusterStoreError(this.store, `${what}: ${(e as Error).message}`);
        reasons.push(`${formatMember(member)}: ${why}`);
      }
    }
    throw new ClusterStoreError(this.store, `${what}: ${summarise(reasons, n)}`);
  }

  private post<T>(m: StoreMember, method: string, body: unknown): Promise<T> {
    const data = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request({
        host: m.host, port: m.port, method: 'POST', path: `/v3/${method}`, agent: this.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      });
      const timeout = (ms: number) => setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), ms);
      let timer = timeout(this.connectMs);
      req.on('socket', (s) => {
        const connected = () => {
          clearTimeout(timer);
          timer = timeout(this.requestMs);
        };
        if (s.connecting) s.once('connect', connected);
        else connected();
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          let json: { error?: string | { message?: string; grpc_code?: number }; message?: string; code?: number } & Record<string, unknown>;
          try {
            json = JSON.parse(text);
          } catch {
            return reject(new Error(`HTTP ${res.statusCode} from ${formatMember(m)}: ${text.slice(0, 200) || 'empty reply'} (is it etcd's client port?)`));
          }
          if (res.statusCode !== 200 || json.error !== undefined) {
            // Unary calls: {error, message, code}; a stream's error: {error: {message, grpc_code}}.
            const err = typeof json.error === 'object' ? json.error : { message: json.message ?? json.error, grpc_code: json.code };
            return reject(new EtcdReply(err.message ?? `HTTP ${res.statusCode}`, err.grpc_code ?? 2));
          }
          resolve(json as T);
        });
      });
      req.end(data);
    });
  }

  /**
   * A streaming call (`watch`): sends `body`, then gives each JSON message of
   * the reply to `onMessage` until the stream ends (`onEnd` with the error,
   * if any). Connects like call(): the first member that accepts.
   */
  stream(method: string, body: unknown, onMessage: (m: Record<string, unknown>) => void, onEnd: (e?: Error) => void): Promise<{ close(): void }> {
    return this.firstMember(method, (m) => this.openStream(m, method, body, onMessage, onEnd));
  }

  private openStream(m: StoreMember, method: string, body: unknown, onMessage: (m: Record<string, unknown>) => void, onEnd: (e?: Error) => void): Promise<{ close(): void }> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      // Its own connection (agent: false): a watch holds it for as long as it runs.
      const req = http.request({
        host: m.host, port: m.port, method: 'POST', path: `/v3/${method}`, agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      });
      let open = false;
      let closed = false;
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), this.connectMs);
      const handle = {
        close() {
          closed = true;
          req.destroy();
        },
      };
      req.on('error', (e) => {
        clearTimeout(timer);
        if (!open) reject(e);
        else if (!closed) {
          closed = true;
          onEnd(e);
        }
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        open = true;
        resolve(handle);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line && !closed) onMessage(JSON.parse(line) as Record<string, unknown>);
          }
        });
        const end = (e?: Error) => {
          if (closed) return;
          closed = true;
          onEnd(e ?? (res.statusCode === 200 ? undefined : new Error(`HTTP ${res.statusCode}: ${buf.slice(0, 200)}`)));
        };
        res.on('end', () => end());
        res.on('error', (e) => end(e));
        res.on('close', () => end(new Error('connection closed')));
      });
      req.end(data);
    });
  }

  // ---- the calls nsnet uses ---------------------------------------------------

  async range(key: string, o: { prefix?: boolean; keysOnly?: boolean } = {}): Promise<RangeResult> {
    const r = await this.call<{ header?: { revision?: string }; kvs?: RawKv[] }>('kv/range', rangeRequest(key, o), `reading ${key}${o.prefix ? '*' : ''}`);
    return { kvs: (r.kvs ?? []).map(decodeKv), revision: r.header?.revision ?? '0' };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async put(key: string, value: string, lease?: string): Promise<string> {
    const r = await this.call<{ header?: { revision?: string } }>('kv/put', { key: b64(key), value: b64(value), ...(lease && { lease }) }, `writing ${key}`);
    return r.header?.revision ?? '0';
  }

  async delete(key: string, o: { prefix?: boolean } = {}): Promise<number> {
    const r = await this.call<{ deleted?: string }>('kv/deleterange', { key: b64(key), ...(o.prefix && { range_end: prefixEnd(key) }) }, `deleting ${key}${o.prefix ? '*' : ''}`);
    return Number(r.deleted ?? 0);
  }

  async txn(compare: TxnCompare[], success: TxnOp[], failure: TxnOp[], what: string): Promise<TxnResult> {
    type Resp = { response_range?: { kvs?: RawKv[] } };
    const r = await this.call<{ succeeded?: boolean; header?: { revision?: string }; responses?: Resp[] }>('kv/txn', { compare, success, failure }, what);
    return {
      succeeded: r.succeeded === true,
      revision: r.header?.revision ?? '0',
      ranges: (r.responses ?? []).map((x) => (x.response_range?.kvs ?? []).map(decodeKv)),
    };
  }

  /** A new lease of `ttl` seconds: its id (an int64, kept as the decimal string etcd gives). */
  async leaseGrant(ttl: number): Promise<{ id: string; ttl: number }> {
    const r = await this.call<{ ID: string; TTL: string }>('lease/grant', { TTL: ttl }, `granting a lease of ${ttl}s`);
    return { id: r.ID, ttl: Number(r.TTL) };
  }

  /** Renews a lease once: its TTL again, or 0 when it has expired (or was revoked). */
  async leaseKeepAlive(id: string): Promise<number> {
    // The gateway's keepalive is a bidirectional stream; one request in the body gives one reply, then the stream ends.
    const r = await this.call<{ result?: { TTL?: string } }>('lease/keepalive', { ID: id }, `renewing lease ${id}`);
    return Number(r.result?.TTL ?? 0);
  }

  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.call('lease/revoke', { ID: id }, `revoking lease ${id}`);
    } catch (e) {
      if (!(e instanceof ClusterStoreError && e.grpcCode === 5)) throw e; // gone already
    }
  }
}

/** "connection refused on all 3 members", or each member's reason when they differ. */
export function summarise(reasons: string[], n: number): string {
  const why = reasons.map((r) => r.slice(r.indexOf(': ') + 2));
  if (why.length === n && why.every((w) => w === why[0])) return n === 1 ? `${why[0]} (${reasons[0]!.split(': ')[0]})` : `${why[0]} on all ${n} members`;
  return `no member answered (${reasons.join('; ')})`;
}
