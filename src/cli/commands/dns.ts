// `nsnet dns`: the embedded DNS server's table entry.
import type { CommandSpec } from '../spec.js';

export const DNS_COMMANDS = [
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
] as const satisfies readonly CommandSpec[];
