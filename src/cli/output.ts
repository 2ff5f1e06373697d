// How the CLI prints: Docker-aligned tables, JSON, IDs and colour.
//
// Tables copy Docker's formatter, a Go tabwriter with minwidth 10 and
// padding 3 (cli/command/formatter): each column is as wide as its widest
// cell plus 3 spaces, and never narrower than 10, so `docker network ls`
// output and nsnet's line up the same way and scripts that cut columns work
// on both. The last column is not padded.
//
// Pure: the caller passes the stream and environment it wants judged.

const MIN_WIDTH = 10;
const PADDING = 3;
const SHORT_ID = 12;

/** Rows under headers, aligned like Docker's tables; lines have no trailing spaces and no final newline. */
export function table(rows: string[][], headers: string[]): string {
  const lines = [headers, ...rows];
  const columns = Math.max(0, ...lines.map((r) => r.length));
  const widths = Array.from({ length: columns - 1 }, (_, c) =>
    Math.max(MIN_WIDTH, ...lines.map((r) => displayWidth(r[c] ?? '') + PADDING)),
  );
  return lines.map((r) => formatRow(r, widths, columns)).join('\n');
}

function formatRow(row: string[], widths: number[], columns: number): string {
  let line = '';
  for (let c = 0; c < columns; c++) {
    const cell = row[c] ?? '';
    const width = widths[c];
    line += width === undefined ? cell : cell + ' '.repeat(width - displayWidth(cell));
  }
  return line.trimEnd();
}

/** Columns a cell takes: code points, not counting colour escapes. */
export function displayWidth(s: string): number {
  return [...stripAnsi(s)].length;
}

const ANSI = /\x1b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** `--format json` for lists: one compact object per line, as `docker network ls --format json`. */
export function jsonLines(items: readonly unknown[]): string {
  return items.map((i) => JSON.stringify(i)).join('\n');
}

/** inspect output: an array indented by 4 spaces, as Docker's `json.MarshalIndent(v, "", "    ")`. */
export function inspectJson(items: readonly unknown[]): string {
  return items.length === 0 ? '[]' : JSON.stringify(items, null, 4);
}

/** The 12-character ID Docker shows, or the whole ID with --no-trunc. */
export function truncateId(id: string, noTrunc = false): string {
  return noTrunc ? id : id.slice(0, SHORT_ID);
}

/**
 * Colour only for a person at a terminal: stdout is a TTY, NO_COLOR
 * (no-color.org) is unset or empty, and the terminal is not `dumb`.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (stream.isTTY !== true) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}

export type Paint = (text: string) => string;

export interface Palette {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

// SGR on/off pairs; each style resets only itself so styles nest.
const STYLES: Record<keyof Palette, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/** Colour functions that paint when `enabled` and return the text unchanged otherwise. */
export function colors(enabled: boolean): Palette {
  const make = ([on, off]: [number, number]): Paint =>
    enabled ? (t) => `\x1b[${on}m${t}\x1b[${off}m` : (t) => t;
  return {
    bold: make(STYLES.bold),
    dim: make(STYLES.dim),
    red: make(STYLES.red),
    green: make(STYLES.green),
    yellow: make(STYLES.yellow),
    cyan: make(STYLES.cyan),
  };
}

/** One colour, for a single use: `paint('red', 'error', enabled)`. */
export function paint(style: keyof Palette, text: string, enabled: boolean): string {
  return colors(enabled)[style](text);
}
