// How the tour prints a step: pure functions from a step's result to lines,
// wrapped to the terminal's width (none when stdout is not a terminal).
// Wrapping happens before colour, so escape codes never count as width.

export interface Style {
  /** Terminal columns; undefined: no wrapping (a pipe, a file). */
  width?: number;
  color: boolean;
}

/** Below this, wrapping makes things worse than a terminal's own folding. */
const MIN_WIDTH = 30;

/**
 * Splits `text` into lines of at most `width` characters at spaces; the first
 * line starts with `first`, the others with `rest` (both counted). A word
 * longer than a line is cut (a long MAC list, a base64 blob).
 */
export function wrap(text: string, width: number | undefined, first = '', rest = first): string[] {
  if (width === undefined || width < MIN_WIDTH || first.length + text.length <= width) return [first + text];
  // An indent may take at most half a line (deeply nested nft output on a narrow terminal).
  const half = Math.floor(width / 2);
  if (first.length > half) first = first.slice(0, half);
  if (rest.length > half) rest = rest.slice(0, half);
  const lines: string[] = [];
  let line = first;
  let empty = true; // nothing but the indent on `line` yet
  const flush = () => {
    lines.push(line.trimEnd());
    line = rest;
    empty = true;
  };
  for (const word of text.split(/ +/)) {
    if (word === '') continue;
    if (!empty && line.length + 1 + word.length > width) flush();
    let w = word;
    while (line.length + (empty ? 0 : 1) + w.length > width) {
      // Longer than what is left of an empty line: cut it.
      const room = width - line.length - (empty ? 0 : 1);
      line += (empty ? '' : ' ') + w.slice(0, room);
      w = w.slice(room);
      flush();
    }
    if (w !== '') {
      line += (empty ? '' : ' ') + w;
      empty = false;
    }
  }
  if (!empty || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}

/**
 * A shell command as a user would type it, folded at spaces with ` \` so each
 * piece still pastes into a shell (`$ ` first, continuation lines indented).
 */
export function wrapCommand(cmd: string, width: number | undefined, indent: string): string[] {
  const first = `${indent}$ `;
  if (width === undefined || width < MIN_WIDTH || first.length + cmd.length <= width) return [first + cmd];
  const pieces = wrap(cmd, width - 2, first, `${indent}    `);
  return pieces.map((p, i) => (i < pieces.length - 1 ? `${p} \\` : p));
}

export interface StepView {
  title: string;
  equivalent: string[];
  shown: { command: string; output: string }[];
  checks: { what: string; ok: boolean; detail?: string }[];
}

const paint = (s: Style, code: string, text: string) => (s.color ? `\x1b[${code}m${text}\x1b[0m` : text);

/** The title and what the step does: printed before it runs. */
export function renderIntro(title: string, explain: string, s: Style): string[] {
  return ['', ...wrap(title, s.width).map((l) => paint(s, '1', l)), ...wrap(explain, s.width)];
}

/**
 * After the step ran: the commands that would make what it made (with the
 * real names), the kernel state each listing shows, and the checks. Each
 * listing is printed once: as a state listing with its output, never also
 * as an equivalent.
 */
export function renderResult(r: StepView, s: Style): string[] {
  const out: string[] = [];
  if (r.equivalent.length) {
    out.push('', paint(s, '2', '  The same by hand:'));
    for (const e of r.equivalent) out.push(...wrapCommand(e, s.width, '  ').map((l) => paint(s, '2', l)));
  }
  if (r.shown.length) {
    out.push('', paint(s, '2', '  What the kernel shows now:'));
    for (const sh of r.shown) {
      out.push(...wrapCommand(sh.command, s.width, '  ').map((l) => paint(s, '2', l)));
      for (const raw of sh.output.split('\n')) {
        const line = raw.replace(/\t/g, '        ').trimEnd(); // nft indents with tabs: 8 columns each
        const lead = `    ${/^ */.exec(line)![0]}`;
        out.push(...wrap(line.trimStart(), s.width, lead, `${lead}  `));
      }
    }
  }
  out.push('');
  for (const c of r.checks) {
    const mark = c.ok ? paint(s, '32', s.color ? '✓' : 'ok  ') : paint(s, '31', s.color ? '✗' : 'FAIL');
    const text = `${c.what}${!c.ok && c.detail ? ` (${c.detail.replace(/\s*\n\s*/g, ' ')})` : ''}`;
    const markWidth = s.color ? 1 : 4;
    const lines = wrap(text, s.width === undefined ? undefined : s.width - 3 - markWidth);
    out.push(`  ${mark} ${lines[0]}`, ...lines.slice(1).map((l) => `  ${' '.repeat(markWidth)} ${l}`));
  }
  return out;
}
