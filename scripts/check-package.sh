#!/usr/bin/env bash
# Proves the npm package works as a user gets it (.ci/run calls it before the tests):
#   1. `npm pack` (its prepack/prepare build dist/), from a copy of this tree so
#      this tree's dist/ is left alone; prints the tarball's size and file count
#      and fails if it carries tests, benchmarks, docs data, code caches or
#      lacks what an install needs;
#   2. installs the tarball into an empty project, with npm's nodedir pointing
#      nowhere: the install script must build the addon against the running
#      Node's own headers whatever npm's config says;
#   3. `npx nsnet --version`, `nsnet network ls` inside scripts/sandbox.sh,
#      an ESM import of the library creating a network in the sandbox, and a
#      TypeScript check of a small consumer of the typed API.
# Dependencies (node-addon-api, yaml) come from the npm registry; nothing else
# is fetched. Temp dirs are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d /tmp/nsnet-package-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
say() { echo "check-package: [$((SECONDS - t0)) s] $*"; }
# Runs a command with its output in a log, printed only if it fails.
quiet() {
  local log=$tmp/step.log
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    say "FAILED: $*" >&2
    exit 1
  fi
}

# 1. Pack from a copy: the files git knows (tracked or new, not ignored), plus node_modules for the build.
mkdir "$tmp/tree"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
    tar --null --files-from=- -cf - | tar -C "$tmp/tree" -xf -
else
  tar --exclude=./node_modules --exclude=./build --exclude=./dist -cf - . | tar -C "$tmp/tree" -xf -
fi
ln -s "$repo/node_modules" "$tmp/tree/node_modules"
(cd "$tmp/tree" && npm pack --json --pack-destination "$tmp" >"$tmp/pack.json" 2>"$tmp/pack.log") ||
  { cat "$tmp/pack.log" >&2; say "FAILED: npm pack" >&2; exit 1; }
tarball=$(node -e '
  const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const paths = p.files.map((f) => f.path);
  const banned = paths.filter((f) => /^(test|bench|src)\/|^docs\/bench\/results\.json$|\.cache$|(^|\/)node_modules\//.test(f));
  const needed = ["package.json", "bin/nsnet.js", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js",
    "binding.gyp", "native/addon.cc", "scripts/build-addon.mjs", "scripts/code-cache.mjs", "scripts/sandbox.sh"];
  const missing = needed.filter((f) => !paths.includes(f));
  const kB = (n) => (n / 1024).toFixed(1) + " kB";
  console.error(`check-package: ${p.filename}: ${kB(p.size)} packed, ${kB(p.unpackedSize)} unpacked, ${p.entryCount} files`);
  const dirs = {};
  for (const f of paths) { const d = f.includes("/") ? f.split("/")[0] + "/" : f; dirs[d] = (dirs[d] || 0) + 1; }
  console.error("check-package:   " + Object.entries(dirs).map(([d, n]) => `${d} ${n}`).join(", "));
  if (banned.length) console.error("check-package: FAILED: the tarball carries files it must not:\n  " + banned.join("\n  "));
  if (missing.length) console.error("check-package: FAILED: the tarball lacks:\n  " + missing.join("\n  "));
  if (banned.length || missing.length) process.exit(1);
  console.log(p.filename);
' "$tmp/pack.json")

# 2. An empty project installs it. npm_config_nodedir names headers that do not
#    exist: if it reached node-gyp, the build would fail (or use another Node's).
mkdir "$tmp/app"
cd "$tmp/app"
echo '{ "name": "nsnet-consumer", "private": true, "type": "module" }' >package.json
quiet env npm_config_nodedir=/nonexistent/node-headers \
  npm install --no-audit --no-fund --foreground-scripts "$tmp/$tarball"
built=node_modules/nsnet/build/nsnet-addon.json
[[ -f node_modules/nsnet/build/Release/nsnet.node && -f $built ]] ||
  { say "FAILED: the install built no addon" >&2; exit 1; }
[[ -f node_modules/nsnet/dist/cli/nsnet.cjs.cache ]] ||
  { say "FAILED: the install made no V8 code cache for the CLI (scripts/code-cache.mjs)" >&2; exit 1; }
node -e '
  const b = require(process.argv[1]);
  const nodedir = require("path").resolve(process.execPath, "../..");
  if (b.modules !== process.versions.modules || b.nodedir !== nodedir) {
    console.error(`check-package: FAILED: addon built for ${JSON.stringify(b)}, running Node ${process.version} (ABI ${process.versions.modules}, ${nodedir})`);
    process.exit(1);
  }
  console.log(`check-package: installed; addon built with ${b.nodedir}/include/node for Node ${b.node} (ABI ${b.modules})`);
' "$PWD/$built"

# 3. What a user does with it.
version=$(npx --no-install nsnet --version)
expected=$(node -p 'require("./node_modules/nsnet/package.json").version')
[[ $version == *"$expected"* ]] || { say "FAILED: npx nsnet --version printed '$version', expected $expected" >&2; exit 1; }
say "npx nsnet --version: $version"

cat >library.mjs <<'EOF'
import { openContext, networkCreate, networkList, networkRemove } from 'nsnet';
const ctx = await openContext();
await networkCreate(ctx, { name: 'pkgcheck', subnet: '198.51.100.0/24' });
const names = (await networkList(ctx)).map((n) => n.name);
await networkRemove(ctx, ['pkgcheck']);
if (!names.includes('pkgcheck')) throw new Error(`networkList: ${names.join(' ')}`);
console.log(`check-package: import('nsnet'): networkCreate, networkList (${names.join(' ')}), networkRemove`);
process.exit(0);
EOF
if [[ $(id -u) -eq 0 ]]; then
  out=$(bash "$repo/scripts/sandbox.sh" node_modules/.bin/nsnet network ls)
  grep -qE '^[0-9a-f]{12} +bridge +bridge' <<<"$out" ||
    { echo "$out" >&2; say "FAILED: nsnet network ls (in the sandbox) shows no bridge network" >&2; exit 1; }
  say "nsnet network ls (in scripts/sandbox.sh): $(awk 'NR>1 {print $2}' <<<"$out" | paste -sd' ')"
  bash "$repo/scripts/sandbox.sh" node library.mjs
elif [[ ${CI:-} == true ]]; then
  say "FAILED: not root, so the commands cannot run in the sandbox" >&2
  exit 1
else
  node --input-type=module -e "const m = await import('nsnet'); if (typeof m.openContext !== 'function') process.exit(1);"
  say "import('nsnet') works; not root, so nsnet network ls and the library run were skipped"
fi

# The types a consumer compiles against: dist/*.d.ts through package.json's exports.
cat >consumer.ts <<'EOF'
import { openContext, networkCreate, networkList, type Context, type NetworkRecord } from 'nsnet';

const ctx: Context = await openContext();
const net: NetworkRecord = await networkCreate(ctx, { name: 'typed', subnet: '203.0.113.0/24', labels: { a: 'b' } });
const names: string[] = (await networkList(ctx)).map((n) => n.name);
// @ts-expect-error: a network's name is a string (an untyped package would accept this)
await networkCreate(ctx, { name: 42 });
// @ts-expect-error: NetworkRecord has no such field
console.log(net.subnetMask, names);
EOF
cat >tsconfig.json <<EOF
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "noEmit": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$repo/node_modules/@types"] },
  "files": ["consumer.ts"] }
EOF
"$repo/node_modules/.bin/tsc" -p tsconfig.json || { say "FAILED: tsc --noEmit of a typed consumer" >&2; exit 1; }
say "tsc --noEmit of a consumer of openContext/networkCreate/networkList: clean"
say "passed in $((SECONDS - t0)) s"
