// Runs a parsed template (parse.ts) over a value, as Go's text/template does
// for the values Docker hands it:
// - a "struct" (an object made by `struct(typeName, fields)`): a missing field
//   is an error naming the type, as Go's is; its methods (`.Label "k"`) are
//   functions called with the action's arguments;
// - any other object is a map (inspect's JSON): a missing key prints `<no value>`.
//
// Pure.
import { BUILTINS, type Funcs } from './funcs.js';
import { printValue, TYPE, truth } from './values.js';

export { struct } from './values.js';
import { TemplateError, type Arg, type Node, type Pipe } from './parse.js';

class Stop {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** Executes `tree` with `dot` as `.` and `$`; `src` is the template text, for error positions. */
export function execute(tree: Node[], dot: unknown, src: string, funcs: Funcs = BUILTINS): string {
  let out = '';
  const vars: { name: string; value: unknown }[][] = [[{ name: '$', value: dot }]];

  const fail = (a: { pos: number; src: string }, message: string): never => {
    const before = src.slice(0, a.pos);
    const line = before.split('\n').length;
    const col = a.pos - (before.lastIndexOf('\n') + 1);
    const e = new TemplateError(`template: :${line}:${col}: executing "" at <${a.src}>: ${message}`);
    e.partial = out;
    throw e;
  };

  const lookupVar = (name: string) => {
    for (let s = vars.length - 1; s >= 0; s--) {
      const found = [...vars[s]!].reverse().find((x) => x.name === name);
      if (found) return found.value;
    }
    return undefined;
  };
  const setVar = (name: string, value: unknown, declare: boolean) => {
    if (declare) vars[vars.length - 1]!.push({ name, value });
    else for (let s = vars.length - 1; s >= 0; s--) {
      const found = vars[s]!.find((x) => x.name === name);
      if (found) { found.value = value; return; }
    }
  };

  function field(a: Arg, recv: unknown, name: string, args: unknown[] | undefined): unknown {
    if (recv === undefined || recv === null) return fail(a, `nil pointer evaluating interface {}.${name}`);
    if (typeof recv !== 'object' || Array.isArray(recv)) return fail(a, `can't evaluate field ${name} in type ${goType(recv)}`);
    const isStruct = TYPE in recv;
    const has = Object.prototype.hasOwnProperty.call(recv, name);
    const v = has ? (recv as Record<string, unknown>)[name] : undefined;
    if (isStruct && !has) return fail(a, `can't evaluate field ${name} in type ${(recv as Record<symbol, string>)[TYPE]}`);
    if (typeof v === 'function') {
      if (v.length > (args ?? []).length) return fail(a, `wrong number of args for ${name}: want ${v.length} got ${(args ?? []).length}`);
      return (v as (...x: unknown[]) => unknown)(...(args ?? []));
    }
    if (args && args.length) return fail(a, `${name} is not a method but has arguments`);
    return v;
  }

  function chain(a: Arg, v: unknown, names: string[], args?: unknown[]): unknown {
    names.forEach((n, i) => {
      v = field(a, v, n, i === names.length - 1 ? args : undefined);
    });
    return v;
  }

  function evalArg(a: Arg, d: unknown, args?: unknown[]): unknown {
    switch (a.k) {
      case 'dot': return d;
      case 'lit': return a.value;
      case 'field': return chain(a, d, a.names, args);
      case 'var': return chain(a, lookupVar(a.name), a.names, args);
      case 'pipe': return chain(a, evalPipe(a.pipe, d), a.names, args);
      case 'ident': {
        const f = funcs[a.name];
        if (!f) return fail(a, `function "${a.name}" not defined`);
        try {
          return (f as (...x: unknown[]) => unknown)(...(args ?? []));
        } catch (e) {
          if (e instanceof TemplateError) throw e;
          return fail(a, `error calling ${a.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  function evalCmd(cmd: Arg[], d: unknown, final: unknown, hasFinal: boolean): unknown {
    const [first, ...rest] = cmd;
    const args = rest.map((x) => evalArg(x, d));
    if (hasFinal) args.push(final);
    if (first!.k === 'ident' || ((first!.k === 'field' || first!.k === 'var' || first!.k === 'pipe') && args.length)) return evalArg(first!, d, args);
    if (args.length) return fail(first!, `can't give argument to non-function ${first!.src}`);
    return evalArg(first!, d);
  }

  function evalPipe(p: Pipe, d: unknown): unknown {
    let v: unknown;
    p.cmds.forEach((cmd, i) => {
      v = evalCmd(cmd, d, v, i > 0);
    });
    return v;
  }

  function walk(list: Node[], d: unknown): void {
    for (const n of list) {
      switch (n.k) {
        case 'text': out += n.text; break;
        case 'action': {
          const v = evalPipe(n.pipe, d);
          if (n.pipe.decl.length) setVar(n.pipe.decl[0]!, v, !n.pipe.assign);
          else out += printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          vars.push([]);
          const v = evalPipe(n.pipe, d);
          if (n.pipe.decl.length) setVar(n.pipe.decl[0]!, v, true);
          if (truth(v)) walk(n.list, n.k === 'with' ? v : d);
          else if (n.elseList) walk(n.elseList, d);
          vars.pop();
          break;
        }
        case 'range': walkRange(n, d); break;
        case 'break':
        case 'continue': throw new Stop(n.k);
      }
    }
  }

  function walkRange(n: Extract<Node, { k: 'if' | 'with' | 'range' }>, d: unknown): void {
    const v = evalPipe(n.pipe, d);
    let entries: [unknown, unknown][];
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
    else if (typeof v === 'number') entries = Array.from({ length: v }, (_, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else return fail({ pos: n.pipe.pos, src: 'range' }, `range can't iterate over ${printValue(v)}`);
    if (entries.length === 0) {
      if (n.elseList) walk(n.elseList, d);
      return;
    }
    for (const [k, x] of entries) {
      vars.push([]);
      const [a, b] = n.pipe.decl;
      if (b !== undefined) { setVar(a!, k, true); setVar(b, x, true); }
      else if (a !== undefined) setVar(a, x, true);
      try {
        walk(n.list, x);
      } catch (e) {
        if (!(e instanceof Stop)) throw e;
        if (e.kind === 'break') { vars.pop(); break; }
      }
      vars.pop();
    }
  }

  walk(tree, dot);
  return out;
}

function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'interface {}';
}
