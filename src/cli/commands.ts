// The declarative table of nsnet's CLI: every command, its flags, positional
// arguments, help and examples. Parsing (args.ts), `--help` and the generated
// reference (help.ts `cliMarkdown`) all read this one table, so a flag added
// here is parsed, documented and listed in the same edit.
//
// Command and flag spellings follow Docker's CLI (`docker network create -d`,
// `docker run --net-alias`, ...): users type them from muscle memory and from
// scripts written for Docker, so they are a contract.
//
// Pure data plus a few value checks; no I/O.

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

export const PROGRAM = 'nsnet';

// ---- value checks ----------------------------------------------------------

function checkHostIp(v: string): string | undefined {
  const i = v.indexOf(':');
  if (i <= 0 || i === v.length - 1) return 'expected host:ip';
  return undefined;
}

function checkLink(v: string): string | undefined {
  const parts = v.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) return 'expected name[:alias]';
  return undefined;
}

// `-e K` alone is allowed: as in Docker it means "take K from my environment",
// which the command layer resolves. Only an empty name is refused here.
function checkEnv(v: string): string | undefined {
  if (v === '' || v.startsWith('=')) return 'expected KEY=VALUE or KEY';
  return undefined;
}

// ---- flags shared between commands -----------------------------------------

const FORCE = (description: string): FlagSpec => ({ long: 'force', short: 'f', type: 'bool', description });
const ENV: FlagSpec = { long: 'env', short: 'e', type: 'list', description: 'Set environment variables', check: checkEnv };
const WORKDIR: FlagSpec = { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the sandbox' };
const INTERACTIVE: FlagSpec = { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' };
const TTY: FlagSpec = { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' };
const NO_TRUNC: FlagSpec = { long: 'no-trunc', type: 'bool', description: "Don't truncate output" };
const LIST_FORMAT: FlagSpec = {
  long: 'format',
  type: 'string',
  default: 'table',
  choices: ['table', 'json'],
  description: 'Format output: "table" or "json" (one object per line)',
};
// Docker's inspect takes a Go template here; nsnet prints JSON only, but keeps
// the flag so scripts passing `-f json` / `--format json` still work.
const INSPECT_FORMAT: FlagSpec = {
  long: 'format',
  short: 'f',
  type: 'string',
  default: 'json',
  choices: ['json'],
  description: 'Format output (only "json")',
};

/** Print the plan as the equivalent ip, nft and shell commands; change nothing. */
const DRY_RUN: FlagSpec = { long: 'dry-run', type: 'bool', description: 'Print the equivalent ip/nft/shell commands, in order, and change nothing' };

/** `create` and `run` share Docker's container networking options. */
const SANDBOX_OPTIONS: readonly FlagSpec[] = [
  DRY_RUN,
  { long: 'name', type: 'string', description: 'Assign a name to the sandbox' },
  { long: 'network', aliases: ['net'], type: 'string', description: 'Connect the sandbox to a network' },
  { long: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'mac-address', type: 'string', description: 'Sandbox MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { long: 'hostname', short: 'h', type: 'string', description: 'Sandbox host name' },
  { long: 'network-alias', aliases: ['net-alias'], type: 'list', description: 'Add network-scoped alias for the sandbox' },
  { long: 'link', type: 'list', description: 'Add link to another sandbox (name[:alias])', check: checkLink },
  { long: 'publish', short: 'p', type: 'list', description: "Publish a sandbox's port(s) to the host" },
  { long: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { long: 'expose', type: 'list', description: 'Expose a port or a range of ports (published by -P)' },
  { long: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { long: 'dns-search', type: 'list', description: 'Set custom DNS search domains' },
  { long: 'dns-option', type: 'list', description: 'Set DNS options' },
  { long: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (host:ip)', check: checkHostIp },
  { long: 'pid', type: 'string', description: 'PID namespace to use ("host" or "container:NAME")' },
  { long: 'label', short: 'l', type: 'map', valueName: 'list', keyOnly: true, description: 'Set meta data on a sandbox' },
  ENV,
  WORKDIR,
];

/** Flags accepted before the command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { long: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { long: 'root', type: 'string', description: "Root directory of nsnet's persistent state" },
  { long: 'help', short: 'h', type: 'bool', description: 'Print usage' },
  { long: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
];

/** `docker compose`'s own options: which file, which project. */
const COMPOSE_OPTIONS: readonly FlagSpec[] = [
  { long: 'file', short: 'f', type: 'list', valueName: 'stringArray', description: 'Compose configuration file (default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml)' },
  { long: 'project-name', short: 'p', type: 'string', description: 'Project name (default: the top-level "name", or the directory\'s name)' },
  { long: 'project-directory', type: 'string', description: "Alternate working directory (default: the compose file's directory)" },
];

const REMOVE_ORPHANS: FlagSpec = { long: 'remove-orphans', type: 'bool', description: 'Remove sandboxes for services not defined in the compose file' };

export const GROUPS: readonly GroupSpec[] = [
  { name: 'network', description: 'Manage networks' },
  { name: 'compose', description: 'Set up the networks and sandboxes of a compose file', flags: COMPOSE_OPTIONS },
  { name: 'system', description: "Manage nsnet's state on this host" },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'network create',
    usage: '[OPTIONS] NETWORK',
    description: 'Create a network',
    args: { min: 1, max: 1 },
    flags: [
      DRY_RUN,
      { long: 'driver', short: 'd', type: 'string', default: 'bridge', description: 'Driver to manage the network' },
      { long: 'subnet', type: 'string', description: 'Subnet in CIDR format that represents a network segment' },
      { long: 'ip-range', type: 'string', description: 'Allocate sandbox IPs from a sub-range' },
      { long: 'gateway', type: 'string', description: 'IPv4 gateway for the subnet' },
      { long: 'internal', type: 'bool', description: 'Restrict external access to the network' },
      { long: 'opt', short: 'o', type: 'map', description: 'Set driver specific options' },
      { long: 'label', type: 'map', valueName: 'list', keyOnly: true, description: 'Set metadata on a network' },
    ],
    examples: [
      'nsnet network create mynet',
      'nsnet network create --subnet 10.10.0.0/24 --gateway 10.10.0.1 mynet',
      'nsnet network create --internal -o com.docker.network.bridge.name=br-back backend',
    ],
  },
  {
    name: 'network ls',
    aliases: ['network list'],
    usage: '[OPTIONS]',
    description: 'List networks',
    args: { min: 0, max: 0 },
    flags: [{ long: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' }, LIST_FORMAT, NO_TRUNC],
    examples: ['nsnet network ls', 'nsnet network ls -q', 'nsnet network ls --format json'],
  },
  {
    name: 'network inspect',
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Display detailed information on one or more networks',
    args: { min: 1 },
    flags: [INSPECT_FORMAT],
    examples: ['nsnet network inspect mynet', 'nsnet network inspect mynet backend'],
  },
  {
    name: 'network rm',
    aliases: ['network remove'],
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    args: { min: 1 },
    flags: [
      DRY_RUN,
      FORCE('Do not error if the network does not exist')],
    examples: ['nsnet network rm mynet', 'nsnet network rm -f mynet backend'],
  },
  {
    name: 'network prune',
    usage: '[OPTIONS]',
    description: 'Remove all unused networks',
    args: { min: 0, max: 0 },
    flags: [
      DRY_RUN,
      FORCE('Do not prompt for confirmation')],
    examples: ['nsnet network prune', 'nsnet network prune -f'],
  },
  {
    name: 'network connect',
    usage: '[OPTIONS] NETWORK SANDBOX',
    description: 'Connect a sandbox to a network',
    args: { min: 2, max: 2 },
    flags: [
      DRY_RUN,
      { long: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
      { long: 'alias', type: 'list', description: 'Add network-scoped alias for the sandbox' },
    ],
    examples: ['nsnet network connect mynet web', 'nsnet network connect --ip 10.10.0.20 --alias api mynet web'],
  },
  {
    name: 'network disconnect',
    usage: '[OPTIONS] NETWORK SANDBOX',
    description: 'Disconnect a sandbox from a network',
    args: { min: 2, max: 2 },
    flags: [
      DRY_RUN,
      FORCE('Force the sandbox to disconnect from a network')],
    examples: ['nsnet network disconnect mynet web'],
  },
  {
    name: 'create',
    usage: '[OPTIONS] [-- COMMAND [ARG...]]',
    description: 'Create a new sandbox',
    args: { min: 0, max: 0 },
    rest: 'optional',
    flags: SANDBOX_OPTIONS,
    examples: [
      'nsnet create --name db --network mynet',
      'nsnet create --name web --network mynet --network-alias www -p 8080:80 -- python3 -m http.server 80',
    ],
  },
  {
    name: 'run',
    usage: '[OPTIONS] [--] COMMAND [ARG...]',
    description: 'Create and run a new sandbox',
    args: { min: 0, max: 0 },
    rest: 'required',
    flags: [
      ...SANDBOX_OPTIONS,
      { long: 'detach', short: 'd', type: 'bool', description: 'Run sandbox in background and print sandbox ID' },
      { long: 'rm', type: 'bool', description: 'Automatically remove the sandbox when it exits' },
      INTERACTIVE,
      TTY,
    ],
    examples: [
      'nsnet run --name web --network mynet -p 8080:80 -d -- python3 -m http.server 80',
      'nsnet run --rm --network mynet sh -c "ping -c 3 web"',
      'nsnet run -it --rm --dns 1.1.1.1 bash',
    ],
  },
  {
    name: 'exec',
    usage: '[OPTIONS] SANDBOX COMMAND [ARG...]',
    description: 'Execute a command in a running sandbox',
    args: { min: 1, max: 1 },
    rest: 'required',
    flags: [
      { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
      ENV,
      WORKDIR,
      INTERACTIVE,
      TTY,
    ],
    examples: ['nsnet exec web ip addr', 'nsnet exec -it web sh', 'nsnet exec -e DEBUG=1 web -- curl -s http://db:5432'],
  },
  {
    name: 'rm',
    usage: '[OPTIONS] SANDBOX [SANDBOX...]',
    description: 'Remove one or more sandboxes',
    args: { min: 1 },
    flags: [FORCE('Force the removal of a running sandbox'), DRY_RUN],
    examples: ['nsnet rm web', 'nsnet rm -f web db', 'nsnet rm --dry-run -f web'],
  },
  {
    name: 'ps',
    usage: '[OPTIONS]',
    description: 'List sandboxes',
    args: { min: 0, max: 0 },
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all sandboxes (default shows just running)' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display sandbox IDs' },
      LIST_FORMAT,
      NO_TRUNC,
    ],
    examples: ['nsnet ps', 'nsnet ps -a --no-trunc', 'nsnet ps -q'],
  },
  {
    name: 'inspect',
    usage: '[OPTIONS] SANDBOX|NETWORK [SANDBOX|NETWORK...]',
    description: 'Return low-level information on nsnet objects',
    args: { min: 1 },
    flags: [
      INSPECT_FORMAT,
      { long: 'type', type: 'string', choices: ['sandbox', 'network'], description: 'Only look for this type ("sandbox" or "network")' },
    ],
    examples: ['nsnet inspect web', 'nsnet inspect --type network mynet'],
  },
  {
    name: 'compose up',
    usage: '[OPTIONS] [SERVICE...]',
    description: "Create the project's networks and sandboxes, and start the services' commands",
    args: { min: 0 },
    flags: [
      ...COMPOSE_OPTIONS,
      DRY_RUN,
      { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode (nsnet always starts services in the background; their output goes to /run/nsnet/logs)' },
      REMOVE_ORPHANS,
    ],
    examples: ['nsnet compose -f simpleweb/docker-compose.yml up -d', 'nsnet compose -p shop up web', 'nsnet compose up --dry-run'],
  },
  {
    name: 'compose down',
    usage: '[OPTIONS]',
    description: "Remove the project's sandboxes (stopping their processes) and the networks it created",
    args: { min: 0, max: 0 },
    flags: [
      ...COMPOSE_OPTIONS,
      DRY_RUN,
      REMOVE_ORPHANS,
    ],
    examples: ['nsnet compose down', 'nsnet compose -p simpleweb down', 'nsnet compose down --dry-run'],
  },
  {
    name: 'compose ps',
    usage: '[OPTIONS] [SERVICE...]',
    description: "List the project's sandboxes",
    args: { min: 0 },
    flags: [
      ...COMPOSE_OPTIONS,
      { long: 'all', short: 'a', type: 'bool', description: 'Show all sandboxes (nsnet always does, as docker-compose v1 did: a service without a command never runs)' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
      { long: 'services', type: 'bool', description: 'Display services' },
      LIST_FORMAT,
    ],
    examples: ['nsnet compose ps', 'nsnet compose ps --format json', 'nsnet compose -p simpleweb ps -q'],
  },
  {
    name: 'dns',
    usage: '[OPTIONS]',
    description: 'Run the embedded DNS server in the foreground',
    args: { min: 0, max: 0 },
    flags: [
      { long: 'debug', type: 'bool', description: 'Log every query and answer' },
      { long: 'supervise', type: 'bool', description: 'Run the server as the child of a small supervisor that restarts it when it dies (what nsnet starts on demand)' },
      { long: 'install-unit', type: 'bool', description: 'Write the systemd unit nsnet-dns.service (systemd then runs and restarts the server), and say what to run next' },
      { long: 'unit-dir', type: 'string', description: 'Where --install-unit writes the unit', default: '/etc/systemd/system' },
    ],
    examples: ['nsnet dns', 'nsnet dns --debug', 'nsnet dns --install-unit'],
  },
  {
    name: 'system reconcile',
    usage: '[OPTIONS]',
    description: "Check nsnet's state and its kernel objects against each other and repair what is off: rebuild the nftables tables, address maps and damaged files from the sandbox records and the kernel",
    args: { min: 0, max: 0 },
    flags: [DRY_RUN],
    examples: ['nsnet system reconcile', 'nsnet system reconcile --dry-run'],
  },
  {
    name: 'graph',
    usage: '[OPTIONS]',
    description: "Draw this host's nsnet topology: bridges, veth pairs, sandboxes, addresses, ports, DNS",
    args: { min: 0, max: 0 },
    flags: [{ long: 'format', type: 'string', description: 'Output format', default: 'svg', choices: ['svg', 'dot', 'mermaid'] }],
    examples: ['nsnet graph', 'nsnet graph --format dot', 'nsnet graph --format mermaid'],
  },
  {
    name: 'tour',
    usage: '[OPTIONS]',
    description: "Replay Docker networking's classic walkthrough live, in a private sandbox, checking each step",
    args: { min: 0, max: 0 },
    flags: [
      { long: 'step', type: 'bool', description: 'Wait for Enter between steps' },
      { long: 'json', type: 'bool', description: 'Print the steps and their checks as JSON' },
      { long: 'graph', type: 'string', description: "Write an SVG of the tour's topology to this file, before cleaning up" },
    ],
    examples: ['nsnet tour', 'nsnet tour --step', 'nsnet tour --json'],
  },
  {
    name: 'version',
    usage: '',
    description: 'Show the nsnet version information',
    args: { min: 0, max: 0 },
    flags: [],
    examples: ['nsnet version'],
  },
];

// ---- lookups ---------------------------------------------------------------

/** The command named `name` (canonical or alias), or undefined. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

export function findGroup(name: string): GroupSpec | undefined {
  return GROUPS.find((g) => g.name === name);
}

/** Commands directly inside `group` ('' for the top level), with the names typed after the group. */
export function subcommands(group: string): CommandSpec[] {
  const depth = group === '' ? 1 : group.split(' ').length + 1;
  const prefix = group === '' ? '' : `${group} `;
  return COMMANDS.filter((c) => c.name.startsWith(prefix) && c.name.split(' ').length === depth);
}

/** Whether `-h` is free to mean `--help` in this flag set (run/create use it for --hostname, as Docker). */
export function helpShorthand(flags: readonly FlagSpec[]): boolean {
  return !flags.some((f) => f.short === 'h');
}
