#!/usr/bin/env bash
# Runs a command inside nsnet's hermetic sandbox: a private network namespace
# and a private mount namespace with a tmpfs over /run.
#
# Why both: the network namespace keeps every link, address, route and
# nftables rule away from the machine's own network; the tmpfs over /run keeps
# /run/netns/* (named namespaces), /run/nsnet (state) and /run/xtables.lock
# private too - a mount namespace alone isolates mounts, not files created on
# the real /run. When the command exits, the namespaces and everything made
# in them disappear with it.
#
#   bash scripts/sandbox.sh ip link            -> only lo, down
#   bash scripts/sandbox.sh npx vitest run     -> the kernel tests
set -euo pipefail

if [[ "${NSNET_IN_SANDBOX:-}" == 1 ]]; then
  # Already inside (nested call): just run the command.
  exec "$@"
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sandbox.sh: needs root (network and mount namespaces); try: sudo $0 $*" >&2
  exit 77
fi

# The namespaces we start in (PID 1's may not be readable, e.g. in a container).
NSNET_OUTER_NETNS=$(readlink /proc/self/ns/net)
NSNET_OUTER_MNTNS=$(readlink /proc/self/ns/mnt)
export NSNET_OUTER_NETNS NSNET_OUTER_MNTNS

exec unshare --net --mount --propagation private -- bash -c '
  set -euo pipefail
  # Refuse to go on unless we really are in namespaces of our own.
  net=$(readlink /proc/self/ns/net); mnt=$(readlink /proc/self/ns/mnt)
  if [[ -z $net || -z $mnt || $net == "$NSNET_OUTER_NETNS" || $mnt == "$NSNET_OUTER_MNTNS" ]]; then
    echo "sandbox.sh: not in a private network+mount namespace; refusing to run" >&2
    exit 1
  fi
  mount -t tmpfs -o mode=755 nsnet-sandbox-run /run
  mkdir -p /run/netns /run/lock
  # Per-sandbox resolv.conf/hosts live in /etc/netns/NAME (the iproute2 convention): keep them private too.
  mkdir -p /etc/netns && mount -t tmpfs -o mode=755 nsnet-sandbox-etc-netns /etc/netns
  ip link set lo up
  # nsnet'"'"'s persistent state (networks.json) too: /var/lib/nsnet is on the real disk, and a network
  # recorded there would have its bridge re-created by the next nsnet run outside the sandbox.
  export NSNET_DATA_DIR=/run/nsnet-data
  export NSNET_IN_SANDBOX=1
  exec "$@"
' sandbox "$@"
