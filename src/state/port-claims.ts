// Who holds each host port: one small file per (protocol, port),
// <runDir>/ports/<proto>-<port>.json, listing the claims on it. An index of
// the sandbox records' published ports: a damaged file is rebuilt from them
// by the caller's rebuildFrom, which says so.
import * as fsSync from 'node:fs';
import path from 'node:path';
import { DamagedStateError } from './damaged.js';
import { listDir, readOrUndefined, writeAtomic } from './small-files.js';
import { parseState, portClaimsProblem } from './validate.js';

/** One sandbox's binding of a host port (on one host address, or all: 0.0.0.0). */
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
