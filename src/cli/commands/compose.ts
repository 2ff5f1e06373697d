// `nsnet compose ...`: the group's own options and its commands' table entries.
import type { CommandSpec, FlagSpec } from '../spec.js';
import { DRY_RUN, LIST_FORMAT, NO_TRUNC } from './flags.js';

/** `docker compose`'s own options: which file, which project. */
export const COMPOSE_OPTIONS = [
  { long: 'file', short: 'f', type: 'list', valueName: 'stringArray', description: 'Compose configuration file (default: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml)' },
  { long: 'project-name', short: 'p', type: 'string', description: 'Project name (default: the top-level "name", or the directory\'s name)' },
  { long: 'project-directory', type: 'string', description: "Alternate working directory (default: the compose file's directory)" },
] as const satisfies readonly FlagSpec[];

const REMOVE_ORPHANS = { long: 'remove-orphans', type: 'bool', description: 'Remove sandboxes for services not defined in the compose file' } as const satisfies FlagSpec;

export const COMPOSE_COMMANDS = [
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
    flags: [...COMPOSE_OPTIONS, DRY_RUN, REMOVE_ORPHANS],
    examples: ['nsnet compose down', 'nsnet compose -p simpleweb down', 'nsnet compose down --dry-run'],
  },
  {
    name: 'compose ps',
    usage: '[OPTIONS] [SERVICE...]',
    description: "List the project's sandboxes",
    args: { min: 0 },
    flags: [
      ...COMPOSE_OPTIONS,
      { long: 'all', short: 'a', type: 'bool', description: 'Show all sandboxes, also those whose command has exited (one without a command is always shown)' },
      { long: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
      { long: 'status', type: 'list', description: 'Filter services by status. Values: [removing | running | created | exited]' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
      { long: 'services', type: 'bool', description: 'Display services' },
      LIST_FORMAT,
      NO_TRUNC,
    ],
    examples: [
      'nsnet compose -p simpleweb ps -a --status exited',
      'nsnet compose ps --format json',
      "nsnet compose ps --format 'table {{.Service}}\\t{{.Ports}}'",
    ],
  },
] as const satisfies readonly CommandSpec[];
