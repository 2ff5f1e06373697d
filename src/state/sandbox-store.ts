// Runtime state kept so that no operation on one sandbox reads or writes a
// file that grows with the number of sandboxes:
//
//   <runDir>/sandboxes/<name>.json     one record per sandbox
//   <runDir>/ids/<id>                  the sandbox's name, for lookups by id
//   <runDir>/ipam/<network id>.bits    one bit per address of the network's subnet
//   <runDir>/ports/<proto>-<port>.json the bindings of one host port
//   <runDir>/creating/<name>           a create in progress: its process (pid, start time)
//
// Everything is read lazily and written only when the locked section that
// changed it succeeds (withState in store.ts), each file atomically.
//
// The records are the truth; the id index, the address bitmaps, the port
// claims and the creating index are indexes of them. Every file is checked
// as it is read (validate.ts, bitmap.ts): a damaged record is reported by
// path (DamagedStateError) and can still be removed by name; a damaged or
// missing bitmap or port claim is rebuilt from the records by the caller's
// rebuildFrom, which says so.
//
// These are small files on a tmpfs, touched while holding the lock: the
// synchronous calls take microseconds, where a trip through libuv's thread
// pool for each would cost more than the work (docs/bench/core.md).
import * as fsSync from 'node:fs';
import path from 'node:path';
import { bitmapHeader, bitmapOf, decodeBitmap, emptyBitmap, encodeBitmap, type Bitmap } from './bitmap.js';
import { DamagedStateError } from './damaged.js';
import { creatorProblem, parseState, portClaimsProblem, sandboxProblem } from './validate.js';

async function readOrUndefined(file: string): Promise<string | undefined> {
  // Most lookups are of files that don't exist (a new name, a removed id): a
  // stat answers those without the cost of an ENOENT exception.
  if (!fsSync.statSync(file, { throwIfNoEntry: false })) return undefined;
  try {
    return fsSync.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fsSync.writeFileSync(tmp, data, { mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fsSync.mkdirSync(path.dirname(file), { recursive: true });
    fsSync.writeFileSync(tmp, data, { mode: 0o600 });
  }
  fsSync.renameSync(tmp, file);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function listDir(dir: string): string[] {
  try {
    return fsSync.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** A sandbox record that cannot be read: what is known of it, for ps, rm -f and repairs. */
export interface DamagedRecord {
  name: string;
  path: string;
  problem: string;
  /** The file's text, when there is one (what can be salvaged from it: salvage.ts in the Docker layer). */
  text?: string;
  /** From the id index, when the record itself is gone. */
  id?: string;
}

/** The process creating a sandbox (creating/<name>): pid and /proc/PID/stat start time. */
export interface Creator {
  pid: number;
  start: string;
}

type RecordLike = { id: string; name: string; status?: string; createdBy?: Creator };

export const recordHint = (name: string) => `"nsnet rm -f ${name}" removes the sandbox, from what can still be found`;

/** Sandbox records, one file each, by name; an id index beside them. */
export class RecordFiles<R extends RecordLike> {
  private byName = new Map<string, R | null>();
  private damaged = new Map<string, DamagedRecord>();
  private dirty = new Map<string, R | null>();
  /** For deleted records: the id whose index entry goes with them. */
  private deletedIds = new Map<string, string>();
  /** Damaged records removed by name: their file, their index entry (id, if known) and creating entry go. */
  private dropped = new Map<string, string | undefined>();
  /** The status each record had on disk, for the creating index. */
  private onDisk = new Map<string, string | undefined>();

  constructor(private readonly dir: string) {}

  file(name: string): string {
    return path.join(this.dir, 'sandboxes', `${name}.json`);
  }

  private async load(name: string): Promise<void> {
    if (this.byName.has(name) || this.damaged.has(name)) return;
    const file = this.file(name);
    const text = await readOrUndefined(file);
    if (text === undefined) {
      this.byName.set(name, null);
      return;
    }
    const p = parseState<R>(text, (v) => sandboxProblem(v, name));
    if (p.problem !== undefined) {
      this.damaged.set(name, { name, path: file, problem: p.problem, text });
      return;
    }
    this.byName.set(name, p.value);
    this.onDisk.set(name, p.value.status);
  }

  /** A record by name; a damaged one throws DamagedStateError (naming the file and the way out). */
  async get(name: string): Promise<R | undefined> {
    if (!NAME_RE.test(name)) return undefined;
    await this.load(name);
    const d = this.damaged.get(name);
    if (d) throw new DamagedStateError(d.path, d.problem, recordHint(name));
    return this.byName.get(name) ?? undefined;
  }

  /** A record by name, or what is known of it if it is damaged; undefined if there is none. */
  async peek(name: string): Promise<{ record: R } | { damaged: DamagedRecord } | undefined> {
    if (!NAME_RE.test(name)) return undefined;
    await this.load(name);
    const d = this.damaged.get(name);
    if (d) return { damaged: d };
    const r = this.byName.get(name);
    return r ? { record: r } : undefined;
  }

  /** A record by its full id. */
  async byId(id: string): Promise<R | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    for (const r of this.byName.values()) if (r?.id === id) return r;
    const name = await readOrUndefined(path.join(this.dir, 'ids', id));
    return name ? this.get(name.trim()) : undefined;
  }

  /** The name the id index gives an id (for a record that may be damaged or gone). */
  async indexedName(id: string): Promise<string | undefined> {
    return (await readOrUndefined(path.join(this.dir, 'ids', id)))?.trim() || undefined;
  }

  /** The ids the index gives a name (reads the whole index: for removing a record that no longer says its id). */
  async idsNaming(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const id of listDir(path.join(this.dir, 'ids'))) if (/^[0-9a-f]{64}$/.test(id) && (await this.indexedName(id)) === name) out.push(id);
    return out;
  }

  /** Full ids starting with `prefix` (reads the id index: for `nsnet rm 3f2a`-style references). */
  async idsWithPrefix(prefix: string): Promise<string[]> {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    const ids = listDir(path.join(this.dir, 'ids'));
    const staged = [...this.dirty.values()].filter((r): r is R => !!r).map((r) => r.id);
    return [...new Set([...ids, ...staged])].filter((id) => id.startsWith(prefix) && !id.endsWith('.tmp'));
  }

  /** For records already indexed under their id: put() needn't write the index again. */
  private indexed = new Set<string>();

  put(r: R): void {
    const before = this.byName.get(r.name);
    if (before && before.id === r.id && !this.dirty.has(r.name)) this.indexed.add(r.name);
    this.byName.set(r.name, r);
    this.dirty.set(r.name, r);
  }

  delete(r: R): void {
    this.byName.set(r.name, null);
    this.dirty.set(r.name, null);
    this.deletedIds.set(r.name, r.id);
  }

  /** Removes a damaged (or missing) record by name: its file, id index entry and creating entry. */
  deleteDamaged(name: string, id?: string): void {
    this.damaged.delete(name);
    this.byName.set(name, null);
    this.dirty.delete(name);
    this.dropped.set(name, id);
  }

  /** Every readable record (reads them all: for inspect, network inspect, the DNS server's start). Damaged ones: scan(). */
  async all(): Promise<R[]> {
    return (await this.scan({ orphans: false })).records;
  }

  /**
   * Every record, and every one that cannot be read: damaged files, and names
   * the id index still holds whose record is gone ("orphans", looked for only
   * when the index and the records don't add up).
   */
  async scan(o: { orphans?: boolean } = {}): Promise<{ records: R[]; damaged: DamagedRecord[] }> {
    const files = listDir(path.join(this.dir, 'sandboxes')).filter((f) => f.endsWith('.json'));
    for (const f of files) await this.load(f.slice(0, -'.json'.length));
    const records = [...this.byName.values()].filter((r): r is R => !!r).sort((a, b) => (a.name < b.name ? -1 : 1));
    const damaged = [...this.damaged.values()];
    if (o.orphans !== false) {
      const ids = listDir(path.join(this.dir, 'ids')).filter((id) => /^[0-9a-f]{64}$/.test(id));
      if (ids.length !== files.length) {
        const names = new Set(files.map((f) => f.slice(0, -'.json'.length)));
        for (const id of ids) {
          const name = await this.indexedName(id);
          if (!name || names.has(name) || this.byName.get(name) || this.dropped.has(name) || !NAME_RE.test(name)) continue;
          damaged.push({ name, path: this.file(name), problem: `missing (the id index ids/${id} still names it)`, id });
        }
      }
    }
    return { records, damaged: damaged.sort((a, b) => (a.name < b.name ? -1 : 1)) };
  }

  /** Names with a create in progress (or left by a create that died): creating/<name>. Empty in the normal case. */
  creating(): string[] {
    return listDir(path.join(this.dir, 'creating')).filter((n) => NAME_RE.test(n) && !n.endsWith('.tmp'));
  }

  /** Who is creating `name`, from the creating index (undefined: unreadable). */
  async creator(name: string): Promise<Creator | undefined> {
    const text = await readOrUndefined(path.join(this.dir, 'creating', name));
    if (text === undefined) return undefined;
    return parseState<Creator>(text, creatorProblem).value;
  }

  /** Drops a creating index entry whose record is gone. */
  dropCreating(name: string): void {
    fsSync.rmSync(path.join(this.dir, 'creating', name), { force: true });
  }

  /** Drops an id index entry whose record is gone. */
  dropIndex(id: string): void {
    fsSync.rmSync(path.join(this.dir, 'ids', id), { force: true });
  }

  async flush(): Promise<void> {
    for (const [name, r] of this.dirty) {
      const creatingFile = path.join(this.dir, 'creating', name);
      if (r) {
        await writeAtomic(this.file(name), JSON.stringify(r));
        // A record read from its file and written back (a status change): its id index stands.
        if (!this.indexed.has(name)) await writeAtomic(path.join(this.dir, 'ids', r.id), name);
        const was = this.onDisk.get(name);
        if (r.status === 'creating' && was !== 'creating') await writeAtomic(creatingFile, JSON.stringify(r.createdBy ?? {}));
        // (A record put without being read first - rare - may have been "creating" on disk: make sure.)
        else if (r.status !== 'creating' && (was === 'creating' || !this.onDisk.has(name))) fsSync.rmSync(creatingFile, { force: true });
        this.onDisk.set(name, r.status);
      } else {
        let id = this.deletedIds.get(name);
        if (id === undefined) {
          const old = await readOrUndefined(this.file(name));
          const p = old === undefined ? undefined : parseState<R>(old, (v) => sandboxProblem(v, name));
          id = p?.value?.id;
        }
        if (id !== undefined) fsSync.rmSync(path.join(this.dir, 'ids', id), { force: true });
        fsSync.rmSync(this.file(name), { force: true });
        fsSync.rmSync(creatingFile, { force: true });
        this.onDisk.delete(name);
      }
    }
    for (const [name, id] of this.dropped) {
      fsSync.rmSync(this.file(name), { force: true });
      fsSync.rmSync(path.join(this.dir, 'creating', name), { force: true });
      // The record said nothing readable about its id: the index entries naming it (rare: a repair).
      const ids = id ? [id] : await this.idsNaming(name);
      for (const i of ids) if ((await this.indexedName(i)) === name) fsSync.rmSync(path.join(this.dir, 'ids', i), { force: true });
    }
    this.dirty.clear();
    this.deletedIds.clear();
    this.indexed.clear();
    this.dropped.clear();
  }
}

/** Rebuilds an index from the records: the addresses in use on a network, as integers. */
export type RebuildAddresses = (networkId: string, base: number, size: number, why: string, file: string) => Promise<Iterable<number>>;

/** Which addresses of a network's subnet are in use: one bit each, a fixed-size file per network (bitmap.ts). */
export class AddressBits {
  private maps = new Map<string, { m: Bitmap; dirty: boolean } | { dropped: true }>();
  /** How a missing or damaged bitmap is rebuilt; without it, one is an error. */
  rebuildFrom?: RebuildAddresses;

  constructor(private readonly dir: string) {}

  file(networkId: string): string {
    return path.join(this.dir, 'ipam', `${networkId}.bits`);
  }

  /** A network's bitmap file, decoded and checked: the bitmap, or what is wrong with the file. */
  private read(networkId: string, base: number, size: number): { bitmap: Bitmap; problem?: undefined } | { problem: string; bitmap?: undefined } {
    let buf: Buffer;
    try {
      buf = fsSync.readFileSync(this.file(networkId));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'missing' };
      throw e;
    }
    return decodeBitmap(buf, { base, size });
  }

  /** What is wrong with a network's bitmap file (undefined: nothing), without keeping it. */
  check(networkId: string, base: number, size: number): string | undefined {
    return this.read(networkId, base, size).problem;
  }

  private async map(networkId: string, base: number, size: number): Promise<Bitmap> {
    const have = this.maps.get(networkId);
    if (have && 'm' in have) return have.m;
    const r = have ? { problem: 'removed' } : this.read(networkId, base, size);
    if (r.bitmap) {
      this.maps.set(networkId, { m: r.bitmap, dirty: false });
      return r.bitmap;
    }
    return this.rebuild(networkId, base, size, r.problem);
  }

  /** Rebuilds a network's bitmap from the records (rebuildFrom), whatever the file holds. */
  async rebuild(networkId: string, base: number, size: number, why: string): Promise<Bitmap> {
    if (!this.rebuildFrom) throw new DamagedStateError(this.file(networkId), why, 'nsnet rebuilds it from the sandbox records');
    this.replace(networkId, base, size, await this.rebuildFrom(networkId, base, size, why, this.file(networkId)));
    return (this.maps.get(networkId) as { m: Bitmap }).m;
  }

  /** Replaces a network's bitmap with one holding `used` (a repair). */
  replace(networkId: string, base: number, size: number, used: Iterable<number>): void {
    this.maps.set(networkId, { m: bitmapOf(base, size, used), dirty: true });
  }

  /** A new network's bitmap, empty: from then on, a missing file means a lost one. */
  create(networkId: string, base: number, size: number): void {
    this.maps.set(networkId, { m: emptyBitmap(base, size), dirty: true });
  }

  /** A test "is address n (an integer) in use?" for ipam.allocate/checkStatic. */
  async usedTest(networkId: string, base: number, size: number): Promise<(n: number) => boolean> {
    const m = await this.map(networkId, base, size);
    return (n) => {
      const i = n - m.base;
      return i >= 0 && i < size && (m.bits[i >> 3]! & (1 << (i & 7))) !== 0;
    };
  }

  async set(networkId: string, base: number, size: number, n: number, used: boolean): Promise<void> {
    const m = await this.map(networkId, base, size);
    const i = n - base;
    if (i < 0 || i >= size) return;
    if (used) m.bits[i >> 3]! |= 1 << (i & 7);
    else m.bits[i >> 3]! &= ~(1 << (i & 7));
    this.maps.set(networkId, { m, dirty: true });
  }

  /**
   * Releases an address of a network nsnet cannot look up (networks.json
   * damaged), using the subnet the bitmap's own header names. A bitmap that
   * cannot be read is left alone: it is rebuilt from the records when next used.
   */
  async releaseByHeader(networkId: string, n: number): Promise<void> {
    const have = this.maps.get(networkId);
    let h: { base: number; size: number } | undefined = have && 'm' in have ? have.m : undefined;
    if (!h) {
      try {
        h = bitmapHeader(fsSync.readFileSync(this.file(networkId)));
      } catch {
        return;
      }
    }
    if (h && !this.check(networkId, h.base, h.size)) await this.set(networkId, h.base, h.size, n, false);
  }

  async anyUsed(networkId: string, base: number, size: number): Promise<boolean> {
    return (await this.map(networkId, base, size)).bits.some((b) => b !== 0);
  }

  /** The network ids that have a bitmap file. */
  ids(): string[] {
    return listDir(path.join(this.dir, 'ipam')).filter((f) => /^[0-9a-f]{64}\.bits$/.test(f)).map((f) => f.slice(0, 64));
  }

  /** Which subnet a bitmap file says it is for (undefined: no sane header). */
  header(networkId: string): { base: number; size: number; count: number } | undefined {
    try {
      return bitmapHeader(fsSync.readFileSync(this.file(networkId)));
    } catch {
      return undefined;
    }
  }

  /** Removes a network's bitmap when the section commits. */
  async drop(networkId: string): Promise<void> {
    this.maps.set(networkId, { dropped: true });
  }

  async flush(): Promise<void> {
    for (const [id, e] of this.maps) {
      if ('dropped' in e) fsSync.rmSync(this.file(id), { force: true });
      else if (e.dirty) await writeAtomic(this.file(id), encodeBitmap(e.m));
      if ('m' in e) e.dirty = false;
    }
    for (const [id, e] of this.maps) if ('dropped' in e) this.maps.delete(id);
  }
}

export interface PortClaim {
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  sandboxId: string;
}

/** Rebuilds the claims on one host port from the records. */
export type RebuildClaims = (proto: 'tcp' | 'udp', port: number, why: string, file: string) => Promise<PortClaim[]>;

/** Who holds each host port: one small file per (protocol, port). */
export class PortClaims {
  private files = new Map<string, { claims: PortClaim[]; dirty: boolean }>();
  /** How a damaged claim file is rebuilt; without it, one is an error. */
  rebuildFrom?: RebuildClaims;

  constructor(private readonly dir: string) {}

  private key(proto: string, port: number): string {
    return `${proto}-${port}`;
  }

  file(proto: string, port: number): string {
    return path.join(this.dir, 'ports', `${this.key(proto, port)}.json`);
  }

  /** The ports with a claim file: [proto, port] pairs. */
  list(): ['tcp' | 'udp', number][] {
    return listDir(path.join(this.dir, 'ports'))
      .map((f) => /^(tcp|udp)-(\d{1,5})\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1] as 'tcp' | 'udp', Number(m[2])]);
  }

  /** The claims of a file as it is, or what is wrong with it (no rebuild). */
  async read(proto: 'tcp' | 'udp', port: number): Promise<{ claims: PortClaim[]; problem?: string }> {
    const text = await readOrUndefined(this.file(proto, port));
    if (text === undefined) return { claims: [] };
    const p = parseState<PortClaim[]>(text, (v) => portClaimsProblem(v, proto, port));
    return p.problem !== undefined ? { claims: [], problem: p.problem } : { claims: p.value };
  }

  async get(proto: 'tcp' | 'udp', port: number): Promise<PortClaim[]> {
    const k = this.key(proto, port);
    let f = this.files.get(k);
    if (!f) {
      const r = await this.read(proto, port);
      if (r.problem !== undefined) {
        if (!this.rebuildFrom) throw new DamagedStateError(this.file(proto, port), r.problem, 'nsnet rebuilds it from the sandbox records');
        f = { claims: await this.rebuildFrom(proto, port, r.problem, this.file(proto, port)), dirty: true };
      } else {
        f = { claims: r.claims, dirty: false };
      }
      this.files.set(k, f);
    }
    return f.claims;
  }

  /** Replaces the claims on one port (a repair). */
  replace(proto: 'tcp' | 'udp', port: number, claims: PortClaim[]): void {
    this.files.set(this.key(proto, port), { claims, dirty: true });
  }

  async add(c: PortClaim): Promise<void> {
    await this.get(c.proto, c.hostPort);
    const f = this.files.get(this.key(c.proto, c.hostPort))!;
    f.claims = [...f.claims, c];
    f.dirty = true;
  }

  async release(sandboxId: string, ports: { proto: 'tcp' | 'udp'; hostPort: number }[]): Promise<void> {
    for (const p of ports) {
      await this.get(p.proto, p.hostPort);
      const f = this.files.get(this.key(p.proto, p.hostPort))!;
      f.claims = f.claims.filter((c) => c.sandboxId !== sandboxId);
      f.dirty = true;
    }
  }

  async flush(): Promise<void> {
    for (const [k, f] of this.files) {
      if (!f.dirty) continue;
      const file = path.join(this.dir, 'ports', `${k}.json`);
      if (f.claims.length) await writeAtomic(file, JSON.stringify(f.claims));
      else fsSync.rmSync(file, { force: true });
      f.dirty = false;
    }
  }
}
