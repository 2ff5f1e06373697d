// Docker's `--format` for lists (`ps`, `network ls`) and for inspect, on top
// of the template engine (template/*.ts), as docker/cli's formatter does it:
// - "table" (or nothing): the command's default table;
// - "json": `{{json .}}`, one object per line;
// - "table TEMPLATE": a header rendered from the same template with each field
//   replaced by its column title (Docker's HeaderFunctions), then one row per
//   item, aligned by tabs like Docker's tabwriter (output.ts `table`);
// - "TEMPLATE": one line per item, exactly as the template says.
// In list formats the two-character escapes `\t` and `\n` become a tab and a
// newline, as Docker does, so `--format '{{.Names}}\t{{.Status}}'` works from a
// shell (inspect's templates are taken as they are, as Docker's are).
//
// Pure.
import { NsnetError } from '../docker/errors.js';
import { table } from './output.js';
import { execute } from './template/exec.js';
import { BUILTINS, HEADER_FUNCS } from './template/funcs.js';
import { parseTemplate, TemplateError, type Node } from './template/parse.js';

export type ListFormat =
  | { kind: 'default' }
  | { kind: 'json' }
  | { kind: 'template'; table: boolean; tree: Node[]; src: string };

const invalid = (e: unknown) =>
  e instanceof TemplateError ? new NsnetError('InvalidArgument', `template parsing error: ${e.message}`) : e;

/** Parses a template, as a usage-time error if it is wrong (before any work is done). */
export function compileTemplate(src: string): { tree: Node[]; src: string } {
  try {
    return { tree: parseTemplate(src), src };
  } catch (e) {
    throw invalid(e);
  }
}

/** What `--format VALUE` asks of a list command. */
export function listFormat(value: string | undefined): ListFormat {
  const v = (value ?? '').trim();
  if (v === '' || v === 'table') return { kind: 'default' };
  if (v === 'json') return { kind: 'json' };
  const isTable = v.startsWith('table');
  const text = unescape(isTable ? v.slice('table'.length).trim() : v);
  return { kind: 'template', table: isTable, ...compileTemplate(text) };
}

/** Docker's `\t` and `\n` escapes, typed as two characters in a shell. */
function unescape(s: string): string {
  return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function run(tree: Node[], dot: unknown, src: string, funcs = BUILTINS): string {
  try {
    return execute(tree, dot, src, funcs);
  } catch (e) {
    throw invalid(e);
  }
}

/**
 * Renders items with a template format (json or a template; the default table
 * is the command's own). `headers` maps field names to column titles.
 */
export function renderList(f: Exclude<ListFormat, { kind: 'default' }>, items: readonly object[], headers: Record<string, string>): string {
  if (f.kind === 'json') return items.map((i) => JSON.stringify(i)).join('\n');
  const rows = items.map((i) => run(f.tree, i, f.src));
  if (!f.table) return rows.join('\n');
  // The header: the template run over the titles; an error ends it where it
  // stopped, as Docker ignores it (a `.Label "k"` column gets no title).
  let header: string;
  try {
    header = execute(f.tree, headers, f.src, HEADER_FUNCS);
  } catch (e) {
    header = e instanceof TemplateError ? e.partial : '';
  }
  const lines = [header, ...rows].join('\n').split('\n').map((l) => l.split('\t'));
  return table(lines.slice(1), lines[0]!);
}

/**
 * `inspect -f`: the JSON array by default (or "json"), else the template run
 * over each object, one result per line.
 */
export function inspectFormat(value: string | undefined): { tree: Node[]; src: string } | undefined {
  const v = value ?? '';
  if (v === '' || v === 'json') return undefined;
  return compileTemplate(v); // as is: Docker's inspect does not rewrite \t there
}

export function renderInspect(f: { tree: Node[]; src: string }, objects: readonly object[]): string {
  return objects.map((o) => run(f.tree, withGoNames(o), f.src)).join('\n');
}

/** Docker templates see its Go structs, whose `ID` is `Id` in the JSON; both spellings work there, so both do here. */
function withGoNames(o: object): object {
  if (!('Id' in o) || 'ID' in o) return o;
  const copy = { ...o };
  Object.defineProperty(copy, 'ID', { value: (o as { Id: unknown }).Id, enumerable: false });
  return copy;
}
