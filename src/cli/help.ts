// `--help` text and the markdown CLI reference, both rendered from the table
// in commands.ts so they can't drift from what the parser accepts.
//
// The layout copies Docker's help template (cli/cobra.go) and pflag's option
// block: "Usage:  " with two spaces, options sorted by name, descriptions
// aligned three spaces after the longest `-x, --name type`, aliased long
// flags hidden (`--net` next to `--network`), commands padded to 11 columns.
//
// Pure: returns strings.
import type { UsageError } from './args.js';
import {
  COMMANDS,
  GLOBAL_FLAGS,
  GROUPS,
  PROGRAM,
  findCommand,
  findGroup,
  subcommands,
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
} from './commands.js';

const SUMMARY = "Docker's single-host networking without Docker: networks, sandboxes and their DNS";

/** Help for nsnet (no argument), a group (`network`) or a command, by canonical name or alias. */
export function helpText(command?: string): string {
  if (command === undefined || command === '') return topHelp();
  const group = findGroup(command);
  if (group) return groupHelp(group);
  const spec = findCommand(command);
  if (!spec) throw new Error(`no help for unknown command "${command}"`);
  return commandHelp(spec);
}

/** What Docker prints for a usage error: the message, where to get help, and the usage line for wrong arguments. */
export function formatUsageError(err: UsageError): string {
  const path = err.command === undefined ? PROGRAM : `${PROGRAM} ${err.command}`;
  const lines = [err.message, `See '${path} --help'.`];
  const spec = err.command === undefined ? undefined : findCommand(err.command);
  if (err.showUsage && spec) lines.push('', `Usage:  ${usageLine(spec)}`, '', spec.description);
  return lines.join('\n');
}

// ---- terminal help ---------------------------------------------------------

function topHelp(): string {
  const groups = [...GROUPS].sort(byName);
  const commands = subcommands('').sort(byName);
  return [
    `Usage:  ${PROGRAM} [OPTIONS] COMMAND`,
    '',
    SUMMARY,
    '',
    'Management Commands:',
    ...commandList(groups),
    '',
    'Commands:',
    ...commandList(commands),
    '',
    'Global Options:',
    ...optionLines(visible(GLOBAL_FLAGS)),
    '',
    `Run '${PROGRAM} COMMAND --help' for more information on a command.`,
  ].join('\n');
}

function groupHelp(group: GroupSpec): string {
  const commands = subcommands(group.name).sort(byName);
  return [
    `Usage:  ${PROGRAM} ${group.name}${group.flags?.length ? ' [OPTIONS]' : ''} COMMAND`,
    '',
    group.description,
    '',
    'Commands:',
    ...commandList(commands.map((c) => ({ name: lastWord(c.name), description: c.description }))),
    ...(group.flags?.length ? ['', 'Options:', ...optionLines(visible(group.flags))] : []),
    '',
    `Run '${PROGRAM} ${group.name} COMMAND --help' for more information on a command.`,
  ].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  const out = [`Usage:  ${usageLine(spec)}`, '', spec.description];
  if (spec.aliases && spec.aliases.length > 0) {
    out.push('', 'Aliases:', `  ${[spec.name, ...spec.aliases].map((n) => `${PROGRAM} ${n}`).join(', ')}`);
  }
  const flags = visible(spec.flags);
  if (flags.length > 0) out.push('', 'Options:', ...optionLines(flags));
  if (spec.examples.length > 0) out.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return out.join('\n');
}

function usageLine(spec: CommandSpec): string {
  return [PROGRAM, spec.name, spec.usage].filter((s) => s !== '').join(' ');
}

// cobra's `rpad .Name .NamePadding`: at least 11 columns, then one space.
function commandList(items: ReadonlyArray<{ name: string; description: string }>): string[] {
  const width = Math.max(11, ...items.map((c) => c.name.length));
  return items.map((c) => `  ${c.name.padEnd(width)} ${c.description}`);
}

/** pflag's FlagUsages: sorted by long name, descriptions three spaces past the longest flag column. */
function optionLines(flags: readonly FlagSpec[]): string[] {
  const sorted = [...flags].sort(byLong);
  const heads = sorted.map(optionHead);
  const width = Math.max(...heads.map((h) => h.length)) + 3;
  return sorted.map((f, i) => `${heads[i]!.padEnd(width)}${f.description}${defaultNote(f)}`);
}

function optionHead(f: FlagSpec): string {
  const names = f.short ? `  -${f.short}, --${f.long}` : `      --${f.long}`;
  const value = valueName(f);
  return value === '' ? names : `${names} ${value}`;
}

/** The word after the flag in help: pflag's type names, Docker's `list` and `map`. */
export function valueName(f: FlagSpec): string {
  if (f.valueName !== undefined) return f.valueName;
  return f.type === 'bool' ? '' : f.type;
}

function defaultNote(f: FlagSpec): string {
  return f.default === undefined ? '' : ` (default "${f.default}")`;
}

/** --help is accepted everywhere but, as in Docker, not listed. */
function visible(flags: readonly FlagSpec[]): FlagSpec[] {
  return flags.filter((f) => f.long !== 'help');
}

// Byte order, as Go's sort.Strings in pflag and cobra (localeCompare would skip the dashes).
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return compare(a.name, b.name);
}

function byLong(a: FlagSpec, b: FlagSpec): number {
  return compare(a.long, b.long);
}

function lastWord(name: string): string {
  return name.split(' ').pop() ?? name;
}

// ---- markdown reference ----------------------------------------------------

/** A man-page-like reference of every command, for docs/cli.md. */
export function cliMarkdown(): string {
  const commands = [...COMMANDS].sort(byName);
  const out = [
    `# ${PROGRAM} command-line reference`,
    '',
    '<!-- Generated by cliMarkdown() in src/cli/help.ts from src/cli/commands.ts. Do not edit by hand. -->',
    '',
    SUMMARY + '.',
    'Commands and flags are spelled as in Docker\'s CLI; `--help` works on every command',
    '(`-h` too, except on `run` and `create`, where `-h` is `--hostname` as in Docker).',
    '',
    '## Synopsis',
    '',
    '```',
    `${PROGRAM} [OPTIONS] COMMAND`,
    '```',
    '',
    '## Global options',
    '',
    'Given before the command.',
    '',
    ...optionTable(visible(GLOBAL_FLAGS)),
    '',
    ...EXIT_CODES,
    '',
    ...OUTPUT_SHAPES,
    '',
    '## Commands',
    '',
    ...commands.map((c) => `- [\`${PROGRAM} ${c.name}\`](#${anchor(c.name)}): ${c.description}`),
  ];
  for (const c of commands) out.push('', ...commandMarkdown(c));
  return out.join('\n') + '\n';
}

/** The exit-code table (Docker's CLI's, cmd/docker/docker.go); main.ts's header says the same. */
const EXIT_CODES = [
  '## Exit codes',
  '',
  'Docker\'s CLI\'s: an error exits 1 unless Docker gives it a code of its own. The kind of error shows in',
  'the message (and, with `--debug`, on a `kind:` line after it).',
  '',
  '| Code | Meaning |',
  '|---|---|',
  '| `0` | Success. `network prune` answered "no" is a success too: nothing is removed. |',
  '| `1` | A command\'s error: not found (network, sandbox), conflict (name or address in use, network with endpoints), invalid argument (a bad subnet, address or name given to `network create`, `connect` ...), kernel failure (with errno), unavailable kernel feature, damaged state, missing privileges (not root); a wrong number of arguments or an unknown command (Docker prints these without a code of their own); any error of `compose`, its flags\' included (Docker Compose v2). Commands taking several objects (`rm`, `stop`, `network rm` ...) do the others and print them first. |',
  '| `125` | A flag nsnet cannot parse: unknown, missing its value, or a value of the wrong form (`--add-host db`, `--time x`), as Docker\'s flag errors. `run` failing before its command started (any error: no such network, address in use ...); `create` refusing a flag\'s value (a port spec, a MAC, an address). |',
  '| any | `run`, `exec` and `start -a` attached: the command\'s own exit status. |',
  '| `126` | `run`, `exec`: the command was found but cannot be invoked (not executable, a directory). |',
  '| `127` | `run`, `exec`: the command was not found. |',
  '',
  '`inspect` and `network inspect` print every object they found (`[]` if none) and then exit 1 if any',
  'reference was not found, as Docker does. `nsnet tour` and the CNI plugin (`nsnet` called by a runtime)',
  'keep their own codes (the tour exits 0 when every step passed; the plugin answers with CNI\'s JSON error and exit 1).',
];

/** What scripts written for Docker 20.10 find where they look (test/unit/docker-shapes.test.ts checks each against Docker's docs). */
const OUTPUT_SHAPES = [
  '## Output shapes',
  '',
  'Tables, JSON and templates have Docker 20.10\'s shapes, so scripts that cut columns or read keys work on both:',
  '',
  '- `ps`: `CONTAINER ID`, `NETWORK`, `COMMAND`, `CREATED`, `STATUS`, `PORTS`, `NAMES`: Docker\'s columns in Docker\'s',
  '  places, with the network where Docker has the image (a sandbox has none; `{{.Image}}` is empty). STATUS',
  '  says `Up 2 minutes`, `Exited (0) 2 minutes ago`, `Created`; PORTS `0.0.0.0:8080->80/tcp`, `443/tcp` for a',
  '  port only exposed, `0.0.0.0:80-81->80-81/tcp` for a range published on the same ports.',
  '- `compose ps`: Docker Compose v2\'s `NAME`, `COMMAND`, `SERVICE`, `CREATED`, `STATUS`, `PORTS`, with',
  '  `NETWORKS` in IMAGE\'s place; `--format json` has Compose\'s keys (`Publishers`, `ExitCode`, ...).',
  '- `inspect`: the keys Docker scripts read, with Docker\'s types and zero values (`State.*`, `LogPath`,',
  '  `NetworkSettings.Ports`, `.Networks.NAME.IPAddress`, `Config.ExposedPorts`, ...). Keys of what a sandbox',
  '  does not have (image layers, storage driver, cgroup limits) are left out, not faked.',
  '- `NetworkSettings.Ports` and `port` list a published port once, on `0.0.0.0`. Docker 20.10 lists it twice,',
  '  also on `::`, because its userland proxy listens on `[::]` too; nsnet has no proxy, and its IPv4 DNAT',
  '  cannot take a connection that arrives over IPv6 to a sandbox without an IPv6 address, so `::` is listed',
  '  only for a sandbox that has one (dual stack) and so answers there. A port only exposed is `"443/tcp": null`.',
  '- `network ls`: `NETWORK ID`, `NAME`, `DRIVER`, `SCOPE`, sorted by name; `network inspect`: Docker\'s keys.',
];

function commandMarkdown(spec: CommandSpec): string[] {
  const out = [`## ${PROGRAM} ${spec.name}`, '', spec.description + '.', '', '```', usageLine(spec), '```'];
  if (spec.aliases && spec.aliases.length > 0) {
    out.push('', `Aliases: ${spec.aliases.map((a) => `\`${PROGRAM} ${a}\``).join(', ')}`);
  }
  if (spec.rest !== undefined) {
    out.push('', 'Options end at the first argument (or at `--`): everything from there on is the command to run, flags included.');
  }
  const flags = visible(spec.flags);
  if (flags.length > 0) out.push('', '### Options', '', ...optionTable(flags));
  if (spec.examples.length > 0) out.push('', '### Examples', '', '```sh', ...spec.examples, '```');
  return out;
}

function optionTable(flags: readonly FlagSpec[]): string[] {
  const rows = [...flags].sort(byLong).map((f) => {
    const names = [f.short ? `\`-${f.short}\`` : '', `\`--${f.long}${valueName(f) ? ` ${valueName(f)}` : ''}\``]
      .filter((s) => s !== '')
      .join(', ');
    const aliases = (f.aliases ?? []).map((a) => `\`--${a}\``).join(', ');
    const notes = [`${f.description}.`, aliases ? `Alias: ${aliases}.` : '', repeatNote(f)].filter((s) => s !== '').join(' ');
    const def = f.default === undefined ? '' : `\`${f.default}\``;
    return `| ${names} | ${def} | ${escapeCell(notes)} |`;
  });
  return ['| Option | Default | Description |', '|---|---|---|', ...rows];
}

function repeatNote(f: FlagSpec): string {
  if (f.type === 'list') return 'Repeatable.';
  if (f.type === 'map') return f.keyOnly ? 'Repeatable `key=value` (`key` alone: empty value).' : 'Repeatable `key=value`.';
  return '';
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** GitHub's heading anchor: lower case, spaces to dashes. */
function anchor(name: string): string {
  return `${PROGRAM} ${name}`.toLowerCase().replace(/ /g, '-');
}
