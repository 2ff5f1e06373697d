// Reading values out of a parsed compose document: each reader names the key
// when the value has the wrong shape ("services.web.ports[1]: ..."), the
// way every error of the compose loader does (ComposeError).
import type { Env } from './interpolate.js';

export class ComposeError extends Error {
  override name = 'ComposeError';
}

/** Warns about each key of `obj` that is neither in `known` nor in `also` (`x-` extension keys are fine). */
export function warnUnknownKeys(obj: Record<string, unknown>, known: Set<string>, path: string, warn: (m: string) => void, also?: Set<string>): void {
  for (const k of Object.keys(obj)) {
    if (known.has(k) || also?.has(k) || k.startsWith('x-')) continue;
    warn(`${path ? `${path}.` : ''}${k}: unknown key, ignored`);
  }
}

/** A YAML mapping (not a list, not null). */
export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A mapping, or {} when the key is absent. */
export function mapping(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new ComposeError(`${path} must be a mapping`);
  return v;
}

/** A string, number or boolean, as text. */
export function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ComposeError(`${path} must be a string`);
}

export function optScalar(v: unknown, path: string): string | undefined {
  return v === undefined || v === null ? undefined : scalar(v, path);
}

/** true/false (or their text); absent is false. */
export function bool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ComposeError(`${path} must be a boolean`);
}

/** A list of strings, or one string where Compose allows it (`dns: 1.1.1.1`). */
export function stringList(v: unknown, path: string, oneAllowed = false): string[] {
  if (v === undefined || v === null) return [];
  if (oneAllowed && !Array.isArray(v)) return [scalar(v, path)];
  if (!Array.isArray(v)) throw new ComposeError(`${path} must be a list`);
  return v.map((x, i) => scalar(x, `${path}[${i}]`));
}

/** `KEY=VALUE` pairs from a list (`- KEY=VALUE`, `- KEY`) or a mapping (`KEY: VALUE`, `KEY:`). */
export function keyValues(v: unknown, path: string, env: Env, sep = '='): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const s = scalar(item, `${path}[${i}]`);
      const at = s.indexOf(sep);
      if (at < 0) {
        // `- KEY` alone: the value comes from the environment, or the key is left out.
        const fromEnv = env[s];
        if (fromEnv !== undefined) out[s] = fromEnv;
      } else {
        out[s.slice(0, at)] = s.slice(at + 1);
      }
    });
    return out;
  }
  for (const [k, val] of Object.entries(mapping(v, path))) {
    if (val === null || val === undefined) {
      const fromEnv = env[k];
      if (fromEnv !== undefined) out[k] = fromEnv;
    } else {
      out[k] = scalar(val, `${path}.${k}`);
    }
  }
  return out;
}

