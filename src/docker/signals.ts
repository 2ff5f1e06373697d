// Signal names as `docker kill -s` and `kill -s` take them: KILL, SIGKILL,
// kill, 9. Pure: the table is Node's own (os.constants.signals, Linux's
// numbers), so no hand-kept list.
import { constants } from 'node:os';

export interface Signal {
  /** As kill(1) spells it without the prefix: "USR1". */
  name: string;
  number: number;
}

const BY_NAME = constants.signals as Readonly<Record<string, number>>;

/** The highest signal number Linux has (SIGRTMAX). */
const MAX_SIGNAL = 64;

/**
 * Parses a signal as Docker does (moby's signal.ParseSignal): a number, or a
 * name with or without SIG in any case. Throws "Invalid signal: X" otherwise.
 */
export function parseSignal(raw: string): Signal {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > MAX_SIGNAL) throw new Error(`Invalid signal: ${raw}`);
    const name = Object.keys(BY_NAME).find((k) => BY_NAME[k] === n);
    return { name: name ? name.slice(3) : String(n), number: n };
  }
  const key = `SIG${raw.toUpperCase().replace(/^SIG/, '')}`;
  const n = BY_NAME[key];
  if (n === undefined || key === 'SIGUNUSED') throw new Error(`Invalid signal: ${raw}`);
  return { name: key.slice(3), number: n };
}
