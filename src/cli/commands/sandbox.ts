// The sandbox commands (create, run, exec, start, stop, restart, kill, wait,
// logs, rm, ps, inspect, port): their table entries.
import type { CommandSpec, FlagSpec } from '../spec.js';
import { DRY_RUN, ENV, FILTER, FORCE, INSPECT_FORMAT, INTERACTIVE, LIST_FORMAT, NO_TRUNC, SANDBOX_OPTIONS, TTY, WORKDIR } from './flags.js';

const STOP_TIME = {
  long: 'time', short: 't', type: 'string', default: '10', valueName: 'int',
  description: 'Seconds to wait for stop before killing it',
  check: (v: string) => (/^\d+$/.test(v) ? undefined : 'expected a number of seconds'),
} as const satisfies FlagSpec;

const checkTail = (v: string) => (v === 'all' || /^\d+$/.test(v) ? undefined : 'expected a number of lines or "all"');

export const SANDBOX_COMMANDS = [
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
    name: 'start',
    usage: '[OPTIONS] SANDBOX [SANDBOX...]',
    description: "Start one or more stopped sandboxes' commands",
    args: { min: 1 },
    flags: [
      { long: 'attach', short: 'a', type: 'bool', description: "Attach STDOUT/STDERR: print the command's output until it ends, and exit with its code" },
      DRY_RUN,
    ],
    examples: ['nsnet start web', 'nsnet start -a job', 'nsnet start --dry-run web'],
  },
  {
    name: 'stop',
    usage: '[OPTIONS] SANDBOX [SANDBOX...]',
    description: "Stop one or more running sandboxes' commands (the network stays)",
    args: { min: 1 },
    flags: [STOP_TIME, DRY_RUN],
    examples: ['nsnet stop web', 'nsnet stop -t 2 web db'],
  },
  {
    name: 'restart',
    usage: '[OPTIONS] SANDBOX [SANDBOX...]',
    description: "Restart one or more sandboxes' commands",
    args: { min: 1 },
    flags: [STOP_TIME, DRY_RUN],
    examples: ['nsnet restart web', 'nsnet restart -t 0 web'],
  },
  {
    name: 'kill',
    usage: '[OPTIONS] SANDBOX [SANDBOX...]',
    description: "Kill one or more running sandboxes' commands",
    args: { min: 1 },
    flags: [
      { long: 'signal', short: 's', type: 'string', default: 'KILL', description: 'Signal to send to the sandbox (a name, with or without SIG, or a number)' },
      DRY_RUN,
    ],
    examples: ['nsnet kill web', 'nsnet kill -s HUP web', 'nsnet kill --signal=SIGUSR1 web'],
  },
  {
    name: 'wait',
    usage: 'SANDBOX [SANDBOX...]',
    description: "Block until one or more sandboxes' commands stop, then print their exit codes",
    args: { min: 1 },
    flags: [],
    examples: ['nsnet wait job', 'nsnet wait web db'],
  },
  {
    name: 'logs',
    usage: '[OPTIONS] SANDBOX',
    description: "Fetch the output of a sandbox's command (stdout and stderr, as written)",
    args: { min: 1, max: 1 },
    flags: [
      { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output (until the command ends)' },
      { long: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs', check: checkTail },
    ],
    examples: ['nsnet logs web', 'nsnet logs -f web', 'nsnet logs --tail 20 web'],
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
      FILTER('name=web'),
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display sandbox IDs' },
      LIST_FORMAT,
      NO_TRUNC,
    ],
    examples: [
      'nsnet ps -a --filter status=exited --filter network=mynet',
      "nsnet ps --format '{{.Names}}\\t{{.Status}}'",
      "nsnet ps --format 'table {{.ID}}\\t{{.Names}}\\t{{.Networks}}'",
    ],
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
    examples: ['nsnet inspect web', "nsnet inspect -f '{{.NetworkSettings.IPAddress}}' web", "nsnet inspect -f '{{json .Config}}' web"],
  },
  {
    name: 'port',
    usage: 'SANDBOX [PRIVATE_PORT[/PROTO]]',
    description: 'List port mappings or a specific mapping for the sandbox',
    args: { min: 1, max: 2 },
    flags: [],
    examples: ['nsnet port web', 'nsnet port web 80/tcp'],
  },
] as const satisfies readonly CommandSpec[];
