// Results on the wire, in each cniVersion nsnet speaks (SPEC.md section 5 and
// the reference types, containernetworking/cni pkg/types/040 and pkg/types/100):
//
//   0.3.0 0.3.1 0.4.0   ips[] carry "version": "4" | "6"; interfaces {name, mac, sandbox}; routes {dst, gw}
//   1.0.0               no "version"; otherwise as 0.4.0
//   1.1.0               interfaces also {mtu, socketPath, pciID}; routes also {mtu, advmss, priority, table, scope}
//
// Inside, nsnet holds one shape (types.ts Result, the 1.1.0 one): renderResult
// writes it in the version a configuration asks for, parseResult reads a
// result of any of those versions (a prevResult, a delegated IPAM plugin's
// answer) back. Keys of 1.1.0 objects nsnet does not know (a later plugin's)
// are kept through a 1.1.0 round trip. Pure.
import { isIP } from '../net/ip.js';
import { CNI_ERR, CNI_VERSIONS, CniError, type CniVersion, type Dns, type Interface, type IpConfig, type Result, type Route } from './types.js';

const is11 = (v: string) => v === '1.1.0';
const isLegacy = (v: string) => v.startsWith('0.');

const IFACE_10 = ['name', 'mac', 'sandbox'];
const IFACE_11 = ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'];
const ROUTE_10 = ['dst', 'gw'];
const ROUTE_11 = ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'];

/** A Result as the JSON object of `version` (key order as the reference plugins print them). */
export function renderResult(r: Result, version: CniVersion): Record<string, unknown> {
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces?.length) out.interfaces = r.interfaces.map((i) => pick(i, is11(version) ? IFACE_11 : IFACE_10, is11(version)));
  if (r.ips?.length) out.ips = r.ips.map((ip) => renderIp(ip, version));
  if (r.routes?.length) out.routes = r.routes.map((rt) => pick(rt, is11(version) ? ROUTE_11 : ROUTE_10, is11(version)));
  if (r.dns) out.dns = renderDns(r.dns);
  return out;
}

/** renderResult as the text a plugin prints. */
export function formatResult(r: Result, version: CniVersion): string {
  return JSON.stringify(renderResult(r, version));
}

function renderIp(ip: IpConfig, version: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (isLegacy(version)) o.version = String(isIP(ip.address.split('/')[0] ?? '') === 6 ? 6 : 4);
  if (ip.interface !== undefined) o.interface = ip.interface;
  o.address = ip.address;
  if (ip.gateway) o.gateway = ip.gateway;
  return o;
}

function renderDns(d: Dns): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (d.nameservers?.length) o.nameservers = d.nameservers;
  if (d.domain) o.domain = d.domain;
  if (d.search?.length) o.search = d.search;
  if (d.options?.length) o.options = d.options;
  return o;
}

// Go's omitempty drops these at 0 (table and scope are pointers there: 0 is a value).
const ZERO_IS_UNSET = new Set(['mtu', 'advmss', 'priority']);

/** The listed keys that are set, in that order; with `rest`, then any other key the object carries. */
function pick(o: object, keys: readonly string[], rest: boolean): Record<string, unknown> {
  const src = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (src[k] !== undefined && src[k] !== '' && !(src[k] === 0 && ZERO_IS_UNSET.has(k))) out[k] = src[k];
  if (rest) for (const [k, v] of Object.entries(src)) if (!(k in out) && !keys.includes(k) && v !== undefined) out[k] = v;
  return out;
}

// ---- parsing ---------------------------------------------------------------

const bad = (what: string, v: unknown) =>
  new CniError(CNI_ERR.decode, `error decoding a CNI result: ${what}`, JSON.stringify(v) ?? String(v));

/**
 * A result (an object already out of JSON) of any supported version, in the
 * internal shape. `fallbackVersion` is assumed when it has no cniVersion (a
 * delegated IPAM plugin's abbreviated result may omit it). Throws CniError:
 * 6 when the shape is wrong, 1 when its version is one nsnet does not speak.
 */
export function parseResult(raw: unknown, fallbackVersion?: string): Result {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not an object', raw);
  const o = raw as Record<string, unknown>;
  const version = o.cniVersion === undefined || o.cniVersion === '' ? fallbackVersion : o.cniVersion;
  if (typeof version !== 'string' || !(CNI_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(CNI_ERR.incompatibleVersion, 'incompatible CNI result version',
      `the result is "${String(version)}", nsnet reads [${CNI_VERSIONS.join(' ')}]${o.ip4 || o.ip6 ? ' (0.1.0/0.2.0 results are not read)' : ''}`);
  }
  const r: Result = { cniVersion: version };
  if (o.interfaces !== undefined && o.interfaces !== null) r.interfaces = list(o.interfaces, 'interfaces').map(parseInterface);
  if (o.ips !== undefined && o.ips !== null) r.ips = list(o.ips, 'ips').map((ip) => parseIp(ip, r.interfaces?.length));
  if (o.routes !== undefined && o.routes !== null) r.routes = list(o.routes, 'routes').map(parseRoute);
  if (o.dns !== undefined && o.dns !== null) r.dns = parseDns(o.dns);
  return r;
}

/** parseResult of a plugin's stdout. */
export function parseResultText(text: string, fallbackVersion?: string): Result {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CNI_ERR.decode, 'error decoding a CNI result: not JSON', `${(e as Error).message}: ${text.slice(0, 200)}`);
  }
  return parseResult(raw, fallbackVersion);
}

function list(v: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(v) || v.some((e) => e === null || typeof e !== 'object' || Array.isArray(e))) throw bad(`"${what}" is not a list of objects`, v);
  return v as Record<string, unknown>[];
}

function str(o: Record<string, unknown>, k: string, required = false): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw bad(`missing "${k}"`, o);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`"${k}" is not a string`, o);
  return v;
}

function uint(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`"${k}" is not a non-negative integer`, o);
  return v;
}

function cidr(o: Record<string, unknown>, k: string): string {
  const v = str(o, k, true)!;
  const [addr, len, more] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family || more !== undefined || !/^\d{1,3}$/.test(len ?? '') || Number(len) > (family === 4 ? 32 : 128)) throw bad(`"${k}" is not an address in CIDR notation`, o);
  return v;
}

function ip(o: Record<string, unknown>, k: string): string | undefined {
  const v = str(o, k);
  if (v === undefined || v === '') return undefined;
  if (!isIP(v)) throw bad(`"${k}" is not an IP address`, o);
  return v;
}

/** Copies the keys parse() did not read (1.1.0 keeps them; renderResult drops them for older versions). */
function withRest<T extends object>(known: T, o: Record<string, unknown>, keys: readonly string[]): T {
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k) && v !== undefined) (known as Record<string, unknown>)[k] = v;
  return known;
}

function parseInterface(o: Record<string, unknown>): Interface {
  const i: Interface = { name: str(o, 'name', true)! };
  const mac = str(o, 'mac');
  if (mac) i.mac = mac;
  const mtu = uint(o, 'mtu');
  if (mtu !== undefined) i.mtu = mtu;
  const sandbox = str(o, 'sandbox');
  if (sandbox) i.sandbox = sandbox;
  return withRest(i, o, ['name', 'mac', 'mtu', 'sandbox']);
}

function parseIp(o: Record<string, unknown>, interfaces: number | undefined): IpConfig {
  const c: IpConfig = { address: cidr(o, 'address') };
  const gw = ip(o, 'gateway');
  if (gw) c.gateway = gw;
  const idx = uint(o, 'interface');
  if (idx !== undefined) {
    if (interfaces !== undefined && idx >= interfaces) throw bad(`ips[].interface ${idx} is not an index into interfaces`, o);
    c.interface = idx;
  }
  // "version" (0.x) is derived from the address: dropped.
  return c;
}

function parseRoute(o: Record<string, unknown>): Route {
  const r: Route = { dst: cidr(o, 'dst') };
  const gw = ip(o, 'gw');
  if (gw) r.gw = gw;
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const v = uint(o, k);
    if (v !== undefined) r[k] = v;
  }
  return withRest(r, o, ROUTE_11);
}

function parseDns(v: unknown): Dns {
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('"dns" is not an object', v);
  const o = v as Record<string, unknown>;
  const d: Dns = {};
  const strings = (k: string) => {
    const a = o[k];
    if (a === undefined || a === null) return undefined;
    if (!Array.isArray(a) || a.some((s) => typeof s !== 'string')) throw bad(`"dns.${k}" is not a list of strings`, o);
    return a as string[];
  };
  const ns = strings('nameservers');
  if (ns) d.nameservers = ns;
  const domain = str(o, 'domain');
  if (domain) d.domain = domain;
  const search = strings('search');
  if (search) d.search = search;
  const options = strings('options');
  if (options) d.options = options;
  return d;
}

// ---- VERSION ---------------------------------------------------------------

/** VERSION's answer: the cniVersion it was asked in (SPEC.md "VERSION Success") and every version nsnet speaks. */
export function versionAnswer(asked: string | undefined): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: asked || '1.1.0', supportedVersions: [...CNI_VERSIONS] };
}
