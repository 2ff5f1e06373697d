// Runtime state kept so that no operation on one sandbox reads or writes a
// file that grows with the number of sandboxes:
//
//   <runDir>/sandboxes/<name>.json     one record per sandbox
//   <runDir>/ids/<id>                  the sandbox's name, for lookups by id
//   <runDir>/ipam/<network id>.bits    one bit per address of the network's subnet
//   <runDir>/ports/<proto>-<port>.json the bindings of one host port
//
// Everything is read lazily and written only when the locked section that
// changed it succeeds (withState in store.ts), each file atomically.
//
// These are small files on a tmpfs, touched while holding the lock: the
// synchronous calls take microseconds, where a trip through libuv's thread
// pool for each would cost more than the work (docs/bench/core.md).
import * as fsSync from 'node:fs';
import path from 'node:path';

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

/** Sandbox records, one file each, by name; an id index beside them. */
export class RecordFiles<R extends { id: string; name: string }> {
  private byName = new Map<string, R | null>();
  private dirty = new Map<string, R | null>();
  /** For deleted records: the id whose index entry goes with them. */
  private deletedIds = new Map<string, string>();

  constructor(private readonly dir: string) {}

  private file(name: string): string {
    return path.join(this.dir, 'sandboxes', `${name}.json`);
  }

  async get(name: string): Promise<R | undefined> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return undefined;
    if (!this.byName.has(name)) {
      const text = await readOrUndefined(this.file(name));
      this.byName.set(name, text ? (JSON.parse(text) as R) : null);
    }
    return this.byName.get(name) ?? undefined;
  }

  /** A record by its full id. */
  async byId(id: string): Promise<R | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    for (const r of this.byName.values()) if (r?.id === id) return r;
    const name = await readOrUndefined(path.join(this.dir, 'ids', id));
    return name ? this.get(name.trim()) : undefined;
  }

  /** Full ids starting with `prefix` (reads the id index: for `nsnet rm 3f2a`-style references). */
  async idsWithPrefix(prefix: string): Promise<string[]> {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    let ids: string[] = [];
    try {
      ids = fsSync.readdirSync(path.join(this.dir, 'ids'));
    } catch {
      // no sandbox yet
    }
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

  /** Every record (reads them all: for ps, inspect, network inspect, the DNS server's start). */
  async all(): Promise<R[]> {
    let files: string[] = [];
    try {
      files = fsSync.readdirSync(path.join(this.dir, 'sandboxes'));
    } catch {
      // no sandbox yet
    }
    for (const f of files) if (f.endsWith('.json')) await this.get(f.slice(0, -'.json'.length));
    return [...this.byName.values()].filter((r): r is R => !!r).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async flush(): Promise<void> {
    for (const [name, r] of this.dirty) {
      if (r) {
        await writeAtomic(this.file(name), JSON.stringify(r));
        // A record read from its file and written back (a status change): its id index stands.
        if (!this.indexed.has(name)) await writeAtomic(path.join(this.dir, 'ids', r.id), name);
      } else {
        let id = this.deletedIds.get(name);
        if (id === undefined) {
          const old = await readOrUndefined(this.file(name));
          if (old) id = (JSON.parse(old) as R).id;
        }
        if (id !== undefined) fsSync.rmSync(path.join(this.dir, 'ids', id), { force: true });
        fsSync.rmSync(this.file(name), { force: true });
      }
    }
    this.dirty.clear();
    this.deletedIds.clear();
    this.indexed.clear();
  }
}

/** Which addresses of a network's subnet are in use: one bit each, a fixed-size file per network. */
export class AddressBits {
  private maps = new Map<string, { base: number; bits: Buffer; dirty: boolean }>();

  constructor(private readonly dir: string) {}

  private file(networkId: string): string {
    return path.join(this.dir, 'ipam', `${networkId}.bits`);
  }

  private async map(networkId: string, base: number, size: number) {
    let m = this.maps.get(networkId);
    if (!m) {
      const bytes = Math.ceil(size / 8);
      let bits: Buffer;
      try {
        bits = fsSync.readFileSync(this.file(networkId));
      } catch {
        bits = Buffer.alloc(bytes);
      }
      if (bits.length !== bytes) bits = Buffer.alloc(bytes);
      m = { base, bits, dirty: false };
      this.maps.set(networkId, m);
    }
    return m;
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
    m.dirty = true;
  }

  async anyUsed(networkId: string): Promise<boolean> {
    let bits = this.maps.get(networkId)?.bits;
    if (!bits) {
      try {
        bits = fsSync.readFileSync(this.file(networkId));
      } catch {
        bits = Buffer.alloc(0);
      }
    }
    return bits.some((b) => b !== 0);
  }

  async drop(networkId: string): Promise<void> {
    this.maps.delete(networkId);
    fsSync.rmSync(this.file(networkId), { force: true });
  }

  async flush(): Promise<void> {
    for (const [id, m] of this.maps) {
      if (m.dirty) await writeAtomic(this.file(id), m.bits);
      m.dirty = false;
    }
  }
}

export interface PortClaim {
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  sandboxId: string;
}

/** Who holds each host port: one small file per (protocol, port). */
export class PortClaims {
  private files = new Map<string, { claims: PortClaim[]; dirty: boolean }>();

  constructor(private readonly dir: string) {}

  private key(proto: string, port: number): string {
    return `${proto}-${port}`;
  }

  async get(proto: 'tcp' | 'udp', port: number): Promise<PortClaim[]> {
    const k = this.key(proto, port);
    let f = this.files.get(k);
    if (!f) {
      const text = await readOrUndefined(path.join(this.dir, 'ports', `${k}.json`));
      f = { claims: text ? (JSON.parse(text) as PortClaim[]) : [], dirty: false };
      this.files.set(k, f);
    }
    return f.claims;
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
