#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine for nsnet: the Debian packages nsnet and its
# tests use, a supported Node (scripts/install-node.sh), then the npm
# dependencies (`npm ci`, which also builds the native addon). Safe to run
# again: it installs only what is missing.
#
#   sudo bash scripts/setup.sh           nsnet + its tests
#   sudo bash scripts/setup.sh --bench   also the peers the benchmarks compare against
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
if [[ " $* " == *" --bench "* ]]; then
  packages+=(containernetworking-plugins netavark aardvark-dns dnsmasq-base dnsperf iptables)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A supported Node (22, 24, 26): if `node` is not one, Node 24 from the npm registry into /usr/local.
bash scripts/install-node.sh
hash -r

# npm ci installs exactly package-lock.json and runs our install script,
# which builds native/ with node-gyp against this Node's own headers.
npm ci --no-audit --no-fund
