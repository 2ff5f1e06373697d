// Turns argv into a command and typed flags, driven by the table in
// commands.ts. The rules are pflag's (the library under Docker's CLI), so
// nsnet reads a command line the way `docker` would:
//
//   --flag=value, --flag value, -f value, -fvalue, -f=value, -it (bool shorts combined),
//   -ip 80:80 (bools, then one short that takes the rest or the next word),
//   `--` ends the options, and error messages are pflag's and Docker's words.
//
// Global flags come before the command, as in Docker (they are not repeated on
// each subcommand). `run`, `exec` and `create` stop reading options at their
// first positional: what follows is the program to run, with its own flags.
//
// Pure: no I/O, no environment.
import {
  GLOBAL_FLAGS,
  GROUPS,
  PROGRAM,
  findCommand,
  findGroup,
  helpShorthand,
  subcommands,
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
} from './commands.js';
import { helpText } from './help.js';

export type FlagValue = string | boolean | string[] | Record<string, string>;

export interface GlobalOptions {
  debug: boolean;
  /** State directory (`--root DIR`), when given. */
  root?: string;
}

export type Parsed =
  | {
      kind: 'command';
      /** Canonical name (`network ls`), even when an alias (`network list`) was typed. */
      command: string;
      /** Keyed by long name without dashes. Bools default to false, lists to [], maps to {}, strings to their default or absent. */
      flags: Record<string, FlagValue>;
      args: string[];
      /** The program to run, for `run`, `exec` and `create`; [] otherwise. */
      rest: string[];
      global: GlobalOptions;
    }
  | { kind: 'help'; command?: string; text: string }
  | { kind: 'version' };

/** A command line nsnet can't make sense of; `message` is one Docker-like line. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The canonical command whose help applies; undefined for nsnet itself. */
  readonly command: string | undefined;
  /** Whether printing should add the usage line, as Docker does for a wrong number of arguments. */
  readonly showUsage: boolean;

  constructor(message: string, command: string | undefined, showUsage = false) {
    super(message);
    this.command = command;
    this.showUsage = showUsage;
  }
}

export function parseArgv(argv: string[]): Parsed {
  const top = scanFlags(argv, GLOBAL_FLAGS, { command: undefined, interspersed: false });
  if (top.help) return helpFor(top.positionals);
  if (top.values.version === true) return { kind: 'version' };
  const global: GlobalOptions = { debug: top.values.debug === true };
  if (typeof top.values.root === 'string') global.root = top.values.root;

  const [word, ...more] = top.positionals;
  if (word === undefined) return helpResult(undefined);
  if (word === 'help') return helpFor(more);
  const group = findGroup(word);
  if (group) return parseGroup(group, more, global);
  const spec = findCommand(word);
  if (!spec || spec.name.includes(' ')) throw unknownCommand(word, '');
  return parseCommand(spec, more, global);
}

// ---- typed access to flags -------------------------------------------------

/** The value of a string flag, or undefined. */
export function flagString(flags: Record<string, FlagValue>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(flags: Record<string, FlagValue>, name: string): boolean {
  return flags[name] === true;
}

export function flagList(flags: Record<string, FlagValue>, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}

export function flagMap(flags: Record<string, FlagValue>, name: string): Record<string, string> {
  const v = flags[name];
  return typeof v === 'object' && !Array.isArray(v) ? v : {};
}

// ---- commands and groups ---------------------------------------------------

function parseGroup(group: GroupSpec, argv: string[], global: GlobalOptions): Parsed {
  // A group's own options (`compose -f FILE`) come before the word naming the subcommand.
  const scan = scanFlags(argv, group.flags ?? [], { command: group.name, interspersed: false });
  const [word, ...more] = scan.positionals;
  if (scan.help || word === undefined) return helpResult(group.name);
  const spec = findCommand(`${group.name} ${word}`);
  if (!spec) throw unknownCommand(word, group.name);
  return parseCommand(spec, more, global, scan.values);
}

function parseCommand(spec: CommandSpec, argv: string[], global: GlobalOptions, preset: Record<string, FlagValue> = {}): Parsed {
  // Commands that run a program stop at their first positional, so the
  // program's own flags (`sh -c`, `ls -l`) are not taken for nsnet's.
  const scan = scanFlags(argv, spec.flags, { command: spec.name, interspersed: spec.rest === undefined });
  if (scan.help) return helpResult(spec.name);
  const { args, rest } = splitPositionals(spec, scan.positionals);
  return { kind: 'command', command: spec.name, flags: withDefaults(spec.flags, { ...preset, ...scan.values }), args, rest, global };
}

function splitPositionals(spec: CommandSpec, positionals: string[]): { args: string[]; rest: string[] } {
  if (spec.rest === undefined) {
    checkArgCount(spec, positionals.length);
    return { args: positionals, rest: [] };
  }
  const named = spec.args.max ?? spec.args.min;
  const args = positionals.slice(0, named);
  let rest = positionals.slice(named);
  // `nsnet exec web -- ls -l`: a `--` right after SANDBOX only separates.
  if (named > 0 && rest[0] === '--') rest = rest.slice(1);
  const short = args.length < spec.args.min || (spec.rest === 'required' && rest.length === 0);
  if (short) throw argCountError(spec.name, `requires at least ${plural(spec.args.min + (spec.rest === 'required' ? 1 : 0))}`);
  return { args, rest };
}

// Docker's wording (cli/required.go): NoArgs, ExactArgs, RequiresMinArgs, RequiresRangeArgs.
function checkArgCount(spec: CommandSpec, n: number): void {
  const { min, max } = spec.args;
  if (max === 0 && n > 0) throw argCountError(spec.name, 'accepts no arguments');
  if (max === undefined && n < min) throw argCountError(spec.name, `requires at least ${plural(min)}`);
  if (max !== undefined && min === max && n !== min) throw argCountError(spec.name, `requires exactly ${plural(min)}`);
  if (max !== undefined && (n < min || n > max)) {
    throw argCountError(spec.name, `requires at least ${min} and at most ${plural(max)}`);
  }
}

function argCountError(command: string, what: string): UsageError {
  return new UsageError(`"${PROGRAM} ${command}" ${what}.`, command, true);
}

function plural(n: number): string {
  return `${n} ${n === 1 ? 'argument' : 'arguments'}`;
}

function withDefaults(specs: readonly FlagSpec[], values: Record<string, FlagValue>): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const f of specs) {
    const v = values[f.long] ?? defaultOf(f);
    if (v !== undefined) out[f.long] = v;
  }
  return out;
}

function defaultOf(f: FlagSpec): FlagValue | undefined {
  switch (f.type) {
    case 'bool':
      return false;
    case 'list':
      return [];
    case 'map':
      return {};
    case 'string':
      return f.default;
  }
}

// ---- help ------------------------------------------------------------------

function helpResult(command: string | undefined): Parsed {
  return command === undefined ? { kind: 'help', text: helpText() } : { kind: 'help', command, text: helpText(command) };
}

/** `nsnet help network ls`, `nsnet --help network`: the topic is the words after. */
function helpFor(words: string[]): Parsed {
  if (words.length === 0) return helpResult(undefined);
  const topic = words.join(' ');
  if (findGroup(topic)) return helpResult(topic);
  const spec = findCommand(topic);
  if (spec) return helpResult(spec.name);
  throw new UsageError(`unknown help topic "${topic}"`, undefined);
}

// ---- unknown commands ------------------------------------------------------

function unknownCommand(word: string, group: string): UsageError {
  const where = group === '' ? PROGRAM : `${PROGRAM} ${group}`;
  const found = suggestions(word, group);
  const hint = found.length > 0 ? `\n\nDid you mean this?\n${found.map((s) => `\t${s}`).join('\n')}` : '';
  return new UsageError(`unknown command "${word}" for "${where}"${hint}`, group === '' ? undefined : group);
}

/**
 * Names one edit away (a transposition counts as one), or that start with
 * what was typed, as cobra suggests. Aliases match but the canonical name is
 * what is suggested.
 */
export function suggestions(word: string, group: string): string[] {
  const candidates: Array<{ typed: string; name: string }> = [];
  const last = (name: string): string => name.split(' ').pop() ?? name;
  for (const c of subcommands(group)) {
    for (const n of [c.name, ...(c.aliases ?? [])]) candidates.push({ typed: last(n), name: last(c.name) });
  }
  if (group === '') {
    for (const g of GROUPS) candidates.push({ typed: g.name, name: g.name });
    candidates.push({ typed: 'help', name: 'help' });
  }
  const out: string[] = [];
  for (const { typed, name } of candidates) {
    const close = editDistance(word.toLowerCase(), typed) <= 1 || typed.startsWith(word.toLowerCase());
    if (close && word !== '' && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

// ---- the flag scanner ------------------------------------------------------

interface ScanContext {
  /** Canonical command, for error messages; undefined at the top level. */
  command: string | undefined;
  /** Whether flags may follow positionals (pflag's SetInterspersed). */
  interspersed: boolean;
}

interface Scan {
  values: Record<string, FlagValue>;
  /** Positionals, including everything after `--` or after the first positional when not interspersed. */
  positionals: string[];
  help: boolean;
}

const HELP: FlagSpec = { long: 'help', short: 'h', type: 'bool', description: 'Print usage' };

function scanFlags(argv: string[], specs: readonly FlagSpec[], ctx: ScanContext): Scan {
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
  if (!spec || name === '') throw new UsageError(`unknown flag: --${name}`, ctx.command);
  if (spec.type === 'bool') {
    setFlag(spec, inline === undefined ? true : parseBool(spec, inline, ctx), scan, ctx);
    return;
  }
  // As pflag: the next word is the value even if it starts with a dash.
  const value = inline ?? next();
  if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`, ctx.command);
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
    if (!spec) throw new UsageError(`unknown shorthand flag: '${c}' in -${remaining}`, ctx.command);
    const after = letters.slice(j + 1);
    if (spec.type === 'bool') {
      // `-d=false`: the rest of the word is the bool's value.
      if (after.startsWith('=')) return setFlag(spec, parseBool(spec, after.slice(1), ctx), scan, ctx);
      setFlag(spec, true, scan, ctx);
      continue;
    }
    // A short that takes a value ends the group: `-p80:80`, `-p=80:80`, or `-p 80:80`.
    const value = after !== '' ? after.replace(/^=/, '') : next();
    if (value === undefined) throw new UsageError(`flag needs an argument: '${c}' in -${remaining}`, ctx.command);
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
  else if (spec.type === 'list') values[spec.long] = [...flagList(values, spec.long), value];
  else if (spec.type === 'map') values[spec.long] = { ...flagMap(values, spec.long), ...keyValue(spec, value, ctx) };
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
  return new UsageError(`invalid argument "${value}" for "${label}" flag: ${why}`, ctx.command);
}
