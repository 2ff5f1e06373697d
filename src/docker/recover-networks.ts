// Networks that networks.json lacks, recovered from what else names them (for
// `nsnet system reconcile`, reconcile-state.ts): the sandbox records (network
// ids, names, addresses, gateways), what damaged records still say, the
// address bitmaps' headers (subnets) and the kernel's bridges (br-<12 hex of
// the id>, or any bridge whose MAC is the one nsnet derives from the id;
// their address gives subnet and gateway, their global IPv6 address a
// dual-stack network's IPv6 subnet and gateway). What cannot be recovered (an
// --internal flag, labels) is said, not guessed.
import { addrList } from '../kernel/addr.js';
import { linkList } from '../kernel/link.js';
import { ipv4Network, parsePrefix } from '../net/ip.js';
import { bridgeMac } from '../net/mac.js';
import { network6 } from '../net/ip6.js';
import { formatIpv4Block, parseIpv4Block } from '../net/subnet-pool.js';
import { ipText } from '../state/bitmap.js';
import type { DamagedRecord } from '../state/sandbox-records.js';
import type { Context } from './context.js';
import { newId } from './names.js';
import { DEFAULT_BRIDGE } from './network.js';
import { salvageRecord } from './salvage.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

/** What the traces say of one network, and which traces said it. */
interface Evidence {
  subnet?: string;
  gateway?: string;
  name?: string;
  defaultBridge?: boolean;
  bridge?: string;
  mtu?: number;
  /** An endpoint with no host end: a macvlan network's. */
  macvlan?: boolean;
  /** Dual stack: an endpoint had an IPv6 address; the bridge's global IPv6 address gives these two. */
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  from: Set<string>;
}

/** A name a record gives its network: the --network it was created with, unless that was an id or the default. */
function nameHint(networkMode: string | undefined, id: string): string | undefined {
  if (!networkMode || networkMode === 'bridge' || networkMode === 'default' || id.startsWith(networkMode)) return undefined;
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(networkMode) ? networkMode : undefined;
}

/** Networks the records, bitmaps and kernel bridges show, that `known` lacks. */
export async function recoverNetworks(ctx: Context, s: State, known: NetworkRecord[], records: SandboxRecord[], damaged: DamagedRecord[],
  o: { adoptBridges: boolean }): Promise<{ added: NetworkRecord[]; problems: string[] }> {
  const strays: string[] = [];
  const ids = new Set(known.map((n) => n.id));
  const evidence = new Map<string, Evidence>();
  const note = (id: string, from: string, e: Omit<Evidence, 'from'>) => {
    if (ids.has(id)) return;
    const cur = evidence.get(id) ?? { from: new Set<string>() };
    cur.from.add(from);
    for (const [k, v] of Object.entries(e)) if (v !== undefined && (cur as unknown as Record<string, unknown>)[k] === undefined) (cur as unknown as Record<string, unknown>)[k] = v;
    evidence.set(id, cur);
  };
  const fromEndpoint = (who: string, networkMode: string | undefined, first: boolean,
    e: { networkId: string; ip?: string; prefixlen?: number; gateway?: string; hostVeth?: string; ip6?: string }) => {
    const subnet = e.ip && e.prefixlen !== undefined ? `${ipv4Network(parsePrefix(`${e.ip}/${e.prefixlen}`))}/${e.prefixlen}` : undefined;
    note(e.networkId, who, {
      ...(subnet && { subnet }), ...(e.gateway && { gateway: e.gateway }),
      ...(first && { name: nameHint(networkMode, e.networkId) }),
      ...(first && (networkMode === 'bridge' || networkMode === 'default') && { defaultBridge: true }),
      ...(e.hostVeth === '' && { macvlan: true }),
      ...(e.ip6 && { ipv6: true }),
    });
  };
  // An overlay endpoint's network is in the cluster store, never in networks.json: nothing to recover.
  const local = (e: object) => !('overlay' in e && e.overlay);
  for (const r of records) r.endpoints.forEach((e, i) => local(e) && fromEndpoint(`sandbox ${r.name}`, r.networkMode, i === 0, e));
  for (const d of damaged) {
    if (!d.text) continue;
    const sal = salvageRecord(d.text);
    sal.endpoints.forEach((e, i) => local(e) && fromEndpoint(`the damaged record of ${d.name}`, sal.networkMode, i === 0, e));
  }
  for (const id of s.addresses.ids()) {
    const h = s.addresses.header(id);
    if (h) note(id, 'its address bitmap', { subnet: formatIpv4Block({ address: h.base, network: h.base, prefixlen: 32 - Math.log2(h.size), size: h.size }) });
  }
  // The kernel's bridges: nsnet gives each the MAC 02:<first 10 hex of the network id>.
  const links = await linkList(ctx.host);
  const addrs = await addrList(ctx.host, { family: 4 });
  const addrs6 = (await addrList(ctx.host, { family: 6 })).filter((a) => !/^fe[89ab]/i.test(a.address));
  for (const l of links) {
    if (l.kind !== 'bridge') continue;
    const m = /^br-([0-9a-f]{12})$/.exec(l.name);
    const macHex = /^02(:[0-9a-f]{2}){5}$/.test(l.address) ? l.address.slice(3).replace(/:/g, '') : undefined;
    if (!macHex || (!m && l.name !== DEFAULT_BRIDGE) || (m && !m[1]!.startsWith(macHex))) continue; // not nsnet's
    if (known.some((n) => n.bridge === l.name)) continue;
    const a = addrs.find((x) => x.index === l.index);
    const a6 = addrs6.find((x) => x.index === l.index);
    const kernel = {
      bridge: l.name, ...(l.mtu !== 1500 && { mtu: l.mtu }),
      ...(a && { subnet: `${ipv4Network(parsePrefix(`${a.address}/${a.prefixlen}`))}/${a.prefixlen}`, gateway: a.address }),
      ...(l.name === DEFAULT_BRIDGE && { defaultBridge: true }),
      ...(a6 && { ipv6: true, subnet6: network6(a6.address, a6.prefixlen), gateway6: a6.address }),
    };
    const match = [...evidence.keys()].find((id) => bridgeMac(id) === l.address && (!m || id.startsWith(m[1]!)));
    if (match) note(match, `bridge ${l.name}`, kernel);
    // A bridge nothing else names: adopted only when networks.json is lost (it is the only trace of its network).
    else if (o.adoptBridges) note((m ? m[1]! : macHex) + newId().slice(m ? 12 : 10), `bridge ${l.name}`, kernel);
    else strays.push(`bridge ${l.name} looks like nsnet's (its MAC is derived from a network id) but no network, record or bitmap names it; "ip link del ${l.name}" removes it`);
  }
  const added: NetworkRecord[] = [];
  const problems: string[] = [...strays];
  const names = new Set(known.map((n) => n.name));
  for (const [id, e] of evidence) {
    // Known only from an empty bitmap: no bridge, no sandbox (the unused default bridge, typically); nothing to keep.
    if (e.from.size === 1 && e.from.has('its address bitmap') && !s.addresses.header(id)?.count) continue;
    if (e.macvlan) {
      // Not guessed: its parent and mode are in no record (a bridge network in its place would be wrong).
      problems.push(`network ${e.name ?? id.slice(0, 12)} (named by ${[...e.from].join(', ')}) was a macvlan network: its parent is not recorded elsewhere; remove what uses it (nsnet rm -f) and recreate it (nsnet network create -d macvlan -o parent=IFACE ...)`);
      continue;
    }
    if (!e.subnet) {
      problems.push(`network ${id.slice(0, 12)} (named by ${[...e.from].join(', ')}): its subnet could not be recovered; remove what uses it (nsnet rm -f) or recreate it`);
      continue;
    }
    if (e.ipv6 && !e.subnet6) {
      // Sandboxes hold IPv6 addresses but the bridge (gone) said nothing of the subnet: not guessed.
      problems.push(`network ${e.name ?? id.slice(0, 12)} (named by ${[...e.from].join(', ')}) was dual stack, and its IPv6 subnet could not be recovered (its bridge is gone); remove what uses it (nsnet rm -f) and recreate it with --ipv6`);
      continue;
    }
    const block = parseIpv4Block(e.subnet);
    const subnet = formatIpv4Block(block);
    const dflt = !!e.defaultBridge && !names.has('bridge');
    let name = dflt ? 'bridge' : e.name ?? `recovered-${id.slice(0, 12)}`;
    if (names.has(name)) name = `recovered-${id.slice(0, 12)}`;
    names.add(name);
    const n: NetworkRecord = {
      id, name, driver: 'bridge', created: new Date().toISOString(), builtin: dflt, internal: false,
      options: dflt ? { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': DEFAULT_BRIDGE } : {},
      labels: {}, bridge: e.bridge ?? (dflt ? DEFAULT_BRIDGE : `br-${id.slice(0, 12)}`), subnet,
      gateway: e.gateway ?? ipText(block.network + 1), icc: true, masquerade: true,
      ...(e.mtu && { mtu: e.mtu }), ...(dflt && { defaultBridge: true }),
      ...(e.subnet6 && { enableIPv6: true, subnet6: e.subnet6, gateway6: e.gateway6! }),
    };
    added.push(n);
    if (!dflt) problems.push(`network ${name} was recovered with default options: whether it was --internal, its icc, masquerade and labels could not be recovered (nsnet network inspect ${name})`);
    (n as NetworkRecord & { recoveredFrom?: string }).recoveredFrom = [...e.from].join(', ');
  }
  return { added, problems };
}

/** One line for the report: the recovered network and what it was recovered from (taken off the record). */
export function describeRecovered(n: NetworkRecord & { recoveredFrom?: string }): string {
  const from = n.recoveredFrom;
  delete n.recoveredFrom;
  return `network ${n.name} (id ${n.id.slice(0, 12)}, ${n.subnet}, gateway ${n.gateway}${n.subnet6 ? `, ${n.subnet6}, gateway ${n.gateway6}` : ''}, bridge ${n.bridge}) from ${from}`;
}
