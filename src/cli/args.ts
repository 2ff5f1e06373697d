// Turns argv into a command and typed flags, driven by the table in
// commands.ts. The rules are pflag's (the library under Docker's CLI), so
// nsnet reads a command line the way `docker` would (the scanner is flag-scan.ts).
//
// Global flags come before the command, as in Docker (they are not repeated on
// each subcommand). `run`, `exec` and `create` stop reading options at their
// first positional: what follows is the program to run, with its own flags.
//
// Pure: no I/O, no environment.
import {
  GLOBAL_FLAGS,
  PROGRAM,
  findCommand,
  findGroup,
  type CommandName,
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
} from './commands.js';
import { scanFlags } from './flag-scan.js';
import { helpText } from './help.js';
import type { FlagValue } from './spec.js';
import { unknownCommand } from './suggest.js';
import { UsageError } from './usage-error.js';

export type { FlagValue } from './spec.js';
export { editDistance, suggestions } from './suggest.js';
export { UsageError } from './usage-error.js';

export interface GlobalOptions {
  debug: boolean;
  /** State directory (`--root DIR`), when given. */
  root?: string;
}

export type Parsed =
  | {
      kind: 'command';
      /** Canonical name (`network ls`), even when an alias (`network list`) was typed. */
      command: CommandName;
      /** Keyed by long name without dashes. Bools default to false, lists to [], maps to {}, strings to their default or absent. */
      flags: Record<string, FlagValue>;
      args: string[];
      /** The program to run, for `run`, `exec` and `create`; [] otherwise. */
      rest: string[];
      global: GlobalOptions;
    }
  | { kind: 'help'; command?: string; text: string }
  | { kind: 'version' };


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

// ---- flags of the untyped parse result ---------------------------------------
// Handlers get their flags typed (dispatch.ts); these read `Parsed.flags` as
// it comes out of the parser. The name must be a key of the flags' type, so on
// typed flags a misspelt name does not compile.

type FlagName<F> = keyof F & string;

/** The value of a string flag, or undefined. */
export function flagString<F extends Record<string, FlagValue | undefined>>(flags: F, name: FlagName<F>): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagBool<F extends Record<string, FlagValue | undefined>>(flags: F, name: FlagName<F>): boolean {
  return flags[name] === true;
}

export function flagList<F extends Record<string, FlagValue | undefined>>(flags: F, name: FlagName<F>): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}

export function flagMap<F extends Record<string, FlagValue | undefined>>(flags: F, name: FlagName<F>): Record<string, string> {
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
  // spec came from the table, so its name is one of CommandName.
  return { kind: 'command', command: spec.name as CommandName, flags: withDefaults(spec.flags, { ...preset, ...scan.values }), args, rest, global };
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
  return new UsageError(`"${PROGRAM} ${command}" ${what}.`, command, { showUsage: true });
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
