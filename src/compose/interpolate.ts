// Compose files name values from the environment: `ports: ["${WEB_PORT:-8080}:80"]`.
// This is Compose's interpolation (compose-go/template), applied to every
// string value of the file before it is read as a project:
//
//   $VAR, ${VAR}        the value, or "" (with a warning) when VAR is unset
//   ${VAR:-default}     default when VAR is unset or empty    ${VAR-default}  only when unset
//   ${VAR:?message}     error when VAR is unset or empty       ${VAR?message}  only when unset
//   ${VAR:+other}       other when VAR is set and not empty    ${VAR+other}    when set
//   $$                  a literal $
//
// Defaults may themselves hold ${...}. Variables come from the process
// environment first, then the project directory's `.env` file (parseDotEnv).
//
// Pure: the environment is passed in.

export type Env = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Substitutes the variables in one string; `where` names the key for error messages. */
export function interpolate(text: string, env: Env, where: string, warn: (m: string) => void = () => {}): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`${where}: invalid interpolation format for "${text}": missing "}"`);
      out += substitute(text.slice(i + 2, end), env, where, warn);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (!m) {
      // A lone "$" (e.g. "cost: 5$") stays as it is, as Compose leaves it.
      out += '$';
      i++;
      continue;
    }
    out += lookup(m[0], env, warn);
    i += 1 + m[0].length;
  }
  return out;
}

/** The index of the "}" that closes a "${" whose body starts at `from`, minding nested "${...}". */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '$' && text[j + 1] === '{') {
      depth++;
      j++;
    } else if (text[j] === '}') {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

function lookup(name: string, env: Env, warn: (m: string) => void): string {
  const v = env[name];
  if (v === undefined) {
    warn(`The "${name}" variable is not set. Defaulting to a blank string.`);
    return '';
  }
  return v;
}

function substitute(body: string, env: Env, where: string, warn: (m: string) => void): string {
  const m = NAME.exec(body);
  if (!m) throw new InterpolationError(`${where}: invalid interpolation format for "\${${body}}"`);
  const name = m[0];
  const rest = body.slice(name.length);
  if (rest === '') return lookup(name, env, warn);
  const v = env[name];
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (!op) throw new InterpolationError(`${where}: invalid interpolation format for "\${${body}}"`);
  const arg = () => interpolate(rest.slice(op.length), env, where, warn);
  const colon = op.startsWith(':');
  const missing = v === undefined || (colon && v === '');
  switch (op.slice(-1)) {
    case '-':
      return missing ? arg() : v!;
    case '?':
      if (missing) throw new InterpolationError(`${where}: required variable ${name} is missing a value${rest.length > op.length ? `: ${arg()}` : ''}`);
      return v!;
    default: // '+'
      return missing ? '' : arg();
  }
}

/** Interpolates every string in a parsed YAML tree (values only, as Compose: keys stay literal). */
export function interpolateTree(node: unknown, env: Env, path: string, warn: (m: string) => void): unknown {
  if (typeof node === 'string') return interpolate(node, env, path, warn);
  if (Array.isArray(node)) return node.map((v, i) => interpolateTree(v, env, `${path}[${i}]`, warn));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolateTree(v, env, path ? `${path}.${k}` : k, warn);
    return out;
  }
  return node;
}

/**
 * A `.env` file: `KEY=VALUE` lines, `export KEY=VALUE`, `#` comments, values
 * in single quotes (literal) or double quotes (\n, \t, \", \\ escapes); an
 * unquoted value ends at " #". Returns the variables in file order.
 */
export function parseDotEnv(text: string, file = '.env'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    const key = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) throw new InterpolationError(`${file}:${n + 1}: invalid variable name "${key}"`);
    if (eq < 0) return; // `KEY` alone: Compose takes it from the environment, if there.
    let value = body.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\([nt"\\])/g, (_, e: string) => ({ n: '\n', t: '\t', '"': '"', '\\': '\\' })[e]!);
    } else {
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash).trimEnd();
    }
    out[key] = value;
  });
  return out;
}
