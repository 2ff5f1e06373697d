// Headless Chromium (Debian's `chromium`, installed by scripts/setup.sh),
// driven directly: no puppeteer, no download. Only file:// pages, no proxy, no
// network features, its profile and caches in a temporary HOME; run inside
// scripts/sandbox.sh (the tests are), so it has no way out anyway.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function chromiumPath(): string | undefined {
  for (const bin of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [bin], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function run(args: string[], home: string): string {
  const bin = chromiumPath();
  if (!bin) throw new Error('chromium is not installed (scripts/setup.sh installs it: apt-get install chromium)');
  const r = spawnSync(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--no-proxy-server', '--no-first-run', '--disable-extensions',
    '--disable-background-networking', '--disable-sync', '--disable-component-update', '--disable-default-apps', '--hide-scrollbars',
    '--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider', `--user-data-dir=${path.join(home, 'profile')}`, ...args], {
    encoding: 'utf8', timeout: 90_000,
    env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache'), XDG_RUNTIME_DIR: home },
  });
  if (r.status !== 0) throw new Error(`chromium ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

export interface Rendered {
  /** The svg element's bounding box as laid out by Chromium. */
  svg: { width: number; height: number };
  /** Texts whose rendered extent runs past the right edge of the box they are written in. */
  overflow: string[];
}

/**
 * Lays the SVG out in a page of `screenWidth` px and reads back its rendered
 * size and, for every <text> inside a box group (<g> with a <rect>), whether the
 * real glyphs stay inside the rect: a script writes the result into the DOM,
 * which --dump-dom prints.
 */
export function renderSvg(svg: string, screenWidth = 1366): Rendered {
  const home = mkdtempSync(path.join(os.tmpdir(), 'nsnet-chromium-'));
  try {
    const page = path.join(home, 'page.html');
    writeFileSync(page, `<!doctype html><html><body style="margin:0">${svg}<pre id="out"></pre><script>
const s = document.querySelector('svg').getBoundingClientRect();
const overflow = [];
for (const g of document.querySelectorAll('svg g')) {
  const r = g.querySelector('rect'); if (!r) continue;
  const right = r.x.baseVal.value + r.width.baseVal.value;
  for (const t of g.querySelectorAll('text')) { const b = t.getBBox(); if (b.x + b.width > right - 2) overflow.push(t.textContent + ' (' + Math.round(b.x + b.width - right) + ' px over)'); }
}
document.getElementById('out').textContent = JSON.stringify({ svg: { width: s.width, height: s.height }, overflow });
</script></body></html>`);
    const dom = run([`--window-size=${screenWidth},900`, '--dump-dom', `file://${page}`], home);
    const m = /<pre id="out">([^<]*)<\/pre>/.exec(dom);
    if (!m) throw new Error(`chromium printed no result: ${dom.slice(0, 500)}`);
    return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Rendered;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A PNG of the SVG at its own size. */
export function screenshotSvg(svg: string, out: string, size: { width: number; height: number }): void {
  const home = mkdtempSync(path.join(os.tmpdir(), 'nsnet-chromium-'));
  try {
    const file = path.join(home, 'picture.svg');
    writeFileSync(file, svg);
    run([`--window-size=${size.width},${size.height}`, `--screenshot=${path.resolve(out)}`, `file://${file}`], home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
