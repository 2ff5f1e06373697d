// The on-disk form of a network's address bitmap (<runDir>/ipam/<id>.bits):
// a 20-byte header, then one bit per address of the subnet.
//
//   0  "NSB1"        magic and version
//   4  base          the subnet's first address, as a big-endian uint32
//   8  size          the number of addresses in the subnet
//   12 count         how many bits are set
//   16 checksum      of bytes 0-15 and the bits (checksum() below)
//   20 bits          ceil(size / 8) bytes, bit i of byte i>>3 = address base + i
//
// The bitmap is an index of the sandbox records (they are the truth): a file
// that is missing, cut short, too long, for another subnet, or whose checksum
// does not match is reported, and the caller rebuilds it from the records.
// Checking costs one pass over the bits (8 KiB for a /16), never a record.
// Pure.

export const BITMAP_MAGIC = 'NSB1';
export const HEADER = 20;

export interface Bitmap {
  base: number;
  size: number;
  bits: Buffer;
}

/**
 * FNV-1a over 32-bit little-endian words (the bytes zero-padded to a multiple
 * of 4). Every change of one word changes it (each step is a bijection), so a
 * damaged byte is always seen; it costs a quarter of a byte-wise CRC, which
 * matters in a CLI process where the loop runs before the JIT has warmed up
 * (node:zlib's crc32 costs milliseconds to load).
 */
export function checksum(...parts: Uint8Array[]): number {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const words = new Uint32Array(Math.ceil(len / 4));
  const bytes = new Uint8Array(words.buffer);
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return h >>> 0;
}

const POP = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let b = i; b; b &= b - 1) n++;
  return n;
});

function popcount(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) n += POP[bits[i]!]!;
  return n;
}

export const bitmapBytes = (size: number) => Math.ceil(size / 8);

/** An empty bitmap for a subnet. */
export function emptyBitmap(base: number, size: number): Bitmap {
  return { base, size, bits: Buffer.alloc(bitmapBytes(size)) };
}

/** A bitmap with `used` (address integers) set; ones outside the subnet are ignored. */
export function bitmapOf(base: number, size: number, used: Iterable<number>): Bitmap {
  const m = emptyBitmap(base, size);
  for (const n of used) {
    const i = n - base;
    if (i >= 0 && i < size) m.bits[i >> 3]! |= 1 << (i & 7);
  }
  return m;
}

/** The addresses set in a bitmap, as integers. */
export function bitmapAddresses(m: Bitmap): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.size; i++) if (m.bits[i >> 3]! & (1 << (i & 7))) out.push(m.base + i);
  return out;
}

export function encodeBitmap(m: Bitmap): Buffer {
  const out = Buffer.alloc(HEADER + m.bits.length);
  out.write(BITMAP_MAGIC, 0, 'latin1');
  out.writeUInt32BE(m.base, 4);
  out.writeUInt32BE(m.size, 8);
  out.writeUInt32BE(popcount(m.bits), 12);
  m.bits.copy(out, HEADER);
  out.writeUInt32BE(checksum(out.subarray(0, 16), out.subarray(HEADER)), 16);
  return out;
}

/** The header alone, when it is whole and sane: which subnet a file is for, and how many addresses it holds. */
export function bitmapHeader(buf: Buffer): { base: number; size: number; count: number } | undefined {
  if (buf.length < HEADER || buf.toString('latin1', 0, 4) !== BITMAP_MAGIC) return undefined;
  const base = buf.readUInt32BE(4);
  const size = buf.readUInt32BE(8);
  if (size < 4 || size > 2 ** 31 || (size & (size - 1)) !== 0 || base % size !== 0) return undefined;
  return { base, size, count: buf.readUInt32BE(12) };
}

/**
 * Decodes a bitmap file, checking it is whole and for the subnet expected
 * (base, size). Returns the bitmap, or what is wrong with the file.
 */
export function decodeBitmap(buf: Buffer, expect: { base: number; size: number }): { bitmap: Bitmap; problem?: undefined } | { problem: string; bitmap?: undefined } {
  if (buf.length === 0) return { problem: 'empty (0 bytes)' };
  const h = bitmapHeader(buf);
  if (!h) {
    // nsnet before this format wrote the bits alone.
    if (buf.length === bitmapBytes(expect.size)) return { problem: 'in the old format without a header or checksum' };
    return { problem: buf.length < HEADER ? `cut short (${buf.length} bytes)` : 'not an address bitmap (no NSB1 header)' };
  }
  if (h.base !== expect.base || h.size !== expect.size) return { problem: `for another subnet (${h.size} addresses from ${ipText(h.base)})` };
  const want = HEADER + bitmapBytes(h.size);
  if (buf.length !== want) return { problem: `${buf.length < want ? 'cut short' : 'too long'} (${buf.length} bytes, expected ${want})` };
  const bits = buf.subarray(HEADER);
  // The count is under the checksum too: no second pass over the bits.
  if (checksum(buf.subarray(0, 16), bits) !== buf.readUInt32BE(16)) return { problem: 'its checksum does not match (changed or damaged)' };
  return { bitmap: { base: h.base, size: h.size, bits: Buffer.from(bits) } };
}

export function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
