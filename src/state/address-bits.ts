// Which addresses of a network's subnet are in use: one bit each, a
// fixed-size file per network (<runDir>/ipam/<network id>.bits, format in
// bitmap.ts). An index of the sandbox records: a missing or damaged bitmap
// is rebuilt from them by the caller's rebuildFrom, which says so.
// Dual-stack networks have a second one for IPv6 (<network id>.bits6): bit i
// is the i-th address of the IPv6 subnet, over its first 4096 (net/ip6.ts window6).
import * as fsSync from 'node:fs';
import path from 'node:path';
import { bitmapHeader, bitmapOf, decodeBitmap, emptyBitmap, encodeBitmap, type Bitmap } from './bitmap.js';
import { DamagedStateError } from './damaged.js';
import { listDir, writeAtomic } from './small-files.js';

/** Rebuilds an index from the records: the addresses in use on a network, as integers. */
export type RebuildAddresses = (networkId: string, base: number, size: number, why: string, file: string) => Promise<Iterable<number>>;

/** Which addresses of a network's subnet are in use: one bit each, a fixed-size file per network (bitmap.ts). */
export class AddressBits {
  private bitmaps = new Map<string, { m: Bitmap; dirty: boolean } | { dropped: true }>();
  /** How a missing or damaged bitmap is rebuilt; without it, one is an error. */
  rebuildFrom?: RebuildAddresses;

  /** `ext`: the files' extension, `bits` (IPv4) or `bits6` (IPv6 offsets). */
  constructor(private readonly dir: string, private readonly ext = 'bits') {}

  file(networkId: string): string {
    return path.join(this.dir, 'ipam', `${networkId}.${this.ext}`);
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

  /** A network's bitmap: the one this section holds, else its file, else rebuilt from the records. */
  private async bitmap(networkId: string, base: number, size: number): Promise<Bitmap> {
    const have = this.bitmaps.get(networkId);
    if (have && 'm' in have) return have.m;
    const r = have ? { problem: 'removed' } : this.read(networkId, base, size);
    if (r.bitmap) {
      this.bitmaps.set(networkId, { m: r.bitmap, dirty: false });
      return r.bitmap;
    }
    return this.rebuild(networkId, base, size, r.problem);
  }

  /** Rebuilds a network's bitmap from the records (rebuildFrom), whatever the file holds. */
  async rebuild(networkId: string, base: number, size: number, why: string): Promise<Bitmap> {
    if (!this.rebuildFrom) throw new DamagedStateError(this.file(networkId), why, 'nsnet rebuilds it from the sandbox records');
    this.replace(networkId, base, size, await this.rebuildFrom(networkId, base, size, why, this.file(networkId)));
    return (this.bitmaps.get(networkId) as { m: Bitmap }).m;
  }

  /** Replaces a network's bitmap with one holding `used` (a repair). */
  replace(networkId: string, base: number, size: number, used: Iterable<number>): void {
    this.bitmaps.set(networkId, { m: bitmapOf(base, size, used), dirty: true });
  }

  /** A new network's bitmap, empty: from then on, a missing file means a lost one. */
  create(networkId: string, base: number, size: number): void {
    this.bitmaps.set(networkId, { m: emptyBitmap(base, size), dirty: true });
  }

  /** A test "is address n (an integer) in use?" for ipam.allocate/checkStatic. */
  async usedTest(networkId: string, base: number, size: number): Promise<(n: number) => boolean> {
    const m = await this.bitmap(networkId, base, size);
    return (n) => {
      const i = n - m.base;
      return i >= 0 && i < size && (m.bits[i >> 3]! & (1 << (i & 7))) !== 0;
    };
  }

  async set(networkId: string, base: number, size: number, n: number, used: boolean): Promise<void> {
    const m = await this.bitmap(networkId, base, size);
    const i = n - base;
    if (i < 0 || i >= size) return;
    if (used) m.bits[i >> 3]! |= 1 << (i & 7);
    else m.bits[i >> 3]! &= ~(1 << (i & 7));
    this.bitmaps.set(networkId, { m, dirty: true });
  }

  /**
   * Releases an address of a network nsnet cannot look up (networks.json
   * damaged), using the subnet the bitmap's own header names. A bitmap that
   * cannot be read is left alone: it is rebuilt from the records when next used.
   */
  async releaseByHeader(networkId: string, n: number): Promise<void> {
    const have = this.bitmaps.get(networkId);
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
    return (await this.bitmap(networkId, base, size)).bits.some((b) => b !== 0);
  }

  /** The network ids that have a bitmap file. */
  ids(): string[] {
    const suffix = `.${this.ext}`;
    return listDir(path.join(this.dir, 'ipam')).filter((f) => f.endsWith(suffix) && /^[0-9a-f]{64}$/.test(f.slice(0, -suffix.length))).map((f) => f.slice(0, 64));
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
    this.bitmaps.set(networkId, { dropped: true });
  }

  async flush(): Promise<void> {
    for (const [id, e] of this.bitmaps) {
      if ('dropped' in e) fsSync.rmSync(this.file(id), { force: true });
      else if (e.dirty) await writeAtomic(this.file(id), encodeBitmap(e.m));
      if ('m' in e) e.dirty = false;
    }
    for (const [id, e] of this.bitmaps) if ('dropped' in e) this.bitmaps.delete(id);
  }
}

