// Sandboxes: `nsnet create|rm|ps|inspect` and `network connect|disconnect`.
// A sandbox is what Docker calls a container's network side: a named network
// namespace (/run/netns/NAME, so `ip netns exec NAME` works), its endpoints
// (a veth per network: eth0 inside, veth<7 hex> on the bridge), its published
// ports, and its resolv.conf/hosts/hostname under /etc/netns/NAME.
//
// Modes (as `docker run --network`):
//   bridge or NETWORK   new netns, veth into the network's bridge, address, default route, lo up
//   host                no namespace of its own: the host's interfaces, routes and ports
//   none                new netns with only lo, up
//   container:NAME      the other sandbox's namespace: same interfaces, address, ports
//
// Creating is three phases: (1) under the state lock, validate and reserve
// (name, addresses, ports) with status "creating"; (2) without the lock, make
// the kernel objects, undoing them all if a step fails; (3) under the lock,
// mark it "created". A crash between phases leaves a "creating" record that
// `nsnet rm -f` (or a later teardown) removes, kernel objects and all.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addrAdd } from '../kernel/addr.js';
import { isNotFound } from '../kernel/errors.js';
import { linkDel, linkGet, linkSet } from '../kernel/link.js';
import { NETNS_RUN_DIR, netnsAdd, netnsDel, netnsOpen, type Netns } from '../kernel/netns.js';
import { routeAdd } from '../kernel/route.js';
import { socketBind } from '../kernel/socket.js';
import { vethAdd } from '../kernel/veth.js';
import { allocate, checkStatic } from '../net/ipam.js';
import { parsePrefix } from '../net/ip.js';
import { macFromIPv4 } from '../net/mac.js';
import { ipv4ToInt } from '../net/ip.js';
import { parseIpv4Block } from '../net/subnet-pool.js';
import { iccElements, portElements, type PortRule } from '../nft/table.js';
import { defaultHostname, sandboxHosts } from '../dns/hosts.js';
import { parseResolvConf, sandboxResolvConf } from '../dns/resolv-conf.js';
import { closeSync } from 'node:fs';
import type { Context } from './context.js';
import { asInvalid, conflict, invalidArg, notFound, NsnetError } from './errors.js';
import { removeSandboxFiles, writeSandboxFiles } from './files.js';
import { addElements, deleteElements } from './firewall.js';
import { hostResolvConf, localPortRange } from './host.js';
import { checkName, newId, shortId, vethName } from './names.js';
import { ensureBridge, findNetwork, usingState } from './networks.js';
import { runSteps, teardown, type Step } from './plan.js';
import { parsePublish, portsClash, type PortSpec } from './ports.js';
import type { EndpointRecord, NetworkRecord, PortBinding, SandboxRecord, State } from './types.js';

export interface SandboxCreateRequest {
  name?: string;
  /** "bridge" (default), a network name or id, "host", "none" or "container:NAME". */
  network?: string;
  ip?: string;
  mac?: string;
  hostname?: string;
  aliases?: string[];
  links?: string[];
  publish?: string[];
  /** -P: every --expose port gets an ephemeral host port. */
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
  /** "container:NAME" or "host" */
  pid?: string;
  command?: string[];
}

/** A sandbox by name, full id or unique id prefix. */
export async function findSandbox(s: State, ref: string): Promise<SandboxRecord> {
  const r = ref.replace(/^\//, '');
  const byName = await s.sandboxes.get(r);
  if (byName) return byName;
  const ids = await s.sandboxes.idsWithPrefix(r);
  if (ids.length === 1) {
    const byId = await s.sandboxes.byId(ids[0]!);
    if (byId) return byId;
  }
  if (ids.length > 1) throw invalidArg(`multiple sandboxes match "${ref}": be more specific`);
  throw notFound(`No such sandbox: ${ref}`);
}

/** The sandbox whose network namespace `sb` uses (itself, or its container: target). */
export async function netnsOwner(s: State, sb: SandboxRecord): Promise<SandboxRecord> {
  let cur = sb;
  for (let i = 0; cur.containerOf && i < 10; i++) {
    const next = await s.sandboxes.byId(cur.containerOf);
    if (!next) throw notFound(`sandbox ${sb.name} joins a sandbox that no longer exists`);
    cur = next;
  }
  return cur;
}

/** The address bitmap of a network, as ipam.ts wants it, and its bounds. */
async function addressesOf(s: State, net: NetworkRecord) {
  const block = parseIpv4Block(net.subnet!);
  return { block, used: await s.addresses.usedTest(net.id, block.network, block.size) };
}

/** Gives back what a sandbox holds in the state: its addresses, its host ports, its place in a container: owner. */
export async function releaseClaims(s: State, sb: SandboxRecord): Promise<void> {
  for (const e of sb.endpoints) {
    const net = s.networks.find((n) => n.id === e.networkId);
    if (!net) continue;
    const block = parseIpv4Block(net.subnet!);
    await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(e.ip), false);
  }
  await s.ports.release(sb.id, sb.ports);
  if (sb.containerOf) {
    const owner = await s.sandboxes.byId(sb.containerOf);
    if (owner) s.sandboxes.put({ ...owner, joinedBy: (owner.joinedBy ?? []).filter((id) => id !== sb.id) });
  }
}

/** Plans one endpoint (address, MAC, names) for `sb` on `net`, and claims its address. */
async function planEndpoint(s: State, sb: SandboxRecord, net: NetworkRecord, o: { ip?: string; mac?: string; aliases?: string[] }): Promise<EndpointRecord> {
  const pool = { subnet: net.subnet!, gateway: net.gateway!, ...(net.ipRange && { ipRange: net.ipRange }) };
  const { block, used } = await addressesOf(s, net);
  let ip: string;
  if (o.ip) {
    if (net.defaultBridge) throw invalidArg('user specified IP address is supported on user defined networks only');
    asInvalid(() => checkStatic(pool, o.ip!, used));
    ip = o.ip;
  } else {
    ip = asInvalid(() => allocate(pool, used));
  }
  await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(ip), true);
  const taken = new Set(sb.endpoints.map((e) => e.ifname));
  let i = 0;
  while (taken.has(`eth${i}`)) i++;
  return {
    networkId: net.id,
    endpointId: newId(),
    ifname: `eth${i}`,
    // 7 random hex digits: a clash is as unlikely as Docker's, and the kernel would refuse it (EEXIST).
    hostVeth: vethName(),
    ip,
    prefixlen: parsePrefix(net.subnet!).prefixlen,
    mac: o.mac ?? macFromIPv4(ip),
    gateway: net.gateway!,
    aliases: o.aliases ?? [],
    staticIp: !!o.ip,
  };
}

function sameList(a: string[] | undefined): boolean {
  return !!a && a.length > 0;
}

/** Resolves -p / -P into bindings, refusing host ports already published. */
async function planPorts(ctx: Context, s: State, req: SandboxCreateRequest, ip: string, sandboxId: string): Promise<PortBinding[]> {
  const specs: PortSpec[] = [];
  for (const p of req.publish ?? []) specs.push(...asInvalid(() => parsePublish(p)));
  if (req.publishAll) for (const e of req.expose ?? []) specs.push(...asInvalid(() => parsePublish(e.includes(':') ? e : `${e.split('/')[0]}${e.includes('/') ? `/${e.split('/')[1]}` : ''}`)).map((x) => ({ ...x, hostPort: 0 })));
  const out: PortBinding[] = [];
  const taken = async (p: PortSpec) =>
    [...(await s.ports.get(p.proto, p.hostPort)).map((c) => ({ ...c, containerPort: 0 })), ...out].some((o) => portsClash(o, p));
  let range: [number, number] | undefined;
  for (const spec of specs) {
    let p = { ...spec };
    if (p.hostPort === 0) {
      range ??= await localPortRange(ctx.host);
      let port = range[0];
      while (port <= range[1] && (await taken({ ...p, hostPort: port }))) port++;
      if (port > range[1]) throw conflict('no free host port left in net.ipv4.ip_local_port_range');
      p = { ...p, hostPort: port };
    }
    if (await taken(p)) throw conflict(`Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated`);
    // A host process listening there would never see its traffic again: refuse, as Docker does.
    const probe = await socketBind(ctx.host, { type: p.proto, address: p.hostIp, port: p.hostPort }).catch((e: unknown) => e);
    if (probe instanceof Error) {
      if ((probe as NodeJS.ErrnoException).code === 'EADDRINUSE') throw conflict(`Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated`);
      throw probe;
    }
    closeSync((probe as { fd: number }).fd);
    out.push({ ...p, ip });
  }
  for (const p of out) await s.ports.add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, sandboxId });
  return out;
}

const portRules = (ports: PortBinding[]): PortRule[] =>
  ports.map((p) => ({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, ip: p.ip, port: p.containerPort }));

/** The kernel steps that attach an existing namespace to a network through one endpoint. */
function endpointSteps(ctx: Context, sb: SandboxRecord, net: NetworkRecord, e: EndpointRecord, ns: () => Netns,
  o: { defaultRoute: boolean; ownVeth: boolean }): Step[] {
  const forWhom = `sandbox ${sb.name}`;
  let peer = { index: 0, name: e.ifname };
  return [
    {
      title: `making sure network ${net.name} (bridge ${net.bridge}) is up`,
      do: () => ensureBridge(ctx, net),
    },
    {
      title: `creating veth ${e.hostVeth} (peer ${e.ifname} in netns ${sb.netns})`,
      equivalent: [`ip link add ${e.hostVeth}${net.mtu ? ` mtu ${net.mtu}` : ''} master ${net.bridge} up type veth peer name ${e.ifname} netns ${sb.netns} address ${e.mac}`],
      do: async () => {
        const bridge = await linkGet(ctx.host, net.bridge!);
        const v = await vethAdd(ctx.host, {
          name: e.hostVeth, master: bridge, up: true, ...(net.mtu && { mtu: net.mtu }),
          peer: { name: e.ifname, netns: ns(), address: e.mac, ...(net.mtu && { mtu: net.mtu }) }, for: forWhom,
        });
        peer = { index: v.peerIndex, name: e.ifname };
      },
      // A new sandbox's veth goes with its namespace; on a live one (connect) it must be deleted.
      ...(o.ownVeth && { undo: () => linkDel(ns(), peer, { for: forWhom }) }),
    },
    {
      title: `adding ${e.ip}/${e.prefixlen} to ${e.ifname} and bringing it up`,
      equivalent: [`ip -n ${sb.netns} addr add ${e.ip}/${e.prefixlen} dev ${e.ifname}`, `ip -n ${sb.netns} link set ${e.ifname} up`],
      do: async () => {
        await Promise.all([addrAdd(ns(), peer, `${e.ip}/${e.prefixlen}`, { for: forWhom }), linkSet(ns(), peer, { up: true, for: forWhom })]);
      },
    },
    ...(o.defaultRoute ? [{
      title: `adding default route via ${e.gateway}`,
      equivalent: [`ip -n ${sb.netns} route add default via ${e.gateway}`],
      do: () => routeAdd(ns(), { dst: 'default', via: e.gateway, for: forWhom }),
    }] : []),
    ...(net.icc === false ? [{
      title: `isolating ${e.hostVeth} from the other ports of ${net.bridge} (enable_icc=false)`,
      equivalent: [`nft ${iccElements('add', e.hostVeth).trim()}`],
      do: () => addElements(ctx, iccElements('add', e.hostVeth), `isolating ${e.hostVeth} (enable_icc=false) for ${forWhom}`),
      undo: () => deleteElements(ctx, iccElements('delete', e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`),
    }] : []),
  ];
}

type Files = Parameters<typeof writeSandboxFiles>[2];

/** Renders the sandbox's resolv.conf, hosts and hostname (under the lock: links name other sandboxes). */
async function renderFiles(s: State, sb: SandboxRecord): Promise<Files> {
  const firstNet = sb.endpoints[0] && s.networks.find((n) => n.id === sb.endpoints[0]!.networkId);
  const mode = sb.mode === 'none' ? 'none' : firstNet?.defaultBridge ? 'default-bridge' : 'user-network';
  const host = parseResolvConf(await hostResolvConf());
  const links = [];
  for (const l of sb.links) {
    const target = await s.sandboxes.get(l.name);
    if (target?.endpoints[0]) links.push({ name: l.name, alias: l.alias, ip: target.endpoints[0].ip, hostname: target.hostname });
  }
  return {
    'resolv.conf': sandboxResolvConf({ host, mode, dns: sb.dns, dnsSearch: sb.dnsSearch, dnsOptions: sb.dnsOptions }),
    hosts: sandboxHosts({ hostname: sb.hostname, addresses: sb.endpoints.map((e) => e.ip), links, extra: sb.extraHosts, ipv6: false }),
    hostname: `${sb.hostname}\n`,
  };
}

/** Validates a create request against the state and reserves what it needs. */
async function planSandbox(ctx: Context, s: State, req: SandboxCreateRequest): Promise<SandboxRecord> {
  const id = newId();
  const name = req.name ?? `sb_${shortId(id)}`;
  asInvalid(() => checkName('sandbox', name));
  const dup = await s.sandboxes.get(name);
  if (dup) throw conflict(`Conflict. The sandbox name "/${name}" is already in use by sandbox "${dup.id}". You have to remove (or rename) that sandbox to be able to reuse that name.`);

  const networkMode = req.network ?? 'bridge';
  const sb: SandboxRecord = {
    id, name, created: new Date().toISOString(), status: 'creating', mode: 'bridge', networkMode,
    hostname: req.hostname ?? defaultHostname(id), endpoints: [], ports: [], links: [],
    dns: req.dns ?? [], dnsSearch: req.dnsSearch ?? [], dnsOptions: req.dnsOptions ?? [],
    extraHosts: (req.addHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      if (i < 1) throw invalidArg(`bad format for add-host: "${h}"`);
      return { host: h.slice(0, i), ip: h.slice(i + 1) };
    }),
    ...(req.command && { command: req.command }),
  };
  if (req.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(req.hostname)) {
    throw invalidArg(`invalid hostname "${req.hostname}"`);
  }
  if (req.pid) {
    if (req.pid.startsWith('container:')) await findSandbox(s, req.pid.slice('container:'.length));
    else if (req.pid !== 'host') throw invalidArg(`invalid PID mode "${req.pid}": use container:NAME or host`);
    sb.pidMode = req.pid;
  }

  if (networkMode.startsWith('container:')) {
    // Docker refuses what would contradict the shared namespace.
    const refuse = (what: string) => invalidArg(`conflicting options: ${what} and the network mode`);
    if (sameList(req.publish) || req.publishAll) throw invalidArg('conflicting options: port publishing and the container type network mode');
    if (req.hostname !== undefined) throw refuse('hostname');
    if (sameList(req.dns) || sameList(req.dnsSearch) || sameList(req.dnsOptions)) throw refuse('dns');
    if (sameList(req.aliases)) throw refuse('network-scoped alias');
    if (sameList(req.links)) throw refuse('links');
    if (req.mac) throw refuse('mac-address');
    if (req.ip) throw refuse('ip');
    const target = await findSandbox(s, networkMode.slice('container:'.length));
    const owner = await netnsOwner(s, target);
    if (!owner.netns) throw invalidArg(`cannot join the network namespace of ${target.name}: it has none of its own (${target.networkMode} mode)`);
    sb.mode = 'container';
    sb.containerOf = owner.id;
    sb.hostname = owner.hostname;
    s.sandboxes.put({ ...owner, joinedBy: [...(owner.joinedBy ?? []), sb.id] });
    return sb;
  }
  const netRef = networkMode === 'default' ? 'bridge' : networkMode;
  const net = findNetwork(s, netRef);
  if (net.driver === 'host') {
    sb.mode = 'host';
    sb.networkMode = 'host';
    sb.hostname = req.hostname ?? os.hostname();
    if (sameList(req.publish) || req.publishAll) ctx.warn('WARNING: Published ports are discarded when using host network mode');
    if (sameList(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    return sb;
  }
  if (existsSync(path.join(NETNS_RUN_DIR, name))) {
    throw conflict(`a network namespace named ${name} already exists (${path.join(NETNS_RUN_DIR, name)}); choose another sandbox name`);
  }
  sb.netns = name;
  if (net.driver === 'null') {
    sb.mode = 'none';
    sb.networkMode = 'none';
    if (sameList(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    return sb;
  }
  if (net.defaultBridge && sameList(req.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
  sb.networkMode = net.name;
  sb.endpoints.push(await planEndpoint(s, sb, net, { ...(req.ip && { ip: req.ip }), ...(req.mac && { mac: req.mac }), aliases: req.aliases ?? [] }));
  for (const l of req.links ?? []) {
    const [lname, alias] = l.split(':');
    const target = await findSandbox(s, lname!);
    if (net.defaultBridge && !target.endpoints.some((e) => e.networkId === net.id)) {
      throw invalidArg(`Cannot link to /${target.name}, as it does not belong to the default network`);
    }
    sb.links.push({ name: target.name, alias: alias || target.name });
  }
  if (!net.internal) sb.ports = await planPorts(ctx, s, req, sb.endpoints[0]!.ip, sb.id);
  return sb;
}

/** Creates a sandbox (no process): `nsnet create`. */
export async function sandboxCreate(ctx: Context, req: SandboxCreateRequest): Promise<SandboxRecord> {
  const { sb, networks, files } = await usingState(ctx, async (s) => {
    const sb = await planSandbox(ctx, s, req);
    s.sandboxes.put(sb);
    return {
      sb,
      networks: s.networks.filter((n) => sb.endpoints.some((e) => e.networkId === n.id)),
      files: sb.netns ? await renderFiles(s, sb) : undefined,
    };
  });
  let ns: Netns | undefined;
  try {
    await runSteps(createSteps(ctx, sb, networks, files, () => ns, (n) => { ns = n; }), ctx.observe);
  } catch (e) {
    await usingState(ctx, async (s) => {
      await releaseClaims(s, sb);
      s.sandboxes.delete(sb);
    });
    throw e;
  } finally {
    await ns?.close();
  }
  const created = await usingState(ctx, async (s) => {
    const rec = { ...(await s.sandboxes.byId(sb.id))!, status: 'created' as const };
    s.sandboxes.put(rec);
    return rec;
  });
  if (usesEmbeddedDns(networks, sb)) await ctx.dns?.sync(true, [sb.id]);
  return created;
}

/** Sandboxes on user-defined networks get the embedded DNS server (never the default bridge). */
export function usesEmbeddedDns(networks: NetworkRecord[], sb: SandboxRecord): boolean {
  return sb.endpoints.some((e) => networks.some((n) => n.id === e.networkId && n.driver === 'bridge' && !n.defaultBridge));
}

/** The steps that make a planned sandbox's kernel objects and files, each with its undo. */
function createSteps(ctx: Context, sb: SandboxRecord, networks: NetworkRecord[], files: Files | undefined,
  getNs: () => Netns | undefined, setNs: (n: Netns) => void): Step[] {
  const steps: Step[] = [];
  const ns = () => getNs()!;
  if (sb.netns) {
    steps.push({
      title: `creating network namespace ${sb.netns}`,
      equivalent: [`ip netns add ${sb.netns}`, `ip -n ${sb.netns} link set lo up`],
      do: async () => {
        setNs(await netnsAdd(sb.netns!, { for: `sandbox ${sb.name}` }));
        await linkSet(ns(), 1, { up: true, for: `sandbox ${sb.name}` }); // lo is ifindex 1 in a new namespace
      },
      undo: async () => {
        if (getNs()) await netnsDel(ns());
      },
    });
    for (const [i, e] of sb.endpoints.entries()) {
      const net = networks.find((n) => n.id === e.networkId)!;
      steps.push(...endpointSteps(ctx, sb, net, e, ns, { defaultRoute: i === 0 && !net.internal, ownVeth: false }));
    }
    if (sb.ports.length) {
      steps.push({
        title: `publishing ${sb.ports.length} port(s)`,
        equivalent: portElements('add', portRules(sb.ports)).trim().split('\n').map((l) => `nft ${l}`),
        do: () => addElements(ctx, portElements('add', portRules(sb.ports)), `publishing ports of sandbox ${sb.name}`),
        undo: () => deleteElements(ctx, portElements('delete', portRules(sb.ports)), `unpublishing ports of sandbox ${sb.name}`),
      });
    }
    steps.push({
      title: `writing /etc/netns/${sb.netns}/{resolv.conf,hosts,hostname}`,
      do: () => writeSandboxFiles(ctx.etcNetns, sb.netns!, files!),
      undo: () => removeSandboxFiles(ctx.etcNetns, sb.netns!),
    });
  }
  return steps;
}

/** Tears down a sandbox's kernel objects and files; every step runs even if one fails. */
export async function sandboxTeardown(ctx: Context, sb: SandboxRecord, networks: NetworkRecord[]): Promise<void> {
  const iccOff = sb.endpoints.filter((e) => networks.find((n) => n.id === e.networkId)?.icc === false);
  await teardown([
    ...(sb.ports.length ? [{ title: 'unpublishing ports', run: () => deleteElements(ctx, portElements('delete', portRules(sb.ports)), `unpublishing ports of sandbox ${sb.name}`) }] : []),
    ...iccOff.map((e) => ({ title: `icc ${e.hostVeth}`, run: () => deleteElements(ctx, iccElements('delete', e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`) })),
    // Deleting the namespace takes the veths with it, asynchronously and far
    // faster than deleting each link (docs/netns.md).
    ...(sb.netns ? [{ title: 'deleting the namespace', run: () => netnsDel(sb.netns!, { for: `sandbox ${sb.name}` }) }] : []),
    ...(sb.netns ? [{ title: 'removing files', run: () => removeSandboxFiles(ctx.etcNetns, sb.netns!) }] : []),
  ]);
}

export { planEndpoint, endpointSteps, renderFiles };

/** Connects a live sandbox to one more network: `nsnet network connect`. */
export async function sandboxConnect(ctx: Context, netRef: string, sbRef: string, o: { ip?: string; aliases?: string[] } = {}): Promise<void> {
  const { sb, net, e, files, hasRoute } = await usingState(ctx, async (s) => {
    const net = findNetwork(s, netRef);
    const sb = await findSandbox(s, sbRef);
    if (sb.mode === 'container') throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    if (sb.mode === 'host' || net.driver === 'host') throw conflict('container cannot be disconnected from host network or connected to host network');
    if (sb.mode === 'none' || net.driver === 'null') throw conflict('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (sb.status === 'creating') throw conflict(`sandbox ${sb.name} is still being created`);
    if (sb.endpoints.some((x) => x.networkId === net.id)) throw conflict(`endpoint with name ${sb.name} already exists in network ${net.name}`);
    if (net.defaultBridge && sameList(o.aliases)) throw invalidArg('network-scoped alias is supported only for containers in user defined networks');
    const hasRoute = sb.endpoints.some((x) => !s.networks.find((n) => n.id === x.networkId)?.internal);
    const e = await planEndpoint(s, sb, net, { ...(o.ip && { ip: o.ip }), aliases: o.aliases ?? [] });
    const updated = { ...sb, endpoints: [...sb.endpoints, e] };
    s.sandboxes.put(updated);
    return { sb: updated, net, e, hasRoute, files: await renderFiles(s, updated) };
  });
  const ns = await netnsOpen({ name: sb.netns! });
  try {
    await runSteps([
      ...endpointSteps(ctx, sb, net, e, () => ns, { defaultRoute: !hasRoute && !net.internal, ownVeth: true }),
      { title: 'rewriting hosts', do: () => writeSandboxFiles(ctx.etcNetns, sb.netns!, files) },
    ], ctx.observe);
  } catch (err) {
    await usingState(ctx, async (s) => {
      const rec = await s.sandboxes.byId(sb.id);
      if (!rec) return;
      const block = parseIpv4Block(net.subnet!);
      await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(e.ip), false);
      s.sandboxes.put({ ...rec, endpoints: rec.endpoints.filter((x) => x.endpointId !== e.endpointId) });
    });
    throw err;
  } finally {
    await ns.close();
  }
  if (!net.defaultBridge) await ctx.dns?.sync(true, [sb.id]);
}

/** Disconnects a sandbox from a network: `nsnet network disconnect`. */
export async function sandboxDisconnect(ctx: Context, netRef: string, sbRef: string): Promise<void> {
  const sbId = await usingState(ctx, async (s) => {
    const net = findNetwork(s, netRef);
    const sb = await findSandbox(s, sbRef);
    const e = sb.endpoints.find((x) => x.networkId === net.id);
    if (!e) throw notFound(`sandbox ${sb.name} is not connected to network ${net.name}`);
    const ns = await netnsOpen({ name: sb.netns! });
    try {
      const peer = await linkGet(ns, e.ifname).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (peer) await linkDel(ns, peer, { for: `sandbox ${sb.name}` });
      if (net.icc === false) await deleteElements(ctx, iccElements('delete', e.hostVeth), `removing ${e.hostVeth} from icc_off_ports`);
      sb.endpoints = sb.endpoints.filter((x) => x !== e);
      const block = parseIpv4Block(net.subnet!);
      await s.addresses.set(net.id, block.network, block.size, ipv4ToInt(e.ip), false);
      s.sandboxes.put(sb);
      // If that link carried the default route, give it to the next network that has a gateway.
      const next = sb.endpoints.find((x) => !s.networks.find((n) => n.id === x.networkId)?.internal);
      if (next) await routeAdd(ns, { dst: 'default', via: next.gateway }).catch(() => {});
      await writeSandboxFiles(ctx.etcNetns, sb.netns!, await renderFiles(s, sb));
    } finally {
      await ns.close();
    }
    return sb.id;
  });
  await ctx.dns?.sync(false, [sbId]);
}

export { NsnetError };
