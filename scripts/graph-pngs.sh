#!/usr/bin/env bash
# Makes docs/graph/{tour,30-sandboxes}.{svg,png}: runs the tour inside the
# hermetic sandbox with --graph (the tour's last state, real kernel objects),
# then has headless Chromium screenshot both SVGs (scripts/graph-pngs.ts).
# Needs root (the tour makes namespaces) and chromium (scripts/setup.sh).
#
#   sudo bash scripts/graph-pngs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p tsconfig.build.json
tmp=$(mktemp -d /tmp/nsnet-graph-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bash scripts/sandbox.sh node bin/nsnet.js tour --graph "$tmp/tour.svg" >"$tmp/tour.log" 2>&1 || { cat "$tmp/tour.log" >&2; exit 1; }
bash scripts/sandbox.sh node_modules/.bin/tsx scripts/graph-pngs.ts "$tmp/tour.svg" docs/graph
