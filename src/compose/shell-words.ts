// A `command:` or `entrypoint:` string split into words as Compose splits it.
import { ComposeError } from './read-values.js';

/**
 * A command as Compose splits a string one (shell words: quotes and
 * backslashes, no variables or globbing); a list is taken as it is.
 */
export function shellWords(text: string, path = 'command'): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      // Inside double quotes a backslash escapes a quote, a backslash, $ and a backtick; single quotes keep all.
      let end = i + 1;
      while (end < text.length && text[end] !== c) end += c === '"' && text[end] === '\\' ? 2 : 1;
      if (end >= text.length) throw new ComposeError(`${path}: unterminated ${c === '"' ? 'double' : 'single'} quote`);
      let quoted = text.slice(i + 1, end);
      if (c === '"') quoted = quoted.replace(/\\(["\\$`])/g, '$1');
      cur += quoted;
      inWord = true;
      i = end;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

