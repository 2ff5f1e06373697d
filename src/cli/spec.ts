// The shape of the CLI's command table (commands.ts and commands/*.ts), and
// the flag types the compiler derives from it: the table is written `as const`,
// so `FlagsOf<'network create'>` knows that command's flags, each with the
// type its kind gives it. A handler reading a flag its command does not
// declare (or a misspelt one) does not compile.
//
// Types only; no code.

/**
 * How a flag takes its value:
 * - bool: no value (`--internal`; `--internal=false` is accepted too);
 * - string: one value, the last one given wins;
 * - list: repeatable, values kept in order;
 * - map: repeatable `key=value`, gathered into a record.
 */
export type FlagType = 'bool' | 'string' | 'list' | 'map';

export interface FlagSpec {
  /** Long name without dashes; also the key in `Parsed.flags`. */
  readonly long: string;
  /** One-letter shorthand, without the dash. */
  readonly short?: string;
  readonly type: FlagType;
  readonly description: string;
  /** Default of a string flag, shown in help as `(default "bridge")`. */
  readonly default?: string;
  /** Other long spellings (`net` for `network`); hidden from `--help` as Docker hides them. */
  readonly aliases?: readonly string[];
  /** The value's name in help (`string`, `list`, `map`); derived from `type` when absent. */
  readonly valueName?: string;
  /** The only values a string flag accepts. */
  readonly choices?: readonly string[];
  /** For `map` flags: whether `key` alone is accepted (meaning an empty value), as `--label` allows. */
  readonly keyOnly?: boolean;
  /** Checks one value of a string or list flag; returns why it is wrong, or undefined when it is fine. */
  readonly check?: (value: string) => string | undefined;
}

/**
 * What follows the options:
 * - args: named positionals, with their count bounds;
 * - rest: for commands that run a program (`run`, `exec`, `create`), whether
 *   a COMMAND comes after the positionals. Once the first positional is seen,
 *   everything after it belongs to that program, as in Docker.
 */
export interface CommandSpec {
  /** Canonical name, words separated by one space: `network create`. */
  readonly name: string;
  /** Other full names (`network list`). */
  readonly aliases?: readonly string[];
  /** What follows the command name on the usage line. */
  readonly usage: string;
  readonly description: string;
  readonly args: { readonly min: number; readonly max?: number };
  readonly rest?: 'optional' | 'required';
  readonly flags: readonly FlagSpec[];
  readonly examples: readonly string[];
}

/** A command group (`network`, `compose`): it has subcommands, and options of its own before them (`compose -f FILE up`). */
export interface GroupSpec {
  readonly name: string;
  readonly description: string;
  /** Options given between the group and the subcommand; every subcommand takes them too. */
  readonly flags?: readonly FlagSpec[];
}

/** A parsed flag's value, whatever its kind (the parser's untyped view; handlers see FlagValueOf). */
export type FlagValue = string | boolean | string[] | Record<string, string>;

/**
 * The value a parsed flag has, from its spec. The parser fills every flag of
 * the command (args.ts `withDefaults`): bools default to false, lists to [],
 * maps to {}, strings to their default; only a string without a default can
 * be absent. A string with choices is one of them.
 */
export type FlagValueOf<F extends FlagSpec> = F['type'] extends 'bool'
  ? boolean
  : F['type'] extends 'list'
    ? string[]
    : F['type'] extends 'map'
      ? Record<string, string>
      : (F extends { readonly choices: readonly (infer C)[] } ? C : string) | (F extends { readonly default: string } ? never : undefined);

/** A command's flags, keyed by long name (`flags['ip-range']`), each typed by its spec. */
export type FlagsFrom<S extends readonly FlagSpec[]> = { readonly [F in S[number] as F['long']]: FlagValueOf<F> };
