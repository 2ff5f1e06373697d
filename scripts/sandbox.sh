#!/usr/bin/env bash
# Runs a command inside nsnet's hermetic sandbox: a private network namespace,
# a private mount namespace with a tmpfs over /run, and a private PID namespace.
#
# Why all three: the network namespace keeps every link, address, route and
# nftables rule away from the machine's own network; the tmpfs over /run keeps
# /run/netns/* (named namespaces), /run/nsnet (state) and /run/xtables.lock
# private too - a mount namespace alone isolates mounts, not files created on
# the real /run; the PID namespace makes the sandbox's shell its PID 1, and
# when PID 1 exits the kernel kills every process left in the namespace: a
# `nsnet dns` server (started detached, in a session of its own) or a
# sandbox's command cannot outlive the sandbox. When the command exits, the
# namespaces and everything made in them disappear with it.
#
# Signals: SIGTERM, SIGINT and SIGHUP sent to this script are passed on to the
# command (as SIGTERM for SIGINT: a command started in the background by a
# script ignores SIGINT); Ctrl-C in a terminal reaches the command directly too.
# The exit status is the command's.
#
#   bash scripts/sandbox.sh ip link            -> only lo, down
#   bash scripts/sandbox.sh npx vitest run     -> the kernel tests
set -euo pipefail

if [[ "${NSNET_IN_SANDBOX:-}" == 1 ]]; then
  # Already inside (nested call): just run the command.
  exec "$@"
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sandbox.sh: needs root (network, mount and PID namespaces); try: sudo $0 $*" >&2
  exit 77
fi

# The namespaces we start in (PID 1's may not be readable, e.g. in a container).
NSNET_OUTER_NETNS=$(readlink /proc/self/ns/net)
NSNET_OUTER_MNTNS=$(readlink /proc/self/ns/mnt)
NSNET_OUTER_PIDNS=$(readlink /proc/self/ns/pid)
export NSNET_OUTER_NETNS NSNET_OUTER_MNTNS NSNET_OUTER_PIDNS

# --kill-child: if unshare itself is killed, so is the sandbox's PID 1 (and with it, everything in the sandbox).
unshare --net --mount --pid --fork --kill-child --mount-proc --propagation private -- bash -c '
  set -euo pipefail
  # Refuse to go on unless we really are in namespaces of our own.
  net=$(readlink /proc/self/ns/net); mnt=$(readlink /proc/self/ns/mnt); pid=$(readlink /proc/self/ns/pid)
  if [[ -z $net || -z $mnt || -z $pid || $net == "$NSNET_OUTER_NETNS" || $mnt == "$NSNET_OUTER_MNTNS" || $pid == "$NSNET_OUTER_PIDNS" || $$ != 1 ]]; then
    echo "sandbox.sh: not in a private network+mount+PID namespace; refusing to run" >&2
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
  # This shell stays PID 1 and runs the command as its child: PID 1 ignores every signal it has no
  # handler for, which a command written for an ordinary parent does not expect. It passes SIGTERM
  # and SIGHUP on, reaps orphans, and exits with the command'"'"'s status.
  "$@" <&0 &
  cmd=$!
  trap '"'"'kill -TERM "$cmd" 2>/dev/null || true'"'"' TERM INT
  trap '"'"'kill -HUP "$cmd" 2>/dev/null || true'"'"' HUP
  while kill -0 "$cmd" 2>/dev/null; do wait "$cmd" || true; done  # wait returns early when a trap ran
  wait "$cmd" && exit 0 || exit $?
' sandbox "$@" <&0 &
unshare_pid=$!

# Passes signal $1 to the sandbox's PID 1 (unshare blocks SIGINT and SIGTERM while it waits, and would not pass them on).
pass() {
  local init="" i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    init=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
    [[ -n ${init// /} ]] && break
    kill -0 "$unshare_pid" 2>/dev/null || return 0
    sleep 0.05
  done
  # shellcheck disable=SC2086 # one pid, or none
  [[ -n ${init// /} ]] && kill "-$1" $init 2>/dev/null || true
}
trap 'pass TERM' TERM INT
trap 'pass HUP' HUP
while kill -0 "$unshare_pid" 2>/dev/null; do wait "$unshare_pid" || true; done
wait "$unshare_pid" && exit 0 || exit $?
