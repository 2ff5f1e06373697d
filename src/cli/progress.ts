// The progress list for long work (compose up/down), drawn as `docker compose` draws it:
//
//   [+] Running 3/3
//    ✔ Network simpleweb_default     Created
//    ✔ Sandbox simpleweb_apache_1    Started
//    ⠹ Sandbox simpleweb_postgres_1  Creating
//
// On a terminal the block is redrawn in place as items change; elsewhere
// (a pipe, a CI log) every change is one plain line, as `--progress plain`.
// Written to stderr, so stdout stays for data.
import { colors } from './output.js';

export interface ProgressItem {
  kind: string;
  name: string;
  status: string;
  done: boolean;
  failed?: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The block's lines, for one spinner frame (pure; tested). */
export function renderProgress(items: readonly ProgressItem[], frame: number, color: boolean): string[] {
  const c = colors(color);
  const done = items.filter((i) => i.done).length;
  const label = (i: ProgressItem) => `${i.kind} ${i.name}`;
  const width = Math.max(0, ...items.map((i) => label(i).length));
  return [
    `${c.bold('[+]')} Running ${done}/${items.length}`,
    ...items.map((i) => {
      const mark = i.failed ? c.red('✘') : i.done ? c.green('✔') : c.cyan(SPINNER[frame % SPINNER.length]!);
      const status = i.failed ? c.red(i.status) : i.done ? c.green(i.status) : i.status;
      return ` ${mark} ${label(i).padEnd(width)}  ${status}`;
    }),
  ];
}

export class Progress {
  private items: ProgressItem[] = [];
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly color: boolean,
  ) {}

  update(e: ProgressItem): void {
    const key = `${e.kind} ${e.name}`;
    const at = this.items.findIndex((i) => `${i.kind} ${i.name}` === key);
    const item = { ...e, failed: e.status === 'Error' };
    if (at < 0) this.items.push(item);
    else this.items[at] = item;
    if (!this.tty) {
      this.write(` ${e.kind} ${e.name}  ${e.status}\n`);
      return;
    }
    this.timer ??= setInterval(() => {
      this.frame++;
      this.draw();
    }, 100);
    this.draw();
  }

  /** Draws the final state and stops the spinner. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.items.length) this.draw();
  }

  private draw(): void {
    const lines = renderProgress(this.items, this.frame, this.color);
    // Up to the block's first line, then rewrite every line (clearing what was there).
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawn = lines.length;
  }
}
