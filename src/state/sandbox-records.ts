// Sandbox records, one file each (<runDir>/sandboxes/<name>.json), with their
// indexes: ids/<id> (the name, for lookups by id) and creating/<name> (a
// create in progress: its process). Each file is checked as it is read
// (validate.ts): a damaged record is reported by path (DamagedStateError) and
// can still be removed by name. Changes are staged and written by flush(),
// when the locked section that made them succeeds.
import * as fsSync from 'node:fs';
import path from 'node:path';
import { DamagedStateError } from './damaged.js';
import { listDir, readOrUndefined, writeAtomic } from './small-files.js';
import { creatorProblem, parseState, sandboxProblem } from './validate.js';

/** The names a record file can have (what sandbox names allow). */
const RECORD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

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
    if (!RECORD_NAME.test(name)) return undefined;
    await this.load(name);
    const d = this.damaged.get(name);
    if (d) throw new DamagedStateError(d.path, d.problem, recordHint(name));
    return this.byName.get(name) ?? undefined;
  }

  /** A record by name, or what is known of it if it is damaged; undefined if there is none. */
  async peek(name: string): Promise<{ record: R } | { damaged: DamagedRecord } | undefined> {
    if (!RECORD_NAME.test(name)) return undefined;
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
          if (!name || names.has(name) || this.byName.get(name) || this.dropped.has(name) || !RECORD_NAME.test(name)) continue;
          damaged.push({ name, path: this.file(name), problem: `missing (the id index ids/${id} still names it)`, id });
        }
      }
    }
    return { records, damaged: damaged.sort((a, b) => (a.name < b.name ? -1 : 1)) };
  }

  /** Names with a create in progress (or left by a create that died): creating/<name>. Empty in the normal case. */
  creating(): string[] {
    return listDir(path.join(this.dir, 'creating')).filter((n) => RECORD_NAME.test(n) && !n.endsWith('.tmp'));
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

