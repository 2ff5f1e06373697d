#!/usr/bin/env bash
# Makes sure `node` is a supported Node (lines 22, 24, 26: package.json's
# engines). If it is, does nothing. If not (none, or Debian 12's Node 18, or
# Node 20, which reached end of life in April 2026), installs Node $NODE from
# the npm registry's Node packages (scripts/fetch-node.sh) into
# $PREFIX/lib/nodejs/node-vVERSION and links $PREFIX/bin/node to it:
# /usr/local/bin comes before /usr/bin on Debian's PATH (and sudo's), so it
# shadows the distribution's node without removing it. npm comes from the
# registry too if the one there is too old for it.
#
#   sudo bash scripts/install-node.sh          (scripts/setup.sh runs it)
#
# Fetching needs an npm: a fresh Debian 12 gets Debian's (with its Node 18)
# for that alone.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=24.22.3                      # the Node of the line setup.sh installs
NPM=11.21.2                       # the npm installed with it, if needed
PREFIX=${NSNET_NODE_PREFIX:-/usr/local}

supported() { # VERSION (vX.Y.Z): one of the supported lines?
  [[ $1 =~ ^v(22|24|26)\.([0-9]+)\. ]] && { [[ ${BASH_REMATCH[1]} != 22 ]] || ((BASH_REMATCH[2] >= 13)); }
}
have=$(node --version 2>/dev/null || true)
if supported "$have"; then
  exit 0
fi
if [[ $(id -u) -ne 0 && ! -w $PREFIX ]]; then
  echo "install-node.sh: ${have:+Node $have found; }nsnet needs Node 22 (22.13+), 24 or 26" >&2
  echo "run as root to install Node $NODE from the npm registry into $PREFIX, or install one yourself" >&2
  exit 1
fi
echo "install-node.sh: ${have:+Node $have is not supported (22, 24, 26): }installing Node $NODE from the npm registry into $PREFIX"

if ! command -v npm >/dev/null; then
  # Only to fetch from the registry: Debian's npm (and its Node 18).
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm 10+ runs on every supported line; an older one (Debian's 9) is replaced by the
# registry's, fetched now while it still runs on the Node it came with.
npm_tgz=
if (($(npm --version | cut -d. -f1) < 10)); then
  npm_tgz=$tmp/$(cd "$tmp" && npm pack --silent "npm@$NPM" | tail -n 1)
fi

dir=$PREFIX/lib/nodejs/node-v$NODE
bash scripts/fetch-node.sh "$NODE" "$dir"
mkdir -p "$PREFIX/bin"
ln -sfn "$dir/bin/node" "$PREFIX/bin/node"
if [[ -n $npm_tgz ]]; then
  rm -rf "$PREFIX/lib/node_modules/npm"
  mkdir -p "$PREFIX/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$PREFIX/lib/node_modules/npm" --strip-components=1
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$PREFIX/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$PREFIX/bin/npx"
fi
hash -r
if [[ $(command -v node) != "$PREFIX/bin/node" ]]; then
  echo "install-node.sh: installed $PREFIX/bin/node, but \`node\` on PATH is $(command -v node): put $PREFIX/bin first" >&2
  exit 1
fi
echo "install-node.sh: node $(node --version) ($PREFIX/bin/node), npm $(npm --version) ($(command -v npm))"
