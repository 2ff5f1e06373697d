// The PNGs of `nsnet graph` in docs/graph: the tour's topology (its SVG comes
// from `nsnet tour --graph`, run by scripts/graph-pngs.sh inside the sandbox)
// and the busy host's (30 sandboxes, drawn from records, no kernel needed),
// each screenshot by headless Chromium at the SVG's own size.
//
//   tsx scripts/graph-pngs.ts TOUR_SVG OUT_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toSvg, topology } from '../src/graph/topology.js';
import { screenshotSvg } from '../test/helpers/chromium.js';
import { busyHost } from '../test/helpers/graph-fixture.js';

const [tourSvg, outDir = 'docs/graph'] = process.argv.slice(2);
const size = (svg: string) => ({ width: Number(/width="(\d+)"/.exec(svg)![1]), height: Number(/height="(\d+)"/.exec(svg)![1]) });
const { networks, sandboxes, facts } = busyHost();
const busy = toSvg(topology(networks, sandboxes, facts));
writeFileSync(path.join(outDir, '30-sandboxes.svg'), busy);
screenshotSvg(busy, path.join(outDir, '30-sandboxes.png'), size(busy));
if (tourSvg) {
  const tour = readFileSync(tourSvg, 'utf8');
  writeFileSync(path.join(outDir, 'tour.svg'), tour);
  screenshotSvg(tour, path.join(outDir, 'tour.png'), size(tour));
}
console.log(`written: ${outDir}/30-sandboxes.{svg,png}${tourSvg ? `, ${outDir}/tour.{svg,png}` : ''}`);
