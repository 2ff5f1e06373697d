// `nsnet network ...`: the table entries of the network commands.
import type { CommandSpec } from '../spec.js';
import { DRY_RUN, FILTER, FORCE, INSPECT_FORMAT, LIST_FORMAT, NO_TRUNC } from './flags.js';

export const NETWORK_COMMANDS = [
  {
    name: 'network create',
    usage: '[OPTIONS] NETWORK',
    description: 'Create a network',
    args: { min: 1, max: 1 },
    flags: [
      DRY_RUN,
      { long: 'driver', short: 'd', type: 'string', default: 'bridge', description: 'Driver to manage the network' },
      { long: 'subnet', type: 'list', description: 'Subnet in CIDR format that represents a network segment (one per family)' },
      { long: 'ip-range', type: 'string', description: 'Allocate sandbox IPs from a sub-range' },
      { long: 'gateway', type: 'list', description: 'IPv4 or IPv6 gateway for the subnet of its family' },
      { long: 'ipv6', type: 'bool', description: 'Enable IPv6 (dual stack; without an IPv6 --subnet, a /64 of the host\'s ULA prefix)' },
      { long: 'aux-address', type: 'map', description: 'Auxiliary IPv4 addresses used by Network driver (never given to a sandbox)' },
      { long: 'internal', type: 'bool', description: 'Restrict external access to the network' },
      { long: 'opt', short: 'o', type: 'map', description: 'Set driver specific options' },
      { long: 'label', type: 'map', valueName: 'list', keyOnly: true, description: 'Set metadata on a network' },
    ],
    examples: [
      'nsnet network create mynet',
      'nsnet network create --ipv6 --subnet 10.10.0.0/24 --subnet 2001:db8:1::/64 --gateway 10.10.0.1 mynet',
      'nsnet network create -d macvlan --subnet 192.168.1.0/24 --gateway 192.168.1.1 -o parent=ens4 lan',
    ],
  },
  {
    name: 'network ls',
    aliases: ['network list'],
    usage: '[OPTIONS]',
    description: 'List networks',
    args: { min: 0, max: 0 },
    flags: [FILTER('driver=bridge'), { long: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' }, LIST_FORMAT, NO_TRUNC],
    examples: [
      'nsnet network ls -q --filter type=custom',
      'nsnet network ls --filter dangling=true',
      "nsnet network ls --format '{{.ID}}: {{.Driver}}'",
    ],
  },
  {
    name: 'network inspect',
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Display detailed information on one or more networks',
    args: { min: 1 },
    flags: [INSPECT_FORMAT],
    examples: ['nsnet network inspect mynet', 'nsnet network inspect mynet backend', "nsnet network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' mynet"],
  },
  {
    name: 'network rm',
    aliases: ['network remove'],
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    args: { min: 1 },
    flags: [DRY_RUN, FORCE('Do not error if the network does not exist')],
    examples: ['nsnet network rm mynet', 'nsnet network rm -f mynet backend'],
  },
  {
    name: 'network prune',
    usage: '[OPTIONS]',
    description: 'Remove all unused networks',
    args: { min: 0, max: 0 },
    flags: [DRY_RUN, FORCE('Do not prompt for confirmation')],
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
      { long: 'ip6', type: 'string', description: 'IPv6 address (e.g., 2001:db8::33), on a network made with --ipv6' },
      { long: 'alias', type: 'list', description: 'Add network-scoped alias for the sandbox' },
    ],
    examples: ['nsnet network connect mynet web', 'nsnet network connect --ip 10.10.0.20 --alias api mynet web'],
  },
  {
    name: 'network disconnect',
    usage: '[OPTIONS] NETWORK SANDBOX',
    description: 'Disconnect a sandbox from a network',
    args: { min: 2, max: 2 },
    flags: [DRY_RUN, FORCE('Force the sandbox to disconnect from a network')],
    examples: ['nsnet network disconnect mynet web'],
  },
] as const satisfies readonly CommandSpec[];
