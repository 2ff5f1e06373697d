#!/usr/bin/env bash
# `npm test`: the whole suite. As root it runs inside the hermetic sandbox
# (scripts/sandbox.sh: private network + mount namespace, tmpfs over /run),
# so no test can touch the machine's own network. Without root, the unit
# tests run and the kernel tests show as skipped - except under CI=true,
# where a kernel test that cannot run is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
vitest=node_modules/.bin/vitest
if [[ $(id -u) -eq 0 ]]; then
  exec bash scripts/sandbox.sh "$vitest" run "$@"
fi
echo "scripts/test.sh: not root, so kernel tests will be skipped (run with sudo for the full suite)" >&2
exec "$vitest" run "$@"
