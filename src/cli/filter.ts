// `--filter key=value` as Docker's daemon applies it (moby api/types/filters
// and daemon/list.go, daemon/network/filter.go): values of one key OR'ed,
// different keys AND'ed; `name` and `id` match as regular expressions (so a
// substring matches), `label` filters must all hold (Docker's MatchKVList),
// and an unknown key or value is an error naming it.
//
// Pure.
import { NsnetError } from '../docker/errors.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import { sandboxNetworks } from './list-context.js';

export type Filters = Map<string, string[]>;

const invalid = (m: string) => new NsnetError('InvalidArgument', m);

/** Parses repeated `--filter` values, accepting only `keys`. */
export function parseFilters(values: readonly string[], keys: readonly string[]): Filters {
  const f: Filters = new Map();
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 0) throw invalid(`bad format of filter (expected name=value)`);
    const key = v.slice(0, i).trim().toLowerCase();
    if (!keys.includes(key)) throw invalid(`invalid filter '${key}'`);
    f.set(key, [...(f.get(key) ?? []), v.slice(i + 1).trim()]);
  }
  return f;
}

/** filters.Match: any value, as a regular expression, found in `s`; true when the key is not given. */
function match(f: Filters, key: string, ...sources: string[]): boolean {
  const values = f.get(key);
  if (!values) return true;
  return values.some((v) => {
    try {
      const re = new RegExp(v);
      return sources.some((s) => re.test(s));
    } catch {
      return false;
    }
  });
}

/** filters.ExactMatch: any value equal to `s`. */
function exact(f: Filters, key: string, s: string): boolean {
  const values = f.get(key);
  return !values || values.includes(s);
}

/** filters.MatchKVList: every `k` or `k=v` given holds in `labels`. */
function labels(f: Filters, l: Record<string, string> | undefined): boolean {
  const values = f.get('label');
  if (!values) return true;
  return values.every((v) => {
    const i = v.indexOf('=');
    const k = i < 0 ? v : v.slice(0, i);
    if (!l || !Object.prototype.hasOwnProperty.call(l, k)) return false;
    return i < 0 || l[k] === v.slice(i + 1);
  });
}

function bool(f: Filters, key: string): boolean | undefined {
  const values = f.get(key);
  if (!values) return undefined;
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter '${key}=${values[values.length - 1]}'`);
}

// ---- network ls ------------------------------------------------------------

export const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'] as const;

/**
 * The networks `network ls --filter` keeps. `used` says whether a sandbox is
 * on the network (for `dangling`: unused and not one of bridge/host/none).
 */
export function filterNetworks(nets: readonly NetworkRecord[], f: Filters, used: (n: NetworkRecord) => boolean): NetworkRecord[] {
  for (const t of f.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
  const dangling = bool(f, 'dangling');
  return nets.filter((n) =>
    match(f, 'name', n.name) &&
    match(f, 'id', n.id) &&
    exact(f, 'driver', n.driver) &&
    exact(f, 'scope', n.scope ?? 'local') &&
    labels(f, n.labels) &&
    exact(f, 'type', n.builtin ? 'builtin' : 'custom') &&
    (dangling === undefined || dangling === (!n.builtin && !used(n))),
  );
}

// ---- ps --------------------------------------------------------------------

export const PS_FILTERS = ['id', 'name', 'label', 'network', 'status', 'exited'] as const;
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** Whether the filters themselves ask for stopped sandboxes too (`status=`), as `-a` does. */
export function filtersImplyAll(f: Filters): boolean {
  return f.has('status');
}

/** The sandboxes `ps --filter` keeps; `status` is each one's live state. */
export function filterSandboxes<T extends { sb: SandboxRecord; status: SandboxRecord['status'] }>(
  rows: readonly T[], f: Filters, networks: readonly NetworkRecord[],
): T[] {
  for (const s of f.get('status') ?? []) if (!STATUSES.includes(s)) throw invalid(`invalid filter 'status=${s}'`);
  const exited = (f.get('exited') ?? []).map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalid(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  return rows.filter(({ sb, status }) => {
    const state = status === 'creating' ? 'created' : status;
    if (!match(f, 'name', sb.name, `/${sb.name}`) || !match(f, 'id', sb.id) || !labels(f, sb.labels)) return false;
    if (!exact(f, 'status', state)) return false;
    if (exited.length && !(state === 'exited' && sb.exitCode !== undefined && exited.includes(sb.exitCode))) return false;
    const nets = f.get('network');
    if (nets && !sandboxNetworks(sb, networks).some((n) => nets.some((v) => v === n.name || (v !== '' && n.id.startsWith(v))))) return false;
    return true;
  });
}
