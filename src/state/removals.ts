// Removals whose last kernel work runs after the operation answered
// (<runDir>/removing/<id>.json): the sandbox's record as it was, with the
// process doing that work (pid, start time). The record itself is gone from
// sandboxes/ (its name is free again); what the pending work still holds -
// its addresses and host ports - stays claimed in the bitmaps and port
// claims until the work is done and the entry dropped, in one locked section. A
// process that dies meanwhile leaves the entry: the next locked section finds
// its owner gone and finishes the work (docker/removals.ts). Cheap when
// there is none: one readdir of an empty directory.
import * as fsSync from 'node:fs';
import path from 'node:path';
import type { Creator } from './sandbox-records.js';
import { listDir, readOrUndefined, writeAtomic } from './small-files.js';
import { creatorProblem, parseState } from './validate.js';

/** A pending removal: the record, and who is finishing it. */
export interface Removal<R> {
  record: R;
  owner: Creator;
}

function removalProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected {record, owner}';
  const o = v as Record<string, unknown>;
  if (typeof o.record !== 'object' || o.record === null || typeof (o.record as { id?: unknown }).id !== 'string') return 'record has no id';
  const p = creatorProblem(o.owner);
  return p === undefined ? undefined : `owner: ${p}`;
}

export class PendingRemovals<R extends { id: string; name: string }> {
  private staged = new Map<string, Removal<R> | null>();

  constructor(private readonly dir: string) {}

  private file(id: string): string {
    return path.join(this.dir, 'removing', `${id}.json`);
  }

  /** The ids with a pending removal (staged ones included). Empty in the normal case. */
  ids(): string[] {
    const on = listDir(path.join(this.dir, 'removing')).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).map((f) => f.slice(0, -5));
    const all = new Set([...on, ...this.staged.keys()]);
    return [...all].filter((id) => this.staged.get(id) !== null);
  }

  /** A pending removal; undefined if there is none (or its file cannot be read: dropped then, see all()). */
  async get(id: string): Promise<Removal<R> | undefined> {
    const s = this.staged.get(id);
    if (s !== undefined) return s ?? undefined;
    const text = await readOrUndefined(this.file(id));
    if (text === undefined) return undefined;
    return parseState<Removal<R>>(text, removalProblem).value;
  }

  /** Every pending removal; an unreadable entry is returned as its id alone (its claims cannot be known). */
  async all(): Promise<{ removals: Removal<R>[]; unreadable: string[] }> {
    const removals: Removal<R>[] = [];
    const unreadable: string[] = [];
    for (const id of this.ids()) {
      const r = await this.get(id);
      if (r) removals.push(r);
      else unreadable.push(id);
    }
    return { removals, unreadable };
  }

  put(r: Removal<R>): void {
    this.staged.set(r.record.id, r);
  }

  drop(id: string): void {
    this.staged.set(id, null);
  }

  async flush(): Promise<void> {
    for (const [id, r] of this.staged) {
      if (r) await writeAtomic(this.file(id), JSON.stringify(r));
      else fsSync.rmSync(this.file(id), { force: true });
    }
    this.staged.clear();
  }
}
