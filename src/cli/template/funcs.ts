// The functions a `--format` template can call: Go's text/template builtins
// (and, or, not, len, index, slice, eq..ge, print, printf, println) and the
// ones Docker adds (docker/cli templates.go: json, split, join, title, lower,
// upper, pad, truncate). HEADER_FUNCS are Docker's stand-ins used to render a
// `table` header: each returns its first argument, the column's title.
//
// Pure.
import { printValue, truth } from './values.js';

export type Funcs = Record<string, (...args: never[]) => unknown>;

const eqOne = (a: unknown, b: unknown) => a === b || (a == null && b == null);

function cmp(op: string, a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) throw new Error(`incompatible types for comparison`);
  return op === 'lt' ? a! < b! : op === 'le' ? a! <= b! : op === 'gt' ? a! > b! : a! >= b!;
}

/** fmt.Sprint: spaces between operands when neither is a string. */
function sprint(args: unknown[]): string {
  let s = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') s += ' ';
    s += printValue(a);
  });
  return s;
}

/** fmt.Sprintf for the verbs templates use: %s %v %d %q %t %x %%, with an optional width. */
function sprintf(format: string, ...args: unknown[]): string {
  let n = 0;
  return format.replace(/%(-?)(\d*)([svdqtx%])/g, (_m, left: string, width: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    let s: string;
    if (verb === 'q') s = JSON.stringify(printValue(a));
    else if (verb === 'x') s = typeof a === 'number' ? a.toString(16) : Buffer.from(printValue(a)).toString('hex');
    else s = printValue(a);
    const w = Number(width || 0);
    return s.length >= w ? s : left ? s.padEnd(w) : s.padStart(w);
  });
}

function index(v: unknown, ...keys: unknown[]): unknown {
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || k < 0 || k >= v.length) throw new Error(`index out of range: ${printValue(k)}`);
      v = v[k];
    } else if (v && typeof v === 'object') {
      v = Object.prototype.hasOwnProperty.call(v, String(k)) ? (v as Record<string, unknown>)[String(k)] : undefined;
    } else {
      throw new Error(`can't index item of type ${v === null || v === undefined ? 'nil' : typeof v}`);
    }
  }
  return v;
}

function len(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${v === null || v === undefined ? 'nil' : typeof v}`);
}

/** strings.Title: the first letter of each word upper-cased. */
const title = (s: string) => String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase());

export const BUILTINS: Funcs = {
  and: (...a: unknown[]) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a: unknown[]) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (a: unknown) => !truth(a),
  len,
  index,
  slice: (v: unknown, i?: number, j?: number) => (typeof v === 'string' || Array.isArray(v) ? v.slice(i ?? 0, j) : index(v)),
  eq: (a: unknown, ...bs: unknown[]) => bs.some((b) => eqOne(a, b)),
  ne: (a: unknown, b: unknown) => !eqOne(a, b),
  lt: (a: unknown, b: unknown) => cmp('lt', a, b),
  le: (a: unknown, b: unknown) => cmp('le', a, b),
  gt: (a: unknown, b: unknown) => cmp('gt', a, b),
  ge: (a: unknown, b: unknown) => cmp('ge', a, b),
  print: (...a: unknown[]) => sprint(a),
  printf: sprintf,
  println: (...a: unknown[]) => `${a.map(printValue).join(' ')}\n`,
  // Docker's own (json.Encoder with SetEscapeHTML(false), trailing newline trimmed):
  json: (v: unknown) => JSON.stringify(v === undefined ? null : v),
  split: (s: string, sep: string) => String(s).split(sep),
  join: (a: unknown[], sep: string) => {
    if (!Array.isArray(a)) throw new Error(`wrong type for value; expected []string; got ${typeof a}`);
    return a.map(printValue).join(sep);
  },
  title,
  lower: (s: string) => String(s).toLowerCase(),
  upper: (s: string) => String(s).toUpperCase(),
  pad: (s: string, prefix: number, suffix: number) => `${' '.repeat(prefix)}${s}${' '.repeat(suffix)}`,
  truncate: (s: string, n: number) => (String(s).length > n ? String(s).slice(0, n) : String(s)),
};

/** Docker's HeaderFunctions: while rendering a table's header, these return the column title they were given. */
export const HEADER_FUNCS: Funcs = {
  ...BUILTINS,
  ...Object.fromEntries(['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'].map((n) => [n, (v: unknown) => printValue(v)])),
};
