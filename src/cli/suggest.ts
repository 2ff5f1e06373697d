// "Did you mean this?": the commands close to a word nobody knows, as cobra
// suggests them.
//
// Pure.
import { GROUPS, PROGRAM, subcommands } from './commands.js';
import { UsageError } from './usage-error.js';


export function unknownCommand(word: string, group: string): UsageError {
  const where = group === '' ? PROGRAM : `${PROGRAM} ${group}`;
  const found = suggestions(word, group);
  const hint = found.length > 0 ? `\n\nDid you mean this?\n${found.map((s) => `\t${s}`).join('\n')}` : '';
  return new UsageError(`unknown command "${word}" for "${where}"${hint}`, group === '' ? undefined : group);
}

/**
 * Names one edit away (a transposition counts as one), or that start with
 * what was typed, as cobra suggests. Aliases match but the canonical name is
 * what is suggested.
 */
export function suggestions(word: string, group: string): string[] {
  const candidates: Array<{ typed: string; name: string }> = [];
  const last = (name: string): string => name.split(' ').pop() ?? name;
  for (const c of subcommands(group)) {
    for (const n of [c.name, ...(c.aliases ?? [])]) candidates.push({ typed: last(n), name: last(c.name) });
  }
  if (group === '') {
    for (const g of GROUPS) candidates.push({ typed: g.name, name: g.name });
    candidates.push({ typed: 'help', name: 'help' });
  }
  const out: string[] = [];
  for (const { typed, name } of candidates) {
    const close = editDistance(word.toLowerCase(), typed) <= 1 || typed.startsWith(word.toLowerCase());
    if (close && word !== '' && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}
