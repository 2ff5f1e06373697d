// Reads the options of one command (or group) from argv, by pflag's rules
// (the library under Docker's CLI):
//
//   --flag=value, --flag value, -f value, -fvalue, -f=value, -it (bool shorts combined),
//   -ip 80:80 (bools, then one short that takes the rest or the next word),
//   `--` ends the options, and error messages are pflag's and Docker's words.
//
// Pure: no I/O.
import { helpShorthand } from './commands.js';
import type { FlagSpec, FlagValue } from './spec.js';
import { UsageError } from './usage-error.js';


export interface ScanContext {
  /** Canonical command, for error messages; undefined at the top level. */
  command: string | undefined;
  /** Whether flags may follow positionals (pflag's SetInterspersed). */
  interspersed: boolean;
}

export interface Scan {
  values: Record<string, FlagValue>;
  /** Positionals, including everything after `--` or after the first positional when not interspersed. */
  positionals: string[];
  help: boolean;
}

const HELP: FlagSpec = { long: 'help', short: 'h', type: 'bool', description: 'Print usage' };

export function scanFlags(argv: string[], specs: readonly FlagSpec[], ctx: ScanContext): Scan {
  const all = withHelp(specs);
  const scan: Scan = { values: {}, positionals: [], help: false };
  let i = 0;
  const next = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      scan.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) parseLong(a, all, scan, ctx, next);
    else if (a.startsWith('-') && a.length > 1) parseShorts(a, all, scan, ctx, next);
    else if (ctx.interspersed) scan.positionals.push(a);
    else {
      scan.positionals.push(...argv.slice(i));
      break;
    }
    // --help wins over everything after it, as `docker network create --help` needs no NETWORK.
    if (scan.values.help === true) return { ...scan, help: true };
  }
  delete scan.values.help;
  return scan;
}

/** Every command takes --help; -h too, unless the command uses it (run/create: --hostname). */
function withHelp(specs: readonly FlagSpec[]): readonly FlagSpec[] {
  if (specs.some((f) => f.long === 'help')) return specs;
  const help: FlagSpec = helpShorthand(specs) ? HELP : { long: 'help', type: 'bool', description: HELP.description };
  return [...specs, help];
}

function parseLong(
  arg: string,
  specs: readonly FlagSpec[],
  scan: Scan,
  ctx: ScanContext,
  next: () => string | undefined,
): void {
  const body = arg.slice(2);
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const inline = eq < 0 ? undefined : body.slice(eq + 1);
  const spec = specs.find((f) => f.long === name || (f.aliases ?? []).includes(name));
  if (!spec || name === '') throw new UsageError(`unknown flag: --${name}`, ctx.command, { badFlag: true });
  if (spec.type === 'bool') {
    setFlag(spec, inline === undefined ? true : parseBool(spec, inline, ctx), scan, ctx);
    return;
  }
  // As pflag: the next word is the value even if it starts with a dash.
  const value = inline ?? next();
  if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`, ctx.command, { badFlag: true });
  setFlag(spec, value, scan, ctx);
}

function parseShorts(
  arg: string,
  specs: readonly FlagSpec[],
  scan: Scan,
  ctx: ScanContext,
  next: () => string | undefined,
): void {
  const letters = arg.slice(1);
  for (let j = 0; j < letters.length; j++) {
    const c = letters[j]!;
    const remaining = letters.slice(j);
    const spec = specs.find((f) => f.short === c);
    if (!spec) throw new UsageError(`unknown shorthand flag: '${c}' in -${remaining}`, ctx.command, { badFlag: true });
    const after = letters.slice(j + 1);
    if (spec.type === 'bool') {
      // `-d=false`: the rest of the word is the bool's value.
      if (after.startsWith('=')) return setFlag(spec, parseBool(spec, after.slice(1), ctx), scan, ctx);
      setFlag(spec, true, scan, ctx);
      continue;
    }
    // A short that takes a value ends the group: `-p80:80`, `-p=80:80`, or `-p 80:80`.
    const value = after !== '' ? after.replace(/^=/, '') : next();
    if (value === undefined) throw new UsageError(`flag needs an argument: '${c}' in -${remaining}`, ctx.command, { badFlag: true });
    return setFlag(spec, value, scan, ctx);
  }
}

// strconv.ParseBool's spellings, which pflag accepts for `--flag=value`.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function parseBool(spec: FlagSpec, value: string, ctx: ScanContext): boolean {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw invalid(spec, value, 'expected true or false', ctx);
}

function setFlag(spec: FlagSpec, value: string | boolean, scan: Scan, ctx: ScanContext): void {
  const values = scan.values;
  if (typeof value === 'boolean') {
    values[spec.long] = value;
    return;
  }
  const why = spec.check?.(value) ?? badChoice(spec, value);
  if (why !== undefined) throw invalid(spec, value, why, ctx);
  if (spec.type === 'string') values[spec.long] = value;
  else if (spec.type === 'list') values[spec.long] = [...((values[spec.long] as string[] | undefined) ?? []), value];
  else if (spec.type === 'map') values[spec.long] = { ...(values[spec.long] as Record<string, string> | undefined), ...keyValue(spec, value, ctx) };
}

function badChoice(spec: FlagSpec, value: string): string | undefined {
  const choices = spec.choices;
  if (!choices || choices.includes(value)) return undefined;
  const names = choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
  return `expected ${names}`;
}

/** `key=value` (value may contain `=`); `key` alone is an empty value where the flag allows it (--label). */
function keyValue(spec: FlagSpec, value: string, ctx: ScanContext): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 0 && spec.keyOnly && value !== '') return { [value]: '' };
  if (eq <= 0) throw invalid(spec, value, 'expected key=value', ctx);
  return { [value.slice(0, eq)]: value.slice(eq + 1) };
}

function invalid(spec: FlagSpec, value: string, why: string, ctx: ScanContext): UsageError {
  const label = spec.short ? `-${spec.short}, --${spec.long}` : `--${spec.long}`;
  return new UsageError(`invalid argument "${value}" for "${label}" flag: ${why}`, ctx.command, { badFlag: true });
}
