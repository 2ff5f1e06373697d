#!/usr/bin/env bash
# `npm test`: the whole suite. As root it runs inside the hermetic sandbox
# (scripts/sandbox.sh: private network, mount and PID namespaces, tmpfs over /run),
# so no test can touch the machine's own network. Without root, the unit
# tests run and the kernel tests show as skipped - except under CI=true,
# where a kernel test that cannot run is a failure.
#
# The last line is a plain summary ("N passed, N failed, N skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
vitest=node_modules/.bin/vitest
report=$(mktemp /tmp/nsnet-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
args=(run --reporter=default --reporter=json "--outputFile.json=$report" "$@")
if [[ $(id -u) -eq 0 ]]; then
  bash scripts/sandbox.sh "$vitest" "${args[@]}"
else
  echo "scripts/test.sh: not root, so kernel tests will be skipped (run with sudo for the full suite)" >&2
  "$vitest" "${args[@]}"
fi
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests || 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" 2>/dev/null || echo "0 passed, 1 failed (vitest wrote no report)"
exit $status
