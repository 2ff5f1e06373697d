// Shape checks for nsnet's state files, one per kind of file. Pure: each
// takes the file's text and says what is wrong with it (undefined: nothing),
// in words fit for an error message that names the file.
//
// A check looks only at what nsnet relies on (ids, names, addresses, the
// lists it iterates); fields it adds later and fields it ignores pass.

/** A parsed file, or what is wrong with it. */
export type Parsed<T> = { value: T; problem?: undefined } | { value?: undefined; problem: string };

const HEX64 = /^[0-9a-f]{64}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const CIDR = /^[0-9.]+\/\d{1,2}$/;
/** IPv6 text as nsnet writes it (canonical, src/net/ip6.ts): hex groups and colons; with a length for a subnet. */
const IPV6 = /^[0-9a-f:]{2,39}$/;
const CIDR6 = /^[0-9a-f:]{2,39}\/\d{1,3}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** Parses JSON text, then checks its shape; empty files, binary data and bad JSON are named as such. */
export function parseState<T>(text: string, check: (v: unknown) => string | undefined): Parsed<T> {
  if (text.trim() === '') return { problem: text.length ? 'empty (only whitespace)' : 'empty (0 bytes)' };
  if (/[\x00-\x08\x0e-\x1f\ufffd]/.test(text)) return { problem: 'not valid JSON (binary data)' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const m = (e as Error).message;
    return { problem: `not valid JSON (${m.length > 80 ? `${m.slice(0, 77)}...` : m})` };
  }
  const problem = check(v);
  return problem ? { problem: `wrong shape: ${problem}` } : { value: v as T };
}

function str(o: Obj, key: string, re?: RegExp): string | undefined {
  const v = o[key];
  if (typeof v !== 'string') return v === undefined ? `${key} is missing` : `${key} is ${kindOf(v)}, not a string`;
  if (re && !re.test(v)) return `${key} ${JSON.stringify(v.slice(0, 70))} is not valid`;
  return undefined;
}

function optStr(o: Obj, key: string, re?: RegExp): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, re);
}

function list(o: Obj, key: string): string | undefined {
  return Array.isArray(o[key]) ? undefined : `${key} is ${o[key] === undefined ? 'missing' : kindOf(o[key])}, not a list`;
}

const first = (...problems: (string | undefined)[]) => problems.find((p) => p !== undefined);

/** One network of networks.json. */
export function networkProblem(v: unknown): string | undefined {
  if (!isObj(v)) return `is ${kindOf(v)}, not an object`;
  const p = first(str(v, 'id', HEX64), str(v, 'name', NAME), str(v, 'driver', /^(bridge|host|null|macvlan)$/),
    typeof v.builtin === 'boolean' ? undefined : 'builtin is not true or false');
  if (p) return p;
  if (v.driver === 'macvlan') {
    return first(str(v, 'parent', /^[^\s/:]{1,15}$/), str(v, 'subnet', CIDR), str(v, 'gateway', IPV4), optStr(v, 'ipRange', CIDR),
      optStr(v, 'macvlanMode', /^(bridge|vepa|private|passthru)$/));
  }
  if (v.driver !== 'bridge') return p;
  return first(str(v, 'bridge', /^[^\s/:]{1,15}$/), str(v, 'subnet', CIDR), str(v, 'gateway', IPV4), optStr(v, 'ipRange', CIDR),
    optStr(v, 'subnet6', CIDR6), optStr(v, 'gateway6', IPV6));
}

/** networks.json: a list of networks, with distinct ids and names. */
export function networksProblem(v: unknown): string | undefined {
  if (!Array.isArray(v)) return `expected a list of networks, found ${kindOf(v)}`;
  const ids = new Set<string>();
  const names = new Set<string>();
  for (const [i, n] of v.entries()) {
    const p = networkProblem(n);
    const label = isObj(n) && typeof n.name === 'string' ? `network ${i + 1} (${JSON.stringify(n.name.slice(0, 64))})` : `network ${i + 1}`;
    if (p) return `${label}: ${p}`;
    const { id, name } = n as { id: string; name: string };
    if (ids.has(id) || names.has(name)) return `${label}: its ${ids.has(id) ? 'id' : 'name'} appears twice`;
    ids.add(id);
    names.add(name);
  }
  return undefined;
}

function endpointProblem(v: unknown): string | undefined {
  if (!isObj(v)) return `is ${kindOf(v)}, not an object`;
  return first(str(v, 'networkId', HEX64), str(v, 'ip', IPV4), optStr(v, 'ip6', IPV6), str(v, 'hostVeth'), str(v, 'ifname'),
    typeof v.prefixlen === 'number' ? undefined : 'prefixlen is not a number');
}

function portProblem(v: unknown): string | undefined {
  if (!isObj(v)) return `is ${kindOf(v)}, not an object`;
  const hostIp = typeof v.hostIp === 'string' && IPV6.test(v.hostIp) ? str(v, 'hostIp', IPV6) : str(v, 'hostIp', IPV4);
  return first(str(v, 'proto', /^(tcp|udp)$/), hostIp, optStr(v, 'ip6', IPV6),
    Number.isInteger(v.hostPort) && (v.hostPort as number) >= 1 && (v.hostPort as number) <= 65535 ? undefined : 'hostPort is not a port number');
}

/** A sandbox record, sandboxes/<name>.json: its name must be the file's. */
export function sandboxProblem(v: unknown, fileName: string): string | undefined {
  if (!isObj(v)) return `expected a sandbox record (an object), found ${kindOf(v)}`;
  const p = first(str(v, 'id', HEX64), str(v, 'name', NAME),
    str(v, 'status', /^(creating|created|running|exited|removing)$/), str(v, 'mode', /^(bridge|host|none|container)$/),
    str(v, 'networkMode'), optStr(v, 'netns', NAME), optStr(v, 'containerOf', HEX64), list(v, 'endpoints'), list(v, 'ports'));
  if (p) return p;
  if (v.name !== fileName) return `name ${JSON.stringify(v.name)} is not the file's (${JSON.stringify(fileName)})`;
  for (const [i, e] of (v.endpoints as unknown[]).entries()) {
    const ep = endpointProblem(e);
    if (ep) return `endpoint ${i + 1}: ${ep}`;
  }
  for (const [i, port] of (v.ports as unknown[]).entries()) {
    const pp = portProblem(port);
    if (pp) return `port ${i + 1}: ${pp}`;
  }
  return undefined;
}

/** ports/<proto>-<port>.json: the claims on one host port, all of that protocol and port. */
export function portClaimsProblem(v: unknown, proto: string, port: number): string | undefined {
  if (!Array.isArray(v)) return `expected a list of port claims, found ${kindOf(v)}`;
  for (const [i, c] of v.entries()) {
    const p = portProblem(c) ?? (isObj(c) ? str(c, 'sandboxId', HEX64) : undefined);
    if (p) return `claim ${i + 1}: ${p}`;
    const { proto: cp, hostPort } = c as { proto: string; hostPort: number };
    if (cp !== proto || hostPort !== port) return `claim ${i + 1}: is for ${cp} port ${hostPort}, not ${proto} port ${port}`;
  }
  return undefined;
}

/** creating/<name>: the process creating a sandbox, and its start time (/proc/PID/stat field 22). */
export function creatorProblem(v: unknown): string | undefined {
  if (!isObj(v)) return `expected {pid, start}, found ${kindOf(v)}`;
  if (!Number.isInteger(v.pid) || (v.pid as number) < 1) return 'pid is not a process id';
  return str(v, 'start', /^\d+$/);
}

/**
 * The networks that can still be read from a damaged networks.json: each
 * complete, well-shaped object of the top-level list (a file cut short keeps
 * the ones before the cut). Pure.
 */
export function salvageNetworks<N>(text: string): N[] {
  const out: N[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      depth++;
      if (c === '{' && depth === 2) start = i;
    } else if (c === '}' || c === ']') {
      if (c === '}' && depth === 2 && start >= 0) {
        try {
          const v = JSON.parse(text.slice(start, i + 1)) as unknown;
          if (!networkProblem(v)) out.push(v as N);
        } catch {
          // not a whole object
        }
        start = -1;
      }
      depth--;
    }
  }
  const ids = new Set<string>();
  return out.filter((n) => {
    const id = (n as { id: string }).id;
    return ids.has(id) ? false : (ids.add(id), true);
  });
}
