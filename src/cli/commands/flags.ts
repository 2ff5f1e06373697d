// Flags more than one command takes, and the value checks they use. Each is
// written `as const` so the commands that include it keep its exact type
// (spec.ts derives the handlers' flag types from it).
import type { FlagSpec } from '../spec.js';

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

// ---- shared flags ----------------------------------------------------------

export const FORCE = (description: string) => ({ long: 'force', short: 'f', type: 'bool', description }) as const satisfies FlagSpec;
export const ENV = { long: 'env', short: 'e', type: 'list', description: 'Set environment variables', check: checkEnv } as const satisfies FlagSpec;
export const WORKDIR = { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the sandbox' } as const satisfies FlagSpec;
export const INTERACTIVE = { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' } as const satisfies FlagSpec;
export const TTY = { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' } as const satisfies FlagSpec;
export const NO_TRUNC = { long: 'no-trunc', type: 'bool', description: "Don't truncate output" } as const satisfies FlagSpec;
// Docker's --format: "table", "json", "table TEMPLATE" or a Go TEMPLATE (src/cli/format.ts).
export const LIST_FORMAT = {
  long: 'format',
  type: 'string',
  default: 'table',
  description: 'Format output: "table", "table TEMPLATE", "json" (one object per line) or a Go TEMPLATE',
} as const satisfies FlagSpec;
export const INSPECT_FORMAT = {
  long: 'format',
  short: 'f',
  type: 'string',
  default: 'json',
  description: 'Format output: "json" or a Go TEMPLATE (e.g. \'{{.NetworkSettings.IPAddress}}\')',
} as const satisfies FlagSpec;
// Docker's --filter: key=value, repeatable (src/cli/filter.ts).
const checkFilter = (v: string) => (v.includes('=') ? undefined : 'bad format of filter (expected name=value)');
export const FILTER = (example: string) =>
  ({ long: 'filter', short: 'f', type: 'list', valueName: 'filter', description: `Filter output based on conditions provided (e.g. '${example}')`, check: checkFilter }) as const satisfies FlagSpec;

/** Print the plan as the equivalent ip, nft and shell commands; change nothing. */
export const DRY_RUN = { long: 'dry-run', type: 'bool', description: 'Print the equivalent ip/nft/shell commands, in order, and change nothing' } as const satisfies FlagSpec;

/** `create` and `run` share Docker's container networking options. */
export const SANDBOX_OPTIONS = [
  DRY_RUN,
  { long: 'name', type: 'string', description: 'Assign a name to the sandbox' },
  { long: 'network', aliases: ['net'], type: 'string', description: 'Connect the sandbox to a network' },
  { long: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'ip6', type: 'string', description: 'IPv6 address (e.g., 2001:db8::33), on a network made with --ipv6' },
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
] as const satisfies readonly FlagSpec[];
