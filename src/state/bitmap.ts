// The on-disk form of a network's address bitmap (<runDir>/ipam/<id>.bits):
// a 20-byte header, then one bit per address of the subnet.
//
//   0  "NSB1"        magic and version
//   4  base          the subnet's first address, as a big-endian uint32
//   8  size          the number of addresses in the subnet
//   12 count         how many bits are set
//   16 crc32         of bytes 0-15 and the bits
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

let table: Uint32Array | undefined;

/** CRC-32 (IEEE, as zlib's), without loading node:zlib (milliseconds for a CLI call). */
export function crc32(buf: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function popcount(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) {
    let b = bits[i]!;
    while (b) {
      b &= b - 1;
      n++;
    }
  }
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
  out.writeUInt32BE(crc32(out.subarray(HEADER), crc32(out.subarray(0, 16))), 16);
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
  if (crc32(bits, crc32(buf.subarray(0, 16))) !== buf.readUInt32BE(16)) return { problem: 'its checksum does not match (changed or damaged)' };
  if (popcount(bits) !== h.count) return { problem: 'its count of addresses does not match its bits' };
  return { bitmap: { base: h.base, size: h.size, bits: Buffer.from(bits) } };
}

export function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
