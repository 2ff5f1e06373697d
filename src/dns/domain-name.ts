// Domain names on the wire (RFC 1035 §3.1) and as text: what the query parser
// and the reply builder need.
//
// On the wire a name is length-prefixed labels ending in a 0 byte:
// `db.mynet` is 02 'd' 'b' 05 'm' 'y' 'n' 'e' 't' 00. As text nsnet uses dig's
// presentation form: a byte that is not printable ASCII, or a `.` or `\` inside
// a label, is escaped (`\046`, `\.`), so a hostile label can't pass for two
// labels. Only ASCII letters are case-folded (RFC 4343).
//
// Pure: the caller owns any scratch buffer (message.ts QueryParser).

/** Longest name on the wire, length bytes and the final 0 included (RFC 1035 §3.1). */
export const NAME_MAX = 255;
export const LABEL_MAX = 63;

/** A question's name, read by readQName. */
export interface QName {
  /** Offset after the name's final 0. */
  end: number;
  /** As sent, presentation form, no trailing dot ('' for the root). */
  raw: string;
  /** `raw` lower-cased (ASCII letters only). */
  lower: string;
}

/** True when byte c can't appear unescaped in a presentation-form label. */
function special(c: number): boolean {
  return c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c;
}

/** One label in presentation form: `\.`, `\\`, and `\DDD` for bytes outside printable ASCII. */
function escapeLabel(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

/** The label buf[start, end) in presentation form (escaped only if it must be). */
export function labelText(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (special(buf[i]!)) return escapeLabel(buf, start, end);
  return buf.toString('latin1', start, end);
}

/**
 * Reads an uncompressed name at `start`, or null if it is truncated, uses a
 * pointer or a reserved label type, or is too long. `scratch` (at least
 * NAME_MAX bytes, the caller's, reused across calls) is where the name's bytes
 * are put together with dots between labels: one string made, no allocation
 * per query for the bytes (measured: a buffer per call costs about as much as
 * the rest of the read).
 */
export function readQName(buf: Buffer, start: number, scratch: Buffer): QName | null {
  const len = buf.length;
  let pos = start;
  let out = 0;
  let escape = false;
  let upper = false;
  for (;;) {
    if (pos >= len) return null;
    const l = buf[pos]!;
    if (l === 0) break;
    // 0xC0 is a compression pointer, 0x40/0x80 reserved label types: refused in a question,
    // where no earlier name exists to point at.
    if (l > LABEL_MAX) return null;
    const end = pos + 1 + l;
    // The label, then at least one more length byte; and the whole name (with its final 0) ≤ 255.
    if (end >= len || end + 1 - start > NAME_MAX) return null;
    if (out > 0) scratch[out++] = 0x2e;
    for (let i = pos + 1; i < end; i++) {
      const c = buf[i]!;
      if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) escape = true;
      else if (c >= 0x41 && c <= 0x5a) upper = true;
      scratch[out++] = c;
    }
    pos = end;
  }
  let raw: string;
  if (escape) {
    const labels: string[] = [];
    for (let p = start; buf[p]! !== 0; p += 1 + buf[p]!) labels.push(escapeLabel(buf, p + 1, p + 1 + buf[p]!));
    raw = labels.join('.');
  } else {
    raw = scratch.toString('latin1', 0, out);
  }
  // Escaping left only ASCII, so toLowerCase folds exactly A-Z.
  return { end: pos + 1, raw, lower: upper ? raw.toLowerCase() : raw };
}

/** Offset after a possibly compressed name (a pointer is not followed), or -1. */
export function skipName(buf: Buffer, start: number): number {
  const len = buf.length;
  let pos = start;
  for (;;) {
    if (pos >= len) return -1;
    const l = buf[pos]!;
    if (l === 0) return pos + 1;
    if ((l & 0xc0) === 0xc0) return pos + 2 <= len ? pos + 2 : -1;
    if (l > LABEL_MAX) return -1;
    pos += 1 + l;
  }
}

/** A name in presentation form (`\.` and `\DDD` escapes understood) to wire form. Throws if invalid. */
export function encodeName(name: string): Buffer {
  // A final unescaped dot is the root: `a.` is `a`, but `a\.` ends in a dot inside its label.
  let slashes = 0;
  while (name.charCodeAt(name.length - 2 - slashes) === 0x5c) slashes++;
  const text = name.endsWith('.') && slashes % 2 === 0 ? name.slice(0, -1) : name;
  const out = Buffer.allocUnsafe(NAME_MAX);
  let o = 0;
  if (text !== '') {
    let lenAt = o++;
    let l = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c === 0x2e) {
        if (l === 0) throw new Error(`invalid DNS name ${JSON.stringify(name)}: empty label`);
        out[lenAt] = l;
        lenAt = o++;
        l = 0;
        if (o >= NAME_MAX) throw new Error(`invalid DNS name ${JSON.stringify(name)}: longer than 255 bytes`);
        continue;
      }
      if (c === 0x5c) {
        const d = text.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(d) && Number(d) <= 255) {
          c = Number(d);
          i += 3;
        } else if (i + 1 < text.length) {
          c = text.charCodeAt(++i);
        } else {
          throw new Error(`invalid DNS name ${JSON.stringify(name)}: dangling escape`);
        }
      }
      if (c > 0xff) throw new Error(`invalid DNS name ${JSON.stringify(name)}: non-ASCII character (use punycode)`);
      if (++l > LABEL_MAX) throw new Error(`invalid DNS name ${JSON.stringify(name)}: label longer than 63 bytes`);
      if (o >= NAME_MAX - 1) throw new Error(`invalid DNS name ${JSON.stringify(name)}: longer than 255 bytes`);
      out[o++] = c;
    }
    if (l === 0) throw new Error(`invalid DNS name ${JSON.stringify(name)}: empty label`);
    out[lenAt] = l;
  }
  out[o++] = 0;
  return out.subarray(0, o);
}
