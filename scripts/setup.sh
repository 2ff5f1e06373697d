#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine for nsnet: the Debian packages nsnet and its
# tests use, a supported Node (scripts/install-node.sh), then the npm
# dependencies (`npm ci`, which also builds the native addon and dist/). Safe
# and quick to run again (`npm start` runs it every time): it installs only
# what is missing, redoes a build only when its inputs changed, and prints
# nothing when there is nothing to do. Build output goes to a log that is
# printed only if the build fails.
#
#   sudo bash scripts/setup.sh           nsnet (and the tour)
#   sudo bash scripts/setup.sh --test    also what the test suite drives (Chromium, Podman, containerd, Go)
#   sudo bash scripts/setup.sh --bench   that, and the peers the benchmarks compare against
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  nftables libnftables-dev   # nft (test oracle) and libnftables (linked into the addon)
  iproute2                   # ip (test oracle, benchmarks, docs)
  bind9-dnsutils             # dig, nslookup
  iputils-ping               # ping
  curl                       # HTTP checks in the tests and the tour
  tcpdump                    # packet captures in tests and docs
  util-linux procps          # unshare, mount, flock; sysctl, ps
  g++ make python3           # node-gyp
)
# Only the test suite needs these (`--test`, as CI runs it): a tour user doesn't get a browser and two
# container runtimes.
test_packages=(
  chromium                   # renders `nsnet graph`'s SVG in a test and the PNGs in docs/graph
  # The real CNI clients test/kernel/cni-runtimes.test.ts drives (test/helpers/runtimes.ts), all inside
  # the test sandbox: Podman (CNI backend) and containerd + ctr with runc; busybox-static for the image
  # scripts/cni-image.sh builds offline; Go and libcni's source for test/cni-driver; the reference
  # plugins (bridge, host-local, portmap: they need iptables) that nsnet is compared with.
  podman containerd runc conmon busybox-static golang-go golang-github-appc-cni-dev
  containernetworking-plugins iptables
  # A three-member etcd cluster on three simulated hosts: the cluster store of overlay networks
  # (test/helpers/cluster.ts starts its own members, on tmpfs, inside the sandbox).
  etcd-server etcd-client
)
# Services those packages enable, which must never run on the machine itself: the tests start their own
# containerd, podman and etcd in private namespaces, with private state. UNIT:PACKAGE where the
# package is not the unit's first word.
services=(containerd.service podman.service podman.socket podman-restart.service podman-auto-update.timer
  etcd.service:etcd-server)
if [[ " $* " == *" --test "* || " $* " == *" --bench "* ]]; then
  packages+=("${test_packages[@]}")
fi
if [[ " $* " == *" --bench "* ]]; then
  packages+=(netavark aardvark-dns dnsmasq-base dnsperf)
fi

# One dpkg-query for all (one per package took 1.7 s on a loaded machine, at every `npm start`).
installed=" $(dpkg-query -W -f='${Package}:${Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for p in "${packages[@]}"; do
  [[ $installed == *" $p:install ok installed "* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's containerd (and podman's socket units) start at install on a systemd machine; a
  # policy-rc.d that says "no" (exit 101) keeps every service of this install from starting.
  own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt_status=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || apt_status=$?
  [[ -z $own_policy ]] || rm -f /usr/sbin/policy-rc.d
  ((apt_status == 0)) || exit "$apt_status"
  # ...and nothing they enabled starts at the next boot either (only the units of packages installed now:
  # a containerd the machine's owner set up before is theirs).
  for entry in "${services[@]}"; do
    unit=${entry%%:*}
    pkg=${entry#*:}
    [[ $entry == *:* ]] || pkg=${unit%%[.-]*}
    [[ " ${missing[*]} " == *" $pkg "* ]] || continue
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null; then
      systemctl disable "$unit" >/dev/null 2>&1 || true  # offline: removes the enablement symlinks
    fi
  done
fi

# A supported Node (22, 24, 26): if `node` is not one, Node 24 from the npm registry into /usr/local.
bash scripts/install-node.sh
hash -r

# Runs a build step with its output in a log, shown only if it fails.
quietly() {
  local what=$1; shift
  local log; log=$(mktemp /tmp/nsnet-setup-XXXXXX.log)
  echo "setup.sh: $what"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup.sh: failed: $* (output above, kept in $log)" >&2
    exit 1
  fi
  rm -f "$log"
}
# True when some file under the given paths is newer than $1 (or $1 is missing).
newer_than() {
  local target=$1; shift
  [[ ! -e $target ]] || [[ -n $(find "$@" -newer "$target" -print -quit 2>/dev/null) ]]
}

# npm ci installs exactly package-lock.json, runs our install script (which
# builds native/ with node-gyp against this Node's own headers) and prepare
# (dist/). Skipped when node_modules was installed from this very lock file;
# node_modules/.nsnet-lock-hash records which one.
lock_hash=$(sha256sum package-lock.json)
lock_hash=${lock_hash%% *}
if [[ ! -d node_modules || $(cat node_modules/.nsnet-lock-hash 2>/dev/null) != "$lock_hash" ]]; then
  quietly "installing npm dependencies and building (npm ci)" npm ci --no-audit --no-fund
  echo "$lock_hash" >node_modules/.nsnet-lock-hash
fi

# The addon, when it was built for another Node ABI (process.versions.modules,
# recorded by scripts/build-addon.mjs) or its sources changed since. The same
# node binary as at build time (path, mtime, size) needs no Node start to tell.
addon=build/Release/nsnet.node
recorded() { sed -n "s/^ *\"$1\": *\"\(.*\)\",\{0,1\}\$/\1/p" build/nsnet-addon.json 2>/dev/null || true; }
node_bin=$(readlink -f "$(command -v node)")
built_for_this_node() {
  [[ $(recorded nodeBinary) == "$node_bin:$(stat -c %Y:%s "$node_bin")" ]] ||
    [[ $(recorded modules) == "$(node -p process.versions.modules)" ]]
}
if [[ ! -e $addon ]] || ! built_for_this_node || newer_than "$addon" native binding.gyp; then
  # (the package's install script: scripts/build-addon.mjs, then the CLI's V8 code cache for this Node)
  quietly "building the native addon for Node $(node --version)" npm run --silent install
fi

# dist/ (tsc, and the CLI bundles bin/nsnet.js runs), when the sources changed since.
if newer_than dist/cli/nsnet.cjs src package.json tsconfig.json tsconfig.build.json scripts/bundle-cli.mjs; then
  quietly "building dist/ (tsc, CLI bundles)" npm run --silent prepare
fi
