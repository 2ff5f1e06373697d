// The Go text/template subset Docker's `--format` documents, parsed into a
// tree: text, actions ({{pipeline}}), if/else if/else, range (with `$i, $v :=`),
// with, variables, parenthesised pipelines, `{{-`/`-}}` trimming and comments.
// The error texts follow Go's (`template: :1: unexpected EOF`), as scripts and
// people compare them with Docker's.
//
// Pure: text in, tree out.

import { BUILTINS } from './funcs.js';

export type Arg =
  | { k: 'dot'; pos: number; src: string }
  | { k: 'field'; names: string[]; pos: number; src: string } // .A.B on dot
  | { k: 'var'; name: string; names: string[]; pos: number; src: string } // $x.A, $.A
  | { k: 'ident'; name: string; pos: number; src: string } // a function
  | { k: 'lit'; value: string | number | boolean | null; pos: number; src: string }
  | { k: 'pipe'; pipe: Pipe; names: string[]; pos: number; src: string }; // (pipeline).A

export interface Pipe {
  decl: string[]; // $x := / $i, $v := (range)
  /** `$x = value`: assigns an existing variable rather than declaring one. */
  assign: boolean;
  cmds: Arg[][];
  pos: number;
}

export type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined }
  | { k: 'break' | 'continue'; pos: number };

export class TemplateError extends Error {
  override name = 'TemplateError';
  /** What was written before an execution error (Docker keeps a table header's partial output). */
  partial = '';
}

type Tok = { t: string; v: string; pos: number };

/** `template: :LINE: message`, the line counted in `src`. */
export function errorAt(src: string, pos: number, message: string): TemplateError {
  const line = src.slice(0, pos).split('\n').length;
  return new TemplateError(`template: :${line}: ${message}`);
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);

/** Splits text and actions; each action becomes its tokens. */
function lex(src: string): ({ text: string } | { toks: Tok[]; pos: number })[] {
  const out: ({ text: string } | { toks: Tok[]; pos: number })[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ text });
      break;
    }
    let j = open + 2;
    if (src.startsWith('- ', j) || src.startsWith('-\t', j) || src.startsWith('-\n', j)) {
      text = text.replace(/\s+$/, '');
      j += 2;
    }
    if (text) out.push({ text });
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j);
      const after = end < 0 ? '' : src.slice(end + 2);
      const close = after.startsWith('}}') ? 2 : /^\s-}}/.test(after) ? 4 : -1;
      if (close < 0) throw errorAt(src, open, 'unclosed comment');
      trimNext = close === 4;
      i = end + 2 + close;
      continue;
    }
    const toks: Tok[] = [];
    for (;;) {
      const ws = /^\s*/.exec(src.slice(j))![0].length;
      if (ws > 0 && src.startsWith('-}}', j + ws)) { trimNext = true; j += ws + 3; break; }
      j += ws;
      if (j >= src.length) throw errorAt(src, open, 'unclosed action');
      if (src.startsWith('}}', j)) { j += 2; break; }
      const rest = src.slice(j);
      const m =
        /^(:=|=|\||\(|\)|,)/.exec(rest) ??
        /^"(?:[^"\\\n]|\\.)*"/.exec(rest) ??
        /^`[^`]*`/.exec(rest) ??
        /^-?\d+(?:\.\d+)?/.exec(rest) ??
        /^\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/.exec(rest) ??
        /^(?:\.[A-Za-z0-9_]+)+/.exec(rest) ??
        /^\./.exec(rest) ??
        /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
      if (!m) throw errorAt(src, j, `unexpected "${rest[0]}" in command`);
      const v = m[0];
      const t = /^(:=|=|\||\(|\)|,)$/.test(v) ? v : v[0] === '"' || v[0] === '`' ? 'str' : /^-?\d/.test(v) ? 'num'
        : v[0] === '$' ? 'var' : v === '.' ? 'dot' : v[0] === '.' ? 'field' : 'ident';
      toks.push({ t, v, pos: j });
      j += v.length;
    }
    out.push({ toks, pos: open });
    i = j;
  }
  return out;
}

/** Parses a template; throws a TemplateError with Go's wording. */
export function parseTemplate(src: string, funcNames: ReadonlySet<string> = new Set(Object.keys(BUILTINS))): Node[] {
  const items = lex(src);
  let at = 0;
  const vars: string[][] = [['$']];

  function parseList(ends: string[]): { list: Node[]; end: string } {
    const list: Node[] = [];
    while (at < items.length) {
      const item = items[at++]!;
      if ('text' in item) { list.push({ k: 'text', text: item.text }); continue; }
      const { toks, pos } = item;
      if (toks.length === 0) throw errorAt(src, pos, 'missing value for command');
      const kw = toks[0]!.t === 'ident' && KEYWORDS.has(toks[0]!.v) ? toks[0]!.v : undefined;
      if (kw === 'end' || kw === 'else') {
        if (!ends.includes(kw)) throw errorAt(src, pos, `unexpected {{${kw}}}`);
        if (kw === 'else' && toks.length > 1) { at--; return { list, end: 'else if' }; }
        return { list, end: kw };
      }
      if (kw === 'if' || kw === 'with' || kw === 'range') list.push(parseControl(kw, toks.slice(1), pos));
      else if (kw === 'break' || kw === 'continue') list.push({ k: kw, pos });
      else if (kw) throw errorAt(src, pos, `{{${kw}}} is not supported`);
      else list.push({ k: 'action', pipe: parsePipe(toks, pos, true) });
    }
    if (ends.length) throw errorAt(src, src.length, 'unexpected EOF');
    return { list, end: '' };
  }

  function parseControl(kw: 'if' | 'with' | 'range', toks: Tok[], pos: number): Node {
    vars.push([]);
    const pipe = parsePipe(toks, pos, true, kw === 'range');
    if (pipe.cmds.length === 0) throw errorAt(src, pos, `missing value for ${kw}`);
    const body = parseList(['end', 'else']);
    let elseList: Node[] | undefined;
    if (body.end === 'else if') {
      // `{{else if x}}` is an if nested in the else branch, ended by the same {{end}}.
      const { toks: t2, pos: p2 } = items[at++] as { toks: Tok[]; pos: number };
      elseList = [parseControl(t2[1]!.v as 'if' | 'with', t2.slice(2), p2)];
    } else if (body.end === 'else') {
      elseList = parseList(['end']).list;
    }
    vars.pop();
    return { k: kw, pipe, list: body.list, elseList };
  }

  function parsePipe(toks: Tok[], pos: number, top: boolean, range = false): Pipe {
    let i = 0;
    const decl: string[] = [];
    let assign = false;
    // `$x :=` or, in range, `$i, $v :=`
    const declEnd = toks.findIndex((t) => t.t === ':=' || t.t === '=');
    if (top && declEnd > 0 && toks.slice(0, declEnd).every((t, n) => (n % 2 ? t.t === ',' : t.t === 'var'))) {
      for (let n = 0; n < declEnd; n += 2) decl.push(toks[n]!.v);
      if (decl.length > (range ? 2 : 1)) throw errorAt(src, pos, 'too many declarations');
      assign = toks[declEnd]!.t === '=';
      if (!assign) vars[vars.length - 1]!.push(...decl);
      i = declEnd + 1;
    }
    const cmds: Arg[][] = [[]];
    for (; i < toks.length; i++) {
      const t = toks[i]!;
      if (t.t === '|') {
        if (cmds[cmds.length - 1]!.length === 0) throw errorAt(src, t.pos, 'missing command');
        cmds.push([]);
        continue;
      }
      if (t.t === '(') {
        let depth = 1;
        let j = i + 1;
        for (; j < toks.length && depth; j++) depth += toks[j]!.t === '(' ? 1 : toks[j]!.t === ')' ? -1 : 0;
        if (depth) throw errorAt(src, t.pos, 'unclosed left paren');
        const inner = parsePipe(toks.slice(i + 1, j - 1), t.pos, false);
        const next = toks[j];
        const names = next && next.t === 'field' && next.pos === toks[j - 1]!.pos + 1 ? next.v.slice(1).split('.') : [];
        if (names.length) j++;
        cmds[cmds.length - 1]!.push({ k: 'pipe', pipe: inner, names, pos: t.pos, src: src.slice(t.pos, (toks[j - 1]!.pos) + toks[j - 1]!.v.length) });
        i = j - 1;
        continue;
      }
      cmds[cmds.length - 1]!.push(operand(t));
    }
    if (cmds[cmds.length - 1]!.length === 0) {
      if (cmds.length > 1) throw errorAt(src, pos, 'missing command');
      cmds.pop();
    }
    return { decl, assign, cmds, pos };
  }

  function operand(t: Tok): Arg {
    const base = { pos: t.pos, src: t.v };
    switch (t.t) {
      case 'str': return { k: 'lit', value: t.v[0] === '`' ? t.v.slice(1, -1) : unquote(t.v, t.pos), ...base };
      case 'num': return { k: 'lit', value: Number(t.v), ...base };
      case 'dot': return { k: 'dot', ...base };
      case 'field': return { k: 'field', names: t.v.slice(1).split('.'), ...base };
      case 'var': {
        const [name, ...names] = t.v.split('.');
        if (!vars.some((scope) => scope.includes(name!))) throw errorAt(src, t.pos, `undefined variable "${name}"`);
        return { k: 'var', name: name!, names, ...base };
      }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', value: t.v === 'true', ...base };
        if (t.v === 'nil') return { k: 'lit', value: null, ...base };
        if (!funcNames.has(t.v)) throw errorAt(src, t.pos, `function "${t.v}" not defined`);
        return { k: 'ident', name: t.v, ...base };
      default: throw errorAt(src, t.pos, `unexpected "${t.v}" in operand`);
    }
  }

  function unquote(s: string, pos: number): string {
    try {
      return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')) as string;
    } catch {
      throw errorAt(src, pos, `invalid syntax: ${s}`);
    }
  }

  return parseList([]).list;
}
