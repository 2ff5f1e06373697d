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
// the kernel objects, undoing them all if a step fails, while the embedded DNS
// server attaches to the new namespace in parallel; (3) under the lock,
// mark it "created". A crash between phases leaves a "creating" record (and
// its creating/<name> index entry, with this process's pid and start time):
// the next command that holds the lock finds the process gone and undoes it,
// kernel objects and all (repair.ts cleanStaleCreates); `nsnet rm -f` too.
import { closeSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { linkSet } from '../kernel/link.js';
import { NETNS_RUN_DIR, netnsAdd, netnsDel, type Netns } from '../kernel/netns.js';
import { socketBind } from '../kernel/socket.js';
import { iccElements, portElements } from '../nft/table.js';
import { isIP } from '../net/ip.js';
import { checkMac } from '../net/mac.js';
import { sandboxHosts } from '../etc/hosts.js';
import { parseResolvConf } from '../etc/resolv-conf.js';
import { sandboxResolvConf } from '../etc/sandbox-resolv-conf.js';
import { withRecords } from '../state/store.js';
import { ipv4ToInt } from '../net/ip.js';
import { processStart } from './proc.js';
import type { Context } from './context.js';
import { asInvalid, conflict, invalidArg, notFound } from './errors.js';
import { endpointSteps, planEndpoint, releaseAddress } from './endpoint.js';
import { MARKS_DIR, removeSandboxFiles, writeSandboxFiles } from './files.js';
import { addElements, deleteElements, portRules } from './firewall.js';
import { hostResolvConf, localPortRange } from './host.js';
import { checkName, defaultHostname, newId, shortId } from './names.js';
import { findNetwork, usingState } from './networks.js';
import { runSteps, teardown, type Step } from './plan.js';
import { parsePublish, portsClash, type PortSpec } from './ports.js';
import type { NetworkRecord, PortBinding, SandboxRecord, State } from './types.js';

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
  labels?: Record<string, string>;
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

/** Gives back what a sandbox holds in the state: its addresses, its host ports, its place in a container: owner. */
export async function releaseClaims(s: State, sb: SandboxRecord): Promise<void> {
  // With networks.json damaged, the bitmap's own header says which subnet it is for.
  const nets = s.networksDamaged ? s.salvaged : s.networks;
  for (const e of sb.endpoints) {
    const net = nets.find((n) => n.id === e.networkId);
    if (net) await releaseAddress(s, net, e.ip);
    else await s.addresses.releaseByHeader(e.networkId, ipv4ToInt(e.ip));
  }
  await s.ports.release(sb.id, sb.ports);
  if (sb.containerOf) {
    const owner = await s.sandboxes.byId(sb.containerOf);
    if (owner) s.sandboxes.put({ ...owner, joinedBy: (owner.joinedBy ?? []).filter((id) => id !== sb.id) });
  }
}

export function sameList(a: string[] | undefined): boolean {
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
  // A host process listening on the port would never see its traffic again: refuse it, as Docker does.
  const free = async (p: PortSpec) => {
    const probe = await socketBind(ctx.host, { type: p.proto, address: p.hostIp, port: p.hostPort }).catch((e: unknown) => e);
    if (probe instanceof Error) {
      if ((probe as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
      throw probe;
    }
    closeSync((probe as { fd: number }).fd);
    return true;
  };
  let range: [number, number] | undefined;
  for (const spec of specs) {
    let p = { ...spec };
    if (p.hostPort === 0) {
      // An ephemeral port: the lowest one of the kernel's range that nobody holds.
      range ??= await localPortRange(ctx.host);
      let port = range[0];
      while (port <= range[1] && ((await taken({ ...p, hostPort: port })) || !(await free({ ...p, hostPort: port })))) port++;
      if (port > range[1]) throw conflict('no free host port left in net.ipv4.ip_local_port_range');
      p = { ...p, hostPort: port };
    } else if ((await taken(p)) || !(await free(p))) {
      throw conflict(`Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated`);
    }
    out.push({ ...p, ip });
  }
  for (const p of out) await s.ports.add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, sandboxId });
  return out;
}


type Files = Parameters<typeof writeSandboxFiles>[2];

/** Renders the sandbox's resolv.conf, hosts and hostname (under the lock: links name other sandboxes). */
export async function renderFiles(s: State, sb: SandboxRecord): Promise<Files> {
  const firstNet = sb.endpoints[0] && s.networks.find((n) => n.id === sb.endpoints[0]!.networkId);
  const mode = sb.mode === 'none' ? 'none' : firstNet?.defaultBridge ? 'default-bridge' : 'user-network';
  const host = parseResolvConf(await hostResolvConf());
  const links = [];
  // Docker writes /etc/hosts entries for links only on the default bridge; on a
  // user-defined network a link is an alias the embedded DNS answers for this sandbox.
  for (const l of mode === 'default-bridge' ? sb.links : []) {
    const target = await s.sandboxes.get(l.name);
    if (target?.endpoints[0]) links.push({ name: l.name, alias: l.alias, ip: target.endpoints[0].ip, hostname: target.hostname });
  }
  return {
    'resolv.conf': sandboxResolvConf({ host, mode, dns: sb.dns, dnsSearch: sb.dnsSearch, dnsOptions: sb.dnsOptions }),
    hosts: sandboxHosts({ hostname: sb.hostname, addresses: sb.endpoints.map((e) => e.ip), links, extra: sb.extraHosts, ipv6: false }),
    hostname: `${sb.hostname}\n`,
  };
}

/** Checks one flag's value; a refusal reads as Docker's: invalid argument "V" for "--FLAG" flag: WHY. */
function flagValue<T>(flag: string, value: string, check: (v: string) => T): T {
  try {
    return check(value);
  } catch (e) {
    throw invalidArg(`invalid argument ${JSON.stringify(value)} for "--${flag}" flag: ${(e as Error).message}`);
  }
}

/** Validates a create request against the state and reserves what it needs. */
async function planSandbox(ctx: Context, s: State, req: SandboxCreateRequest): Promise<SandboxRecord> {
  const id = newId();
  const name = req.name ?? `sb_${shortId(id)}`;
  asInvalid(() => checkName('sandbox', name));
  const dup = await s.sandboxes.get(name);
  if (dup) throw conflict(`Conflict. The sandbox name "/${name}" is already in use by sandbox "${dup.id}". You have to remove (or rename) that sandbox to be able to reuse that name.`);

  // Checked before anything is claimed, in Docker's words. A MAC: the kernel's own answer to a
  // multicast one is a bare EADDRNOTAVAIL. The others end up as lines of resolv.conf and hosts,
  // where a space or newline would make lines of its own.
  const mac = req.mac === undefined ? undefined : flagValue('mac-address', req.mac, checkMac);
  for (const d of req.dns ?? []) flagValue('dns', d, (v) => { if (!isIP(v)) throw new Error('IP address is not correctly formatted'); });
  for (const d of req.dnsSearch ?? []) {
    flagValue('dns-search', d, (v) => { if (!/^[^\s#;]{1,253}$/.test(v)) throw new Error('not a valid domain'); });
  }
  for (const o of req.dnsOptions ?? []) flagValue('dns-option', o, (v) => { if (!/^[^\s#;]+$/.test(v)) throw new Error('not a resolver option (one word, like ndots:2)'); });
  const extraHosts = (req.addHosts ?? []).map((h) => flagValue('add-host', h, (v) => {
    const i = v.indexOf(':');
    if (i < 1) throw new Error(`bad format for add-host: "${v}"`);
    const [host, ip] = [v.slice(0, i), v.slice(i + 1)];
    if (!/^[^\s#]+$/.test(host)) throw new Error(`invalid hostname in add-host: ${JSON.stringify(host)}`);
    if (ip === 'host-gateway') throw new Error('host-gateway is not supported by nsnet: give the address');
    if (!isIP(ip)) throw new Error(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
    return { host, ip };
  }));
  const networkMode = req.network ?? 'bridge';
  const sb: SandboxRecord = {
    id, name, created: new Date().toISOString(), status: 'creating', mode: 'bridge', networkMode,
    createdBy: { pid: process.pid, start: processStart(process.pid) ?? '0' },
    hostname: req.hostname ?? defaultHostname(id), endpoints: [], ports: [], links: [],
    dns: req.dns ?? [], dnsSearch: req.dnsSearch ?? [], dnsOptions: req.dnsOptions ?? [],
    extraHosts,
    ...(req.command && { command: req.command }),
    ...(req.labels && Object.keys(req.labels).length > 0 && { labels: req.labels }),
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
  sb.endpoints.push(await planEndpoint(s, sb, net, { ...(req.ip && { ip: req.ip }), ...(mac && { mac }), aliases: req.aliases ?? [] }));
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
  if (ctx.dryRun) {
    await runSteps(createSteps(ctx, sb, networks, files, () => undefined, () => {}), ctx.observe, true);
    if (!ctx.scratchState) return sb;
    return usingState(ctx, (s) => {
      const rec = { ...sb, status: 'created' as const };
      s.sandboxes.put(rec);
      return rec;
    });
  }
  let ns: Netns | undefined;
  // The embedded DNS server attaches (its sockets and DNAT rules in the new
  // namespace) while this process makes the rest: asked as soon as it exists,
  // awaited before create returns, so a name still resolves the moment it does.
  let dns: Promise<void> | undefined;
  const startDns = ctx.dns && usesEmbeddedDns(networks, sb)
    ? () => {
      dns = ctx.dns!.sync(true, [sb.id]);
      dns.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    }
    : undefined;
  let built = false;
  try {
    await runSteps(createSteps(ctx, sb, networks, files, () => ns, (n) => { ns = n; }, startDns), ctx.observe);
    built = true;
    await dns;
  } catch (e) {
    await ns?.close();
    // Setup failed (its steps are undone), or the DNS server could not attach (undo it all).
    if (built) await sandboxTeardown(ctx, sb, networks).catch(() => {});
    await usingState(ctx, async (s) => {
      await releaseClaims(s, sb);
      s.sandboxes.delete(sb);
    });
    if (dns) {
      // The server may hold sockets in the namespace (they keep it alive): let it see the record gone.
      await dns.catch(() => {});
      await ctx.dns!.sync(false, [sb.id]).catch(() => {});
    }
    throw e;
  } finally {
    await ns?.close();
  }
  // Phase 3: only the record (the lock, no networks to read).
  return withRecords<SandboxRecord, SandboxRecord>(ctx.dirs, async (records) => {
    const cur = await records.get(sb.name);
    if (cur?.id !== sb.id) throw conflict(`sandbox ${sb.name} was removed while it was being created`);
    const rec = { ...cur, status: 'created' as const };
    records.put(rec);
    return rec;
  });
}

/** Sandboxes on user-defined networks get the embedded DNS server (never the default bridge). */
export function usesEmbeddedDns(networks: NetworkRecord[], sb: SandboxRecord): boolean {
  return sb.endpoints.some((e) => networks.some((n) => n.id === e.networkId && n.driver === 'bridge' && !n.defaultBridge));
}

/**
 * Set in every sandbox namespace as it is made. nsnet's networks are IPv4
 * only, and Docker disables IPv6 on the interfaces of an IPv4-only network
 * (moby libnetwork/osl setInterfaceIPv6: "if IPv6 isn't disabled, the
 * interface will be put into IPv6 multicast groups"): an eth0 with IPv6 on
 * gets a link-local address, runs DAD, joins multicast groups and solicits
 * routers, and the bridge floods every one of those packets to every other
 * sandbox - work for the whole host that grows with the number of
 * sandboxes (measured in docs/bench/analysis.md). Set as the namespace's
 * default, so eth0, eth1 ... are born with it; lo keeps ::1.
 */
export const SANDBOX_SYSCTLS: Record<string, string> = { 'net.ipv6.conf.default.disable_ipv6': '1' };

/** The steps that make a planned sandbox's kernel objects and files, each with its undo. */
function createSteps(ctx: Context, sb: SandboxRecord, networks: NetworkRecord[], files: Files | undefined,
  getNs: () => Netns | undefined, setNs: (n: Netns) => void, nsReady?: () => void): Step[] {
  const steps: Step[] = [];
  let made: Promise<Netns> | undefined;
  const ns = () => made!;
  if (sb.netns) {
    steps.push({
      title: `creating network namespace ${sb.netns}`,
      equivalent: [`ip netns add ${sb.netns}`, ...Object.entries(SANDBOX_SYSCTLS).map(([k, v]) => `ip netns exec ${sb.netns} sysctl -qw ${k}=${v}`),
        `ip -n ${sb.netns} link set lo up`],
      // The bridge lookup (host side) runs beside it; the veth step waits for both.
      overlap: true,
      do: async () => {
        made = (async () => {
          const n = await netnsAdd(sb.netns!, { for: `sandbox ${sb.name}`, sysctls: SANDBOX_SYSCTLS });
          setNs(n);
          await linkSet(n, 1, { up: true, for: `sandbox ${sb.name}` }); // lo is ifindex 1 in a new namespace
          // Not before: 127.0.0.0/8 is lo's address, which exists only once lo is up (else EADDRNOTAVAIL).
          nsReady?.();
          return n;
        })();
        await made;
      },
      undo: async () => {
        if (getNs()) await netnsDel(getNs()!);
      },
    });
    const dir = `${ctx.etcNetns}/${sb.netns}`;
    steps.push({
      title: `writing ${dir}/{resolv.conf,hosts,hostname}`,
      equivalent: [`mkdir -p ${ctx.etcNetns}/${MARKS_DIR} && touch ${ctx.etcNetns}/${MARKS_DIR}/${sb.netns}  # marks ${dir} as nsnet's`,
        `mkdir -p ${dir}`, ...Object.entries(files ?? {}).map(([f, text]) => `cat > ${dir}/${f} <<'EOF'\n${text}EOF`)],
      do: () => writeSandboxFiles(ctx.etcNetns, sb.netns!, files!),
      undo: () => removeSandboxFiles(ctx.etcNetns, sb.netns!),
      // Plain file writes on this thread, done while the namespace is being made on another.
      overlap: true,
    });
    for (const [i, e] of sb.endpoints.entries()) {
      const net = networks.find((n) => n.id === e.networkId)!;
      steps.push(...endpointSteps(ctx, sb, net, e, ns, { defaultRoute: i === 0 && !net.internal, ownVeth: false }));
    }
    if (sb.ports.length) {
      steps.push({
        title: `publishing ${sb.ports.length} port(s)`,
        equivalent: portElements('add', portRules(sb.ports)).trim().split('\n').map((l) => `nft ${l}`),
        overlap: true, // host-side map elements: beside the DNS server's attach
        do: () => addElements(ctx, portElements('add', portRules(sb.ports)), `publishing ports of sandbox ${sb.name}`),
        undo: () => deleteElements(ctx, portElements('delete', portRules(sb.ports)), `unpublishing ports of sandbox ${sb.name}`),
      });
    }
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


