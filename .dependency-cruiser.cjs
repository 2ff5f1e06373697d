// The layers of src/, and the check that imports point down them (dependency-cruiser).
//
//   npm run lint:layers          (by hand; test/unit/layers.test.ts runs the same rules in `npm test`)
//
// Bottom first. A module may import its own layer and the layers below it, never one above:
//   pure    src/net, src/nft, src/etc (the /etc file renderers), src/dns/{message,reply,domain-name,address}.ts (the DNS
//           wire codec): decisions and formats only, no I/O, so the kernel layer may use them
//           to parse addresses. They import nothing but each other.
//   native  src/native.ts: loads the addon. Imports nothing from src/.
//   kernel  src/kernel: one verb per kernel request (rtnetlink, nft, setns), on native.
//   state   src/state: the state file, its lock and checks.
//   docker  src/docker: networks, sandboxes, plans: Docker's model on kernel + state.
//   service src/dns (the embedded server), src/compose, src/cni (the CNI plugin), src/graph (topology drawn from docker's
//           records): each builds on docker; they do not import each other.
//   cli     src/cli, src/tour (the guided tour is a CLI command), src/index.ts (the library's
//           entry, which re-exports from every layer below): nothing imports these.
// A new directory under src/ must be added to a layer: a module in none fails `unlayered`.
'use strict';

/** Path patterns (relative to the cruised base dir), bottom layer first. */
const LAYERS = [
  { name: 'pure', path: '^src/(net|nft|etc)/|^src/dns/(message|reply|domain-name|address)\\.ts$' },
  { name: 'native', path: '^src/native\\.ts$' },
  { name: 'kernel', path: '^src/kernel/' },
  { name: 'state', path: '^src/state/' },
  { name: 'docker', path: '^src/docker/' },
  { name: 'service', path: '^src/(dns|compose|graph|cni)/', pathNot: '^src/dns/(message|reply|domain-name|address)\\.ts$' },
  { name: 'cli', path: '^src/(cli|tour)/|^src/index\\.ts$' },
];

const any = (patterns) => patterns.map((p) => `(${p})`).join('|');
const inLayer = (l) => ({ path: l.path, ...(l.pathNot && { pathNot: l.pathNot }) });

/** One rule per boundary: layer i may import only layers 0..i. The top layer needs none. */
const boundaries = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer.name}-imports-below`,
  comment: `${layer.name} may import only ${LAYERS.slice(0, i + 1).map((l) => l.name).join(', ')}`,
  severity: 'error',
  from: inLayer(layer),
  to: { path: '^src/', pathNot: any(LAYERS.slice(0, i + 1).map((l) => l.path)) },
}));

module.exports = {
  forbidden: [
    ...boundaries,
    {
      // The services sit side by side on docker: the DNS server, compose and the graph share
      // nothing but what docker gives them.
      name: 'service-siblings',
      comment: 'src/dns, src/compose, src/cni and src/graph do not import each other (the DNS codec is pure, so it may be imported)',
      severity: 'error',
      from: { path: '^src/(dns|compose|graph|cni)/' },
      to: { path: '^src/(dns|compose|graph|cni)/', pathNot: ['^src/$1/', '^src/dns/(message|reply|domain-name|address)\\.ts$'] },
    },
    {
      // In the top layer, the library's entry stands apart from the CLI: it re-exports the
      // layers below, so a library user never loads the CLI.
      name: 'entry-imports-below',
      comment: 'src/index.ts re-exports the layers below cli, never src/cli or src/tour',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/(cli|tour)/' },
    },
    {
      name: 'entry-not-imported',
      comment: 'src/index.ts is for library users: nothing in src/ imports it',
      severity: 'error',
      from: { path: '^src/(cli|tour)/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'unlayered',
      comment: 'every module under src/ belongs to a layer: add a new directory to LAYERS in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: any(LAYERS.map((l) => l.path)) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` counts: a type is a dependency on the layer that defines it.
    tsPreCompilationDeps: true,
  },
};
