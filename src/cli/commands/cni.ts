// `nsnet cni ...`: installing nsnet as a CNI plugin, and a configuration for it.
import type { CommandSpec } from '../spec.js';

export const CNI_COMMANDS = [
  {
    name: 'cni install',
    usage: '[OPTIONS]',
    description: 'Install nsnet as the CNI plugin "nsnet" where container runtimes look for plugins',
    args: { min: 0, max: 0 },
    flags: [
      { long: 'bin-dir', type: 'list', valueName: 'dir', description: 'Directory to install the plugin into (repeatable; default /opt/cni/bin and /usr/lib/cni)' },
      { long: 'dry-run', type: 'bool', description: 'Print the files and their content, and write nothing' },
    ],
    examples: ['nsnet cni install', 'nsnet cni install --bin-dir /opt/cni/bin', 'nsnet cni install --dry-run'],
  },
  {
    name: 'cni config',
    usage: '[OPTIONS] NETWORK',
    description: 'Print a CNI network configuration list (.conflist) that uses nsnet',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'subnet', type: 'string', description: 'Subnet in CIDR format (default: one nsnet picks, as network create does)' },
      { long: 'gateway', type: 'string', description: 'IPv4 gateway for the subnet' },
      { long: 'bridge', type: 'string', description: 'Name of the bridge (e.g. cbr0)' },
      { long: 'cluster-cidr', type: 'string', description: 'Pod addresses of the whole cluster: traffic to them is not masqueraded; without --subnet, with a cluster store, the node leases its pod CIDR from it' },
      { long: 'cluster-store', type: 'string', description: 'The cluster store the pod CIDR is leased from: etcd://HOST:2379[,HOST:2379...] (default: the node\'s NSNET_CLUSTER_STORE or daemon.json)' },
      { long: 'pod-cidr-prefix-len', type: 'string', description: 'Prefix length of the leased pod CIDR (default 24)' },
      { long: 'cni-version', type: 'string', default: '1.0.0', description: 'The cniVersion of the configuration' },
    ],
    examples: [
      'nsnet cni config --subnet 10.88.0.0/16 podnet',
      'nsnet cni config --bridge cbr0 --subnet 10.244.1.0/24 --cluster-cidr 10.244.0.0/16 k8s-pod-network',
      'nsnet cni config --bridge cbr0 --cluster-cidr 10.244.0.0/16 --cluster-store etcd://192.0.2.10:2379 k8s-pod-network',
    ],
  },
] as const satisfies readonly CommandSpec[];
