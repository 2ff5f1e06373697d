#!/usr/bin/env bash
# Runs tests on another Node line, with a Node fetched from the npm registry:
#
#   sudo bash scripts/node-lines.sh 22 unit smoke    unit tests + the kernel smoke set on Node 22
#   sudo bash scripts/node-lines.sh 24 full          the whole suite on Node 24
#   sudo bash scripts/node-lines.sh 26 test/kernel/bridge.test.ts
#   sudo bash scripts/node-lines.sh 26 build         fetch Node and build the addon only
#
# For LINE it (1) fetches the pinned Node of that line into .cache/node-VERSION
# (scripts/fetch-node.sh; reused when present), (2) builds the addon with that
# Node against its own headers in .cache/addon-VERSION (rebuilt only when
# native/, binding.gyp or the build script change), then (3) runs
# scripts/test.sh with that Node first on PATH and that build bind-mounted
# over build/ in a private mount namespace - so the checkout's own build/ is
# never touched and the lines can run one after another, or side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The Node of each supported line that CI runs (bump with the release lines).
declare -A PINNED=([22]=22.23.5 [24]=24.22.3 [26]=26.12.1)

# The kernel smoke set: the few fast kernel test files (about a minute together)
# that cover what a new Node could break - namespaces, veth and a bridge
# (bridge), kernel errors through N-API exceptions (errors), sysctl, nft,
# sockets and flock in a namespace (namespace-services), the DNS server's
# epoll thread (udp-epoll), libnftables and the monitor's thread
# (nft-monitor), the CLI's errors and exit codes (cli-errors) and the CLI end
# to end: networks, DNS by name, a published port, masquerade, the modes
# (tour). With the unit tests: what every line runs besides the one that
# runs the whole suite.
SMOKE=(
  test/kernel/bridge.test.ts
  test/kernel/errors.test.ts
  test/kernel/namespace-services.test.ts
  test/kernel/udp-epoll.test.ts
  test/kernel/nft-monitor.test.ts
  test/kernel/cli-errors.test.ts
  test/kernel/tour.test.ts
)

usage() { echo "usage: node-lines.sh LINE|VERSION (build|unit|smoke|full|TEST_FILE)..." >&2; exit 2; }
(($# >= 2)) || usage
line=$1; shift
version=${PINNED[$line]:-$line}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage
files=()
build_only=0
for set in "$@"; do
  case $set in
    build) build_only=1 ;;
    unit) files+=(test/unit) ;;
    smoke) files+=("${SMOKE[@]}") ;;
    full) files=(); break ;;    # no filter: every test file
    *) [[ -e $set ]] || { echo "node-lines.sh: no such test set or file: $set" >&2; exit 2; }; files+=("$set") ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "node-lines.sh: needs root (a private mount namespace for the build, and the kernel tests)" >&2
  exit 77
fi

node_dir=$root/.cache/node-$version
addon_dir=$root/.cache/addon-$version
elapsed() { echo "$((SECONDS - $1)) s"; }

t=$SECONDS
bash scripts/fetch-node.sh "$version" "$node_dir"
echo "node-lines: Node $version in .cache/node-$version ($(elapsed "$t"))"

# The addon, built by this Node through the project's own build script, in a
# copy of what the build reads; its hash says when the copy is stale.
t=$SECONDS
sources=(binding.gyp scripts/build-addon.mjs node_modules/node-addon-api/package.json native/*)
hash=$(cat "${sources[@]}" | sha256sum | cut -d' ' -f1)
if [[ ! -f $addon_dir/build/Release/nsnet.node || $(cat "$addon_dir/sources.sha256" 2>/dev/null) != "$hash" ]]; then
  rm -rf "$addon_dir"
  mkdir -p "$addon_dir/scripts"
  cp -r binding.gyp package.json native "$addon_dir/"
  cp scripts/build-addon.mjs "$addon_dir/scripts/"
  ln -s "$root/node_modules" "$addon_dir/node_modules"
  if ! (cd "$addon_dir" && PATH=$node_dir/bin:$PATH node scripts/build-addon.mjs) >"$addon_dir/build.log" 2>&1; then
    cat "$addon_dir/build.log" >&2
    echo "node-lines: building the addon with Node $version failed" >&2
    exit 1
  fi
  echo "$hash" >"$addon_dir/sources.sha256"
  echo "node-lines: addon built with Node $version ($(elapsed "$t"))"
else
  echo "node-lines: addon for Node $version up to date in .cache/addon-$version"
fi

((build_only)) && exit 0

t=$SECONDS
mkdir -p build
status=0
PATH=$node_dir/bin:$PATH unshare --mount --propagation private -- bash -c '
  set -euo pipefail
  mount --bind "$1/build" build
  shift
  echo "node-lines: $(node --version) from $(command -v node), tests: ${*:-all}"
  exec bash scripts/test.sh "$@"
' node-lines "$addon_dir" "${files[@]}" || status=$?
echo "node-lines: Node $version: tests took $(elapsed "$t"), exit $status"
exit $status
