// The overlay bench's numbers (bench/overlay.ts), pure: percentiles, the
// ratios the goal names, and the markdown rows the bench prints and
// bench/suite.ts puts into docs/bench/README.md.
//
// Goal (issue 17, Must show 5): adding a sandbox to an overlay network costs
// at most 2x a local bridge sandbox on the host that creates it, and the same
// with 100 endpoints on the network as with 10 (flat).

/** One fill level's samples, in ms from the start of `nsnet create`. */
export interface OverlayLevel {
  /** Endpoints on the overlay network before each sample (the sample's own not counted). */
  endpoints: number;
  /** Overlay: until the command returned. */
  overlay: number[];
  /** Overlay: until hosts 2 and 3 both held the new endpoint's FDB and neighbour entries. */
  seen: number[];
  /** The same host's local bridge sandbox, interleaved with the overlay samples. */
  bridge: number[];
}

/** The q-quantile (0..1) by nearest rank on the sorted samples; NaN for none. */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
export const p50 = (xs: number[]) => quantile(xs, 0.5);
export const p90 = (xs: number[]) => quantile(xs, 0.9);

export interface OverlaySummary {
  endpoints: number;
  overlay: { p50: number; p90: number };
  seen: { p50: number; p90: number };
  bridge: { p50: number; p90: number };
  /** overlay (command returned) p50 ÷ bridge p50. */
  ratio: number;
  /** seen p50 ÷ bridge p50. */
  seenRatio: number;
}

export function summarize(l: OverlayLevel): OverlaySummary {
  const pp = (xs: number[]) => ({ p50: p50(xs), p90: p90(xs) });
  return {
    endpoints: l.endpoints, overlay: pp(l.overlay), seen: pp(l.seen), bridge: pp(l.bridge),
    ratio: p50(l.overlay) / p50(l.bridge), seenRatio: p50(l.seen) / p50(l.bridge),
  };
}

/** Growth from the smallest to the largest fill level, p50 over p50 (goal ~1). */
export function flatness(levels: OverlaySummary[], k: 'overlay' | 'seen' | 'bridge'): number {
  if (levels.length < 2) return NaN;
  const s = [...levels].sort((a, b) => a.endpoints - b.endpoints);
  return s[s.length - 1]![k].p50 / s[0]![k].p50;
}

const f = (x: number, d = 1) => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));

/** The markdown table and goal lines for a run. */
export function overlayRows(levels: OverlaySummary[], samples: number): string[] {
  const rows = [
    `| endpoints on the network | overlay create p50 / p90 ms | + seen on hosts 2 and 3, p50 / p90 ms | bridge create p50 / p90 ms | overlay ÷ bridge | seen ÷ bridge |`,
    '|---:|---:|---:|---:|---:|---:|',
    ...levels.map((l) => `| ${l.endpoints} | ${f(l.overlay.p50)} / ${f(l.overlay.p90)} | ${f(l.seen.p50)} / ${f(l.seen.p90)} | ${f(l.bridge.p50)} / ${f(l.bridge.p90)} | ${f(l.ratio, 2)}x | ${f(l.seenRatio, 2)}x |`),
    '',
  ];
  const worst = Math.max(...levels.map((l) => l.seenRatio));
  const flat = flatness(levels, 'seen');
  const flatO = flatness(levels, 'overlay');
  const flatB = flatness(levels, 'bridge');
  const ends = [...levels].sort((a, b) => a.endpoints - b.endpoints).map((l) => l.endpoints);
  rows.push(
    `- ${samples} samples per level, overlay and bridge interleaved; times from the start of \`nsnet create\` on host 1 (the CLI, a fresh process each).`,
    `- overlay ÷ bridge, until the entries are seen on the other hosts: ${levels.map((l) => `${f(l.seenRatio, 2)}x at ${l.endpoints}`).join(', ')} (goal <= 2: ${Number.isNaN(worst) ? 'not measured' : worst <= 2 ? 'met' : '**not met**'})`,
    `- flat, p50 at ${ends[ends.length - 1]} ÷ p50 at ${ends[0]} endpoints: seen ${f(flat, 2)}, command ${f(flatO, 2)} (the bridge's in the same run: ${f(flatB, 2)}; goal ~1, <= 1.3: ${Number.isNaN(flat) ? 'not measured' : flat <= 1.3 ? 'met' : '**not met**'})`,
  );
  return rows;
}
