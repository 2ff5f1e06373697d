// Commands about nsnet itself and this host: system reconcile, graph, tour, version.
import type { CommandSpec } from '../spec.js';
import { DRY_RUN } from './flags.js';

export const SYSTEM_COMMANDS = [
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
      { long: 'step', type: 'bool', description: 'Wait for Enter between steps (q quits, still cleaning up)' },
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
] as const satisfies readonly CommandSpec[];
