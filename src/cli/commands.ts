// The declarative table of nsnet's CLI: every command, its flags, positional
// arguments, help and examples, written per area in commands/*.ts. Parsing
// (args.ts), `--help` and the generated reference (help.ts `cliMarkdown`) all
// read this one table, so a flag added here is parsed, documented and listed
// in the same edit; and the handlers' flag types derive from it (spec.ts), so
// a handler reading a flag its command lacks does not compile.
//
// Command and flag spellings follow Docker's CLI (`docker network create -d`,
// `docker run --net-alias`, ...): users type them from muscle memory and from
// scripts written for Docker, so they are a contract.
//
// Pure data; no I/O.
import { CNI_COMMANDS } from './commands/cni.js';
import { COMPOSE_COMMANDS, COMPOSE_OPTIONS } from './commands/compose.js';
import { DNS_COMMANDS } from './commands/dns.js';
import { NETWORK_COMMANDS } from './commands/network.js';
import { SANDBOX_COMMANDS } from './commands/sandbox.js';
import { SYSTEM_COMMANDS } from './commands/system.js';
import type { CommandSpec, FlagSpec, FlagsFrom, GroupSpec } from './spec.js';

export type { CommandSpec, FlagSpec, FlagType, GroupSpec } from './spec.js';

export const PROGRAM = 'nsnet';

/** Flags accepted before the command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { long: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { long: 'root', type: 'string', description: "Root directory of nsnet's persistent state" },
  {
    long: 'cluster-store',
    type: 'string',
    description: 'Cluster store of overlay networks: etcd://HOST:2379[,HOST:2379...] (default: $NSNET_CLUSTER_STORE, else "cluster-store" in /etc/nsnet/daemon.json)',
  },
  { long: 'help', short: 'h', type: 'bool', description: 'Print usage' },
  { long: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
];

export const GROUPS: readonly GroupSpec[] = [
  { name: 'network', description: 'Manage networks' },
  { name: 'compose', description: 'Set up the networks and sandboxes of a compose file', flags: COMPOSE_OPTIONS },
  { name: 'system', description: "Manage nsnet's state on this host" },
  { name: 'cni', description: 'Use nsnet as a CNI plugin (containerd, Podman, Kubernetes)' },
];

// In this order, which is the order "Did you mean" lists close names in.
// Kept `as const` for the types below; code reads it as COMMANDS.
const TABLE = [
  ...NETWORK_COMMANDS,
  ...SANDBOX_COMMANDS,
  ...COMPOSE_COMMANDS,
  ...DNS_COMMANDS,
  ...SYSTEM_COMMANDS,
  ...CNI_COMMANDS,
] as const satisfies readonly CommandSpec[];

export const COMMANDS: readonly CommandSpec[] = TABLE;

/** Every command's canonical name: `'network create' | 'network ls' | ... | 'version'`. */
export type CommandName = (typeof TABLE)[number]['name'];

/** The flags of command `N` as the parser fills them, each typed by its spec (`flags['ip-range']: string | undefined`). */
export type FlagsOf<N extends CommandName> = FlagsFrom<Extract<(typeof TABLE)[number], { readonly name: N }>['flags']>;

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
