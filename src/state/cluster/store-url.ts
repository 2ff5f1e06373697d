// The cluster store's address as the user gives it: `etcd://HOST:PORT[,HOST[:PORT]...]`
// (Docker's daemon took `--cluster-store etcd://...` the same way). Each
// HOST:PORT is one etcd member's client URL; the port defaults to 2379.
//
// Pure: parsing and formatting only.
import { isIPv6 } from '../../net/ip.js';

export interface StoreMember {
  host: string;
  port: number;
}

export interface StoreUrl {
  /** As the user wrote it, normalised (`etcd://h1:2379,h2:2379`): errors name the store by it. */
  text: string;
  members: StoreMember[];
}

export const ETCD_CLIENT_PORT = 2379;

/** Parses `etcd://H1:2379,H2:2379`; throws a message naming the bad part. */
export function parseStoreUrl(text: string): StoreUrl {
  const m = /^([a-z0-9+]+):\/\/(.*)$/i.exec(text.trim());
  if (!m) throw new Error(`invalid cluster store "${text}": expected etcd://HOST:2379[,HOST:2379...]`);
  if (m[1]!.toLowerCase() !== 'etcd') throw new Error(`invalid cluster store "${text}": unsupported backend "${m[1]}" (only etcd:// is)`);
  const rest = m[2]!.replace(/\/+$/, '');
  if (!rest) throw new Error(`invalid cluster store "${text}": no members (etcd://HOST:2379[,HOST:2379...])`);
  const members = rest.split(',').map((part) => parseMember(text, part.trim()));
  return { text: `etcd://${members.map(formatMember).join(',')}`, members };
}

function parseMember(whole: string, part: string): StoreMember {
  // [v6]:port, v4:port, name:port, or any of them without a port.
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+))(?::(\d+))?$/.exec(part);
  if (!m || (m[1] !== undefined && !isIPv6(m[1]))) throw new Error(`invalid cluster store "${whole}": bad member "${part}" (HOST:PORT)`);
  const port = m[3] === undefined ? ETCD_CLIENT_PORT : Number(m[3]);
  if (!(port >= 1 && port <= 65535)) throw new Error(`invalid cluster store "${whole}": bad port in "${part}"`);
  return { host: m[1] ?? m[2]!, port };
}

export function formatMember(m: StoreMember): string {
  return `${isIPv6(m.host) ? `[${m.host}]` : m.host}:${m.port}`;
}
