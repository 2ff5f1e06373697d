// bench/overlay-report.ts: the overlay bench's percentiles, ratios and goal lines (pure).
import { describe, expect, test } from 'vitest';
import { flatness, overlayRows, p50, p90, quantile, summarize } from '../../bench/overlay-report.js';

describe('bench overlay report', () => {
  test('quantiles by nearest rank, whatever the order; NaN for no samples', () => {
    const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(p50(xs)).toBe(5);
    expect(p90(xs)).toBe(9);
    expect(quantile(xs, 1)).toBe(10);
    expect(quantile(xs, 0)).toBe(1);
    expect(p50([42])).toBe(42);
    expect(p50([])).toBeNaN();
    expect(xs[0]).toBe(10); // not sorted in place
  });

  test('ratios to the bridge, and flatness from the smallest level to the largest', () => {
    const s10 = summarize({ endpoints: 10, overlay: [20, 22, 30], seen: [21, 25, 31], bridge: [10, 11, 12] });
    const s100 = summarize({ endpoints: 100, overlay: [24, 26, 40], seen: [30, 33, 50], bridge: [11, 12, 14] });
    expect(s10.overlay).toEqual({ p50: 22, p90: 30 });
    expect(s10.ratio).toBeCloseTo(2.0);
    expect(s10.seenRatio).toBeCloseTo(25 / 11);
    expect(flatness([s100, s10], 'seen')).toBeCloseTo(33 / 25);
    expect(flatness([s10], 'seen')).toBeNaN();

    const rows = overlayRows([s10, s100], 3).join('\n');
    expect(rows).toContain('| 10 | 22.0 / 30.0 | 25.0 / 31.0 | 11.0 / 12.0 | 2.00x | 2.27x |');
    expect(rows).toContain('| 100 | 26.0 / 40.0 | 33.0 / 50.0 | 12.0 / 14.0 | 2.17x | 2.75x |');
    expect(rows).toContain('2.27x at 10, 2.75x at 100 (goal <= 2: **not met**)');
    expect(rows).toContain('seen 1.32, command 1.18');
    expect(rows).toContain('goal ~1, <= 1.3: **not met**');
  });

  test('goals met when within 2x and flat', () => {
    const a = summarize({ endpoints: 10, overlay: [15], seen: [16], bridge: [10] });
    const b = summarize({ endpoints: 100, overlay: [15], seen: [17], bridge: [10] });
    const rows = overlayRows([a, b], 1).join('\n');
    expect(rows).toContain('(goal <= 2: met)');
    expect(rows).toContain('goal ~1, <= 1.3: met');
  });
});
