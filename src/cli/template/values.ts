// Go's view of template values: which are structs, which are true, and how
// fmt prints them (nil `<nil>`, a missing map key `<no value>`, lists `[a b]`,
// maps `map[k:v]` with sorted keys, structs `{v1 v2}`).
//
// Pure.

export const TYPE = Symbol('goType');

/** An object that behaves as a Go struct in templates: missing fields are errors; function-valued fields are methods (not in `{{json .}}`). */
export function struct<T extends object>(typeName: string, fields: T, methods: Record<string, (...a: never[]) => unknown> = {}): T {
  const o = { ...fields };
  Object.defineProperty(o, TYPE, { value: typeName, enumerable: false });
  for (const [k, f] of Object.entries(methods)) Object.defineProperty(o, k, { value: f, enumerable: false });
  return o;
}

/** Go's truth: false, 0, "", nil and empty lists and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(TYPE in v)) return Object.keys(v).length > 0;
  return true;
}

/** How fmt prints a value with %v. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (TYPE in v) return `{${keys.map((k) => printValue((v as Record<string, unknown>)[k])).join(' ')}}`;
    return `map[${keys.sort().map((k) => `${k}:${printValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

