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
// Each mode has its planner in modes/ (what it validates and claims, and
// the steps that make it); removing a sandbox runs the undos of those same
// steps (removeSteps), so creation and removal cannot drift apart.
//
// Creating is three phases: (1) under the state lock, validate and reserve
// (name, addresses, ports) with status "creating"; (2) without the lock, make
// the kernel objects, undoing them all if a step fails, while the embedded DNS
// server attaches to the new namespace in parallel; (3) under the lock,
// mark it "created". A crash between phases leaves a "creating" record (and
// its creating/<name> index entry, with this process's pid and start time):
// the next command that holds the lock finds the process gone and undoes it,
// kernel objects and all (repair.ts cleanStaleCreates); `nsnet rm -f` too.
import { isIP, ipv4ToInt } from '../net/ip.js';
import { checkMac } from '../net/mac.js';
import { withRecords } from '../state/store.js';
import { processStart } from './proc.js';
import { missingBridgeSteps } from './bridge.js';
import type { Context } from './context.js';
import { usesEmbeddedDns } from './embedded-dns.js';
import { releaseAddress } from './endpoint.js';
import { asInvalid, conflict, invalidArg, NsnetError } from './errors.js';
import { renderFiles } from './files.js';
import { findSandbox } from './lookup.js';
import { bridgeMode } from './modes/bridge.js';
import { containerMode } from './modes/container.js';
import { hostMode } from './modes/host.js';
import type { Mode, SandboxCreateRequest, SandboxEnv } from './modes/mode.js';
import { noneMode } from './modes/none.js';
import { sandboxNs } from './namespace.js';
import { checkName, defaultHostname, newId, shortId } from './names.js';
import { findNetwork, usingState } from './networks.js';
import { removeSteps, runSteps, type Runner, type Step } from './plan.js';
import { parseExpose, parsePublish } from './ports.js';
import { overlayFind, overlayRecord } from './overlay.js';
import { releaseOverlayClaims } from './overlay-endpoint.js';
import type { NetworkRecord, SandboxRecord, State } from './types.js';

export { findSandbox, netnsOwner } from './lookup.js';
export { SANDBOX_SYSCTLS } from './namespace.js';
export { renderFiles } from './files.js';
export { usesEmbeddedDns } from './embedded-dns.js';
export type { SandboxCreateRequest } from './modes/mode.js';

const MODES: Record<SandboxRecord['mode'], Mode> = { bridge: bridgeMode, host: hostMode, none: noneMode, container: containerMode };

/** Gives back a sandbox's addresses and host ports: what a pending removal held (removals.ts), once its deferred undos are done. */
export async function releaseHeld(s: State, sb: SandboxRecord): Promise<void> {
  await releaseAddresses(s, sb);
  await s.ports.release(sb.id, sb.ports);
}

async function releaseAddresses(s: State, sb: SandboxRecord): Promise<void> {
  // With networks.json damaged, the bitmap's own header says which subnet it is for.
  const nets = s.networksDamaged ? s.salvaged : s.networks;
  for (const e of sb.endpoints) {
    const net = nets.find((n) => n.id === e.networkId);
    if (net) await releaseAddress(s, net, e);
    else {
      await s.addresses.releaseByHeader(e.networkId, ipv4ToInt(e.ip));
      // The IPv6 bitmap has no subnet in its header: dropped, it is rebuilt from the records when next used.
      if (e.ip6) await s.addresses6.drop(e.networkId);
    }
  }
}

/**
 * Gives back what a sandbox holds in the state: its addresses and host
 * ports (unless `pending`: a pending removal holds them until its deferred
 * undos are done, removals.ts), its place in a container: owner.
 */
export async function releaseClaims(s: State, sb: SandboxRecord, o: { pending?: boolean } = {}): Promise<void> {
  if (!o.pending) await releaseHeld(s, sb);
  if (sb.containerOf) {
    const owner = await s.sandboxes.byId(sb.containerOf);
    if (owner) s.sandboxes.put({ ...owner, joinedBy: (owner.joinedBy ?? []).filter((id) => id !== sb.id) });
  }
}

/** Checks one flag's value; a refusal reads as Docker's: invalid argument "V" for "--FLAG" flag: WHY. */
function flagValue<T>(flag: string, value: string, check: (v: string) => T): T {
  try {
    return check(value);
  } catch (e) {
    throw invalidArg(`invalid argument ${JSON.stringify(value)} for "--${flag}" flag: ${(e as Error).message}`);
  }
}

/**
 * The request's own values, checked before anything is claimed, in Docker's
 * words. A MAC: the kernel's own answer to a multicast one is a bare
 * EADDRNOTAVAIL. The others end up as lines of resolv.conf and hosts, where a
 * space or newline would make lines of its own.
 */
export function checkRequest(req: SandboxCreateRequest): { mac?: string; extraHosts: { host: string; ip: string }[] } {
  const mac = req.mac === undefined ? undefined : flagValue('mac-address', req.mac, checkMac);
  if (req.ip6 !== undefined) flagValue('ip6', req.ip6, (v) => { if (isIP(v) !== 6) throw new Error(`invalid IPv6 address: ${v}`); });
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
  if (req.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(req.hostname)) {
    throw invalidArg(`invalid hostname "${req.hostname}"`);
  }
  return { ...(mac && { mac }), extraHosts };
}

/** Config.ExposedPorts: every --expose port and every -p container port, sorted as Docker's map prints them. */
function exposedPorts(req: SandboxCreateRequest): string[] {
  const keys = new Set<string>();
  for (const e of req.expose ?? []) asInvalid(() => parseExpose(e)).forEach((k) => keys.add(k));
  for (const p of req.publish ?? []) asInvalid(() => parsePublish(p)).forEach((x) => keys.add(`${x.containerPort}/${x.proto}`));
  return [...keys].sort();
}

/** Validates a create request against the state and reserves what it needs (the mode's planner does its part). */
async function planSandbox(ctx: Context, s: State, req: SandboxCreateRequest): Promise<SandboxRecord> {
  const id = newId();
  const name = req.name ?? `sb_${shortId(id)}`;
  asInvalid(() => checkName('sandbox', name));
  const dup = await s.sandboxes.get(name);
  if (dup) throw conflict(`Conflict. The sandbox name "/${name}" is already in use by sandbox "${dup.id}". You have to remove (or rename) that sandbox to be able to reuse that name.`);
  const { mac, extraHosts } = checkRequest(req);
  const exposed = exposedPorts(req);
  const networkMode = req.network ?? 'bridge';
  const sb: SandboxRecord = {
    id, name, created: new Date().toISOString(), status: 'creating', mode: 'bridge', networkMode,
    createdBy: { pid: process.pid, start: processStart(process.pid) ?? '0' },
    hostname: req.hostname ?? defaultHostname(id), endpoints: [], ports: [], links: [],
    dns: req.dns ?? [], dnsSearch: req.dnsSearch ?? [], dnsOptions: req.dnsOptions ?? [],
    extraHosts,
    ...(req.command && { command: req.command }),
    ...(req.labels && Object.keys(req.labels).length > 0 && { labels: req.labels }),
    ...(exposed.length > 0 && { exposed }),
    ...(req.publishAll && { publishAll: true }),
  };
  if (req.pid) {
    if (req.pid.startsWith('container:')) await findSandbox(s, req.pid.slice('container:'.length));
    else if (req.pid !== 'host') throw invalidArg(`invalid PID mode "${req.pid}": use container:NAME or host`);
    sb.pidMode = req.pid;
  }
  const checked = { ...req, ...(mac && { mac }) };
  if (networkMode.startsWith('container:')) {
    await containerMode.plan(ctx, s, checked, sb);
    return sb;
  }
  const net = await findAnyNetwork(ctx, s, networkMode === 'default' ? 'bridge' : networkMode);
  const mode = net.driver === 'host' ? hostMode : net.driver === 'null' ? noneMode : bridgeMode;
  await mode.plan(ctx, s, checked, sb, net);
  return sb;
}

/** A local network, else (with a cluster store) an overlay network of the cluster. */
async function findAnyNetwork(ctx: Context, s: State, ref: string): Promise<NetworkRecord> {
  try {
    return findNetwork(s, ref);
  } catch (e) {
    if (!(e instanceof NsnetError && e.kind === 'NotFound') || !ctx.clusterStore) throw e;
    const ov = await overlayFind(ctx, ref);
    if (!ov) throw e;
    return overlayRecord(ov);
  }
}

/** The steps that make a sandbox's kernel objects and files: its mode's plan (a removal runs their undos). */
export function sandboxSteps(ctx: Context, sb: SandboxRecord, env: SandboxEnv): Step[] {
  return MODES[sb.mode].steps(ctx, sb, env);
}

/** Creates a sandbox (no process): `nsnet create`. */
export async function sandboxCreate(ctx: Context, req: SandboxCreateRequest): Promise<SandboxRecord> {
  const { sb, networks, files, missing } = await usingState(ctx, async (s) => {
    const sb = await planSandbox(ctx, s, req);
    try {
      s.sandboxes.put(sb);
      const networks = s.networks.filter((n) => sb.endpoints.some((e) => e.networkId === n.id));
      // Bridges gone since a reboot are made first (the network's objects, outside the sandbox's undo).
      const missing = await missingBridgeSteps(ctx, networks, s.networks, () => s.sandboxes.all());
      return { sb, networks, files: sb.netns ? await renderFiles(s, sb) : undefined, missing };
    } catch (e) {
      await releaseOverlayClaims(ctx, sb).catch(() => {}); // the error that matters is e
      throw e;
    }
  });
  const ns = sandboxNs(sb);
  const dns = !!ctx.dns && usesEmbeddedDns(networks, sb);
  try {
    await runSteps([...missing.steps, ...sandboxSteps(ctx, sb, { networks, ns, files, bridges: missing.bridges })], ctx);
  } catch (e) {
    // Its steps are undone: give back what it claimed (and an overlay network's devices no one else uses here).
    await usingState(ctx, async (s) => {
      await releaseClaims(s, sb);
      await releaseOverlayClaims(ctx, sb).catch((x: Error) => ctx.warn(`nsnet: ${x.message}`));
      s.sandboxes.delete(sb);
    });
    // The server may have attached in part (its sockets keep the namespace alive): let it see the record gone.
    if (dns) await ctx.dns!.sync(false, [sb.id]).catch(() => {});
    throw e;
  } finally {
    await ns?.close();
  }
  return markCreated(ctx, sb);
}

/** Phase 3: the record says "created" (only the record: the lock, no networks to read). */
async function markCreated(ctx: Context, sb: SandboxRecord): Promise<SandboxRecord> {
  const rec = { ...sb, status: 'created' as const };
  // A dry run wrote no record to mark, but a scratch state (compose --dry-run) keeps one for the next step.
  if (ctx.dryRun) return ctx.scratchState ? usingState(ctx, (s) => { s.sandboxes.put(rec); return rec; }) : rec;
  return withRecords<SandboxRecord, SandboxRecord>(ctx.dirs, async (records) => {
    const cur = await records.get(sb.name);
    if (cur?.id !== sb.id) throw conflict(`sandbox ${sb.name} was removed while it was being created`);
    const done = { ...cur, status: 'created' as const };
    records.put(done);
    return done;
  });
}

/** Removes a sandbox's kernel objects and files: the undos of its steps, every one even if some fail. */
export async function sandboxTeardown(ctx: Context, sb: SandboxRecord, networks: NetworkRecord[], runner: Runner = {}): Promise<void> {
  const ns = sandboxNs(sb);
  await removeSteps(sandboxSteps(ctx, sb, { networks, ns }), runner);
}
