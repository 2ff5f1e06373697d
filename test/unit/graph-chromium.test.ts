// The busy host's SVG as a browser lays it out: headless Chromium (Debian's
// package, installed by scripts/setup.sh) renders it and reports its size and
// any text whose real glyphs run past its box (the layout only estimates
// glyph widths). Skipped, saying why, only where chromium is not installed.
import { expect, test } from 'vitest';
import { MAX_WIDTH, toSvg, topology } from '../../src/graph/topology.js';
import { chromiumPath, renderSvg } from '../helpers/chromium.js';
import { busyHost } from '../helpers/graph-fixture.js';

const chromium = chromiumPath();
if (!chromium) console.warn('graph-chromium.test.ts: skipped: chromium is not installed (scripts/setup.sh installs it)');

test.skipIf(!chromium)('the SVG of 30 sandboxes renders within a laptop screen\'s width, no text over its box', () => {
  const { networks, sandboxes, facts } = busyHost();
  const svg = toSvg(topology(networks, sandboxes, facts));
  const declared = Number(/width="(\d+)"/.exec(svg)![1]);
  const r = renderSvg(svg, 1366);
  expect(r.svg.width).toBe(declared);
  expect(r.svg.width).toBeLessThanOrEqual(MAX_WIDTH);
  expect(r.svg.width).toBeLessThanOrEqual(1366);
  expect(r.svg.height).toBeGreaterThan(400);
  expect(r.overflow).toEqual([]);
}, 120_000);
