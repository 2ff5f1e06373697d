// `nsnet compose up|down|ps`: a compose project's networks and services,
// made with the same library calls as `nsnet network create`, `nsnet create`,
// `nsnet network connect` and a start, in one process: this is nsnet's batch
// path (one context, one open host namespace, no process per service).
//
// As Compose, nsnet finds a project's objects again by their labels:
//   com.docker.compose.project   on every network and sandbox of the project
//   com.docker.compose.network   the network's key in the file
//   com.docker.compose.service   the sandbox's service
//   com.docker.compose.config-hash  what the service looked like when it was made:
//                                   `up` leaves an unchanged, running sandbox alone
//                                   and recreates one whose definition changed.
//
// `up` undoes what it made if a step fails, so a broken file leaves nothing behind.
import { createHash } from 'node:crypto';
import type { Context } from '../docker/context.js';
import { sandboxConnect } from '../docker/connect.js';
import { conflict, NsnetError, notFound } from '../docker/errors.js';
import { findNetwork, networkCreate, networkRemove, usingState } from '../docker/networks.js';
import { isRunning, liveStatus, sandboxRemove, sandboxStart } from '../docker/process.js';
import { sandboxCreate, type SandboxCreateRequest } from '../docker/sandboxes.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import type { ComposeNetwork, ComposeProject, ComposeService } from './model.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  network: 'com.docker.compose.network',
  number: 'com.docker.compose.container-number',
  hash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
} as const;

/** What `up` and `down` report as they go; the CLI draws it as a progress list. */
export interface ComposeEvent {
  kind: 'Network' | 'Sandbox';
  name: string;
  /** "Creating", then "Created", "Started", "Running", "Recreated", "Removed", or "Error". */
  status: string;
  done: boolean;
}
export type OnEvent = (e: ComposeEvent) => void;

// ---- pure helpers ----------------------------------------------------------

/** The services to act on: the ones named (with everything they depend on), or all. */
export function selectServices(p: ComposeProject, names: string[]): ComposeService[] {
  if (names.length === 0) return p.services;
  const byName = new Map(p.services.map((s) => [s.name, s]));
  const want = new Set<string>();
  const add = (n: string) => {
    const s = byName.get(n);
    if (!s) throw new NsnetError('InvalidArgument', `no such service: ${n}`);
    if (want.has(n)) return;
    want.add(n);
    s.dependsOn.forEach(add);
  };
  names.forEach(add);
  return p.services.filter((s) => want.has(s.name));
}

/** A digest of everything `up` makes from a service, so a changed file recreates the sandbox. */
export function configHash(p: ComposeProject, s: ComposeService): string {
  const nets = s.networks.map((n) => ({ ...n, name: p.networks.find((x) => x.key === n.key)?.name }));
  return createHash('sha256').update(JSON.stringify({ ...s, networks: nets })).digest('hex');
}

/** The sandbox request for a service: its first network at create, the others connected after. */
export function serviceRequest(p: ComposeProject, s: ComposeService): { req: SandboxCreateRequest; connect: { network: string; ip?: string; aliases: string[] }[] } {
  const netName = (key: string) => p.networks.find((n) => n.key === key)!.name;
  const container = (service: string) => p.services.find((x) => x.name === service)?.containerName ?? service;
  const mode = (m: string | undefined) => (m?.startsWith('service:') ? `container:${container(m.slice('service:'.length))}` : m);
  const [first, ...others] = s.networks;
  const req: SandboxCreateRequest = {
    name: s.containerName,
    network: first ? netName(first.key) : mode(s.networkMode)!,
    // Compose makes the service name an alias on every network the service joins.
    ...(first && { aliases: [s.name, ...first.aliases] }),
    ...(first?.ipv4Address && { ip: first.ipv4Address }),
    ...(s.mac && { mac: s.mac }),
    ...(s.hostname && { hostname: s.hostname }),
    links: [...s.links.map((l) => `${container(l.service)}:${l.alias}`), ...s.externalLinks],
    // Docker discards published ports in host mode, with a warning (upService prints it).
    publish: s.networkMode === 'host' ? [] : s.ports,
    expose: s.expose,
    dns: s.dns,
    dnsSearch: s.dnsSearch,
    dnsOptions: s.dnsOptions,
    addHosts: s.extraHosts,
    ...(s.pid && { pid: mode(s.pid)! }),
    labels: { ...s.labels, [LABEL.project]: p.name, [LABEL.service]: s.name, [LABEL.number]: '1', [LABEL.oneoff]: 'False', [LABEL.hash]: configHash(p, s) },
  };
  return {
    req,
    connect: others.map((n) => ({ network: netName(n.key), aliases: [s.name, ...n.aliases], ...(n.ipv4Address && { ip: n.ipv4Address }) })),
  };
}

/** Compose's words for sandboxes of the project whose service is no longer in the file. */
const orphanWarning = (names: string[]) =>
  `WARN[0000] Found orphan sandboxes ([${names.join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`;

const ofProject = (project: string) => (sb: SandboxRecord) => sb.labels?.[LABEL.project] === project;

// ---- up --------------------------------------------------------------------

export interface UpOptions {
  /** Services named on the command line (with their dependencies); all when empty. */
  services?: string[];
  removeOrphans?: boolean;
  onEvent?: OnEvent;
}

/**
 * `nsnet compose up`: the project's networks, then each service's sandbox in
 * dependency order, connected to its other networks, then its command started
 * (detached; its output goes to the sandbox's log under /run/nsnet/logs).
 */
export async function composeUp(ctx: Context, p: ComposeProject, o: UpOptions = {}): Promise<void> {
  const ev: OnEvent = o.onEvent ?? (() => {});
  const services = selectServices(p, o.services ?? []);
  const keys = new Set(services.flatMap((s) => s.networks.map((n) => n.key)));
  const made: { networks: string[]; sandboxes: string[] } = { networks: [], sandboxes: [] };
  try {
    await orphans(ctx, p, o, ev);
    for (const n of p.networks.filter((x) => keys.has(x.key))) {
      if (await upNetwork(ctx, p, n, ev)) made.networks.push(n.name);
    }
    for (const s of services) {
      if (s.networkMode === 'host' && s.ports.length) ctx.warn(`WARNING: Published ports are discarded when using host network mode (service ${s.name})`);
      if (await upService(ctx, p, s, ev)) made.sandboxes.push(s.containerName);
    }
  } catch (e) {
    // Nothing half-made: what this `up` created goes, newest first.
    for (const name of made.sandboxes.reverse()) await sandboxRemove(ctx, [name], { force: true }).catch(() => {});
    for (const name of made.networks.reverse()) await networkRemove(ctx, [name]).catch(() => {});
    throw e;
  }
}

/** Makes the network unless it exists (and is this project's); returns whether it made it. */
async function upNetwork(ctx: Context, p: ComposeProject, n: ComposeNetwork, ev: OnEvent): Promise<boolean> {
  const existing = await usingState(ctx, (s) => {
    try {
      return findNetwork(s, n.name);
    } catch (e) {
      if (e instanceof NsnetError && e.kind === 'NotFound') return undefined;
      throw e;
    }
  });
  if (n.external) {
    if (!existing) throw notFound(`network ${n.name} declared as external, but could not be found`);
    return false;
  }
  if (existing) {
    // Compose refuses to adopt a network someone else made under the same name.
    const label = existing.labels[LABEL.network] ?? '';
    if (label !== n.key || existing.labels[LABEL.project] !== p.name) {
      throw conflict(`network ${n.name} was found but has incorrect label ${LABEL.network} set to "${label}" (expected "${n.key}")`);
    }
    return false;
  }
  ev({ kind: 'Network', name: n.name, status: 'Creating', done: false });
  try {
    await networkCreate(ctx, {
      name: n.name,
      driver: 'bridge',
      internal: n.internal,
      ...(n.subnet && { subnet: n.subnet }),
      ...(n.ipRange && { ipRange: n.ipRange }),
      ...(n.gateway && { gateway: n.gateway }),
      options: n.options,
      labels: { ...n.labels, [LABEL.project]: p.name, [LABEL.network]: n.key },
    });
  } catch (e) {
    ev({ kind: 'Network', name: n.name, status: 'Error', done: true });
    throw e;
  }
  ev({ kind: 'Network', name: n.name, status: 'Created', done: true });
  return true;
}

/** Creates, connects and starts one service's sandbox; returns whether it made one. */
async function upService(ctx: Context, p: ComposeProject, s: ComposeService, ev: OnEvent): Promise<boolean> {
  const { req, connect } = serviceRequest(p, s);
  const name = s.containerName;
  const existing = await usingState(ctx, (st) => st.sandboxes.get(name));
  let recreate = false;
  if (existing) {
    if (existing.labels?.[LABEL.project] !== p.name || existing.labels?.[LABEL.service] !== s.name) {
      throw conflict(`Conflict. The sandbox name "/${name}" is already in use by sandbox "${existing.id}", which is not service ${s.name} of project ${p.name}.`);
    }
    const upToDate = existing.labels[LABEL.hash] === req.labels![LABEL.hash] && (!s.command || isRunning(existing));
    if (upToDate) {
      ev({ kind: 'Sandbox', name, status: 'Running', done: true });
      return false;
    }
    recreate = true;
    ev({ kind: 'Sandbox', name, status: 'Recreating', done: false });
    await sandboxRemove(ctx, [existing.id], { force: true });
  } else {
    ev({ kind: 'Sandbox', name, status: 'Creating', done: false });
  }
  try {
    await sandboxCreate(ctx, { ...req, ...(s.command && { command: s.command }) });
    try {
      for (const c of connect) await sandboxConnect(ctx, c.network, name, { aliases: c.aliases, ...(c.ip && { ip: c.ip }) });
      if (s.command) {
        ev({ kind: 'Sandbox', name, status: 'Starting', done: false });
        await sandboxStart(ctx, name, s.command, { detach: true, env: s.environment, ...(s.workingDir && { workdir: s.workingDir }) });
      }
    } catch (e) {
      await sandboxRemove(ctx, [name], { force: true }).catch(() => {});
      throw e;
    }
  } catch (e) {
    ev({ kind: 'Sandbox', name, status: 'Error', done: true });
    throw e;
  }
  ev({ kind: 'Sandbox', name, status: recreate ? 'Recreated' : s.command ? 'Started' : 'Created', done: true });
  return true;
}

/** Sandboxes of the project whose service is no longer in the file: warned about, or removed. */
async function orphans(ctx: Context, p: ComposeProject, o: UpOptions, ev: OnEvent): Promise<void> {
  const known = new Set(p.services.map((s) => s.name));
  const found = (await projectSandboxes(ctx, p.name)).filter((sb) => !known.has(sb.labels?.[LABEL.service] ?? ''));
  if (!found.length) return;
  if (!o.removeOrphans) {
    ctx.warn(orphanWarning(found.map((sb) => sb.name)));
    return;
  }
  for (const sb of found) await removeSandbox(ctx, sb, ev);
}

// ---- down ------------------------------------------------------------------

export interface DownOptions {
  /** The project as the file describes it; without it (no file), everything labelled with the project goes. */
  project?: ComposeProject;
  removeOrphans?: boolean;
  onEvent?: OnEvent;
}

/**
 * `nsnet compose down`: the project's sandboxes (processes killed), then its
 * networks - never an `external` one, nor one nsnet did not make for this
 * project. Returns whether anything was found.
 */
export async function composeDown(ctx: Context, projectName: string, o: DownOptions = {}): Promise<boolean> {
  const ev: OnEvent = o.onEvent ?? (() => {});
  const known = o.project ? new Set(o.project.services.map((s) => s.name)) : undefined;
  const all = await projectSandboxes(ctx, projectName);
  const mine = all.filter((sb) => !known || o.removeOrphans || known.has(sb.labels?.[LABEL.service] ?? ''));
  if (known && !o.removeOrphans && mine.length < all.length) {
    const orphaned = all.filter((sb) => !mine.includes(sb)).map((sb) => sb.name);
    ctx.warn(orphanWarning(orphaned));
  }
  // Sandboxes sharing another's namespace (service:X) go before it; otherwise newest first.
  mine.sort((a, b) => Number(!!b.containerOf) - Number(!!a.containerOf) || (a.created < b.created ? 1 : -1));
  const errors: Error[] = [];
  for (const sb of mine) {
    try {
      await removeSandbox(ctx, sb, ev);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  const networks = await usingState(ctx, (s) => s.networks.filter((n: NetworkRecord) => n.labels[LABEL.project] === projectName));
  for (const n of networks) {
    ev({ kind: 'Network', name: n.name, status: 'Removing', done: false });
    try {
      await networkRemove(ctx, [n.id]);
      ev({ kind: 'Network', name: n.name, status: 'Removed', done: true });
    } catch (e) {
      ev({ kind: 'Network', name: n.name, status: 'Error', done: true });
      errors.push(e as Error);
    }
  }
  if (errors.length) throw new NsnetError(errors[0] instanceof NsnetError ? errors[0].kind : 'Internal', errors.map((e) => e.message).join('\n'));
  return mine.length + networks.length > 0;
}

async function removeSandbox(ctx: Context, sb: SandboxRecord, ev: OnEvent): Promise<void> {
  ev({ kind: 'Sandbox', name: sb.name, status: 'Removing', done: false });
  try {
    await sandboxRemove(ctx, [sb.id], { force: true });
  } catch (e) {
    // Already gone with the sandbox whose namespace it shared: that is what we wanted.
    if (!(e instanceof NsnetError && e.kind === 'NotFound')) {
      ev({ kind: 'Sandbox', name: sb.name, status: 'Error', done: true });
      throw e;
    }
  }
  ev({ kind: 'Sandbox', name: sb.name, status: 'Removed', done: true });
}

// ---- ps --------------------------------------------------------------------

export function projectSandboxes(ctx: Context, project: string): Promise<SandboxRecord[]> {
  return usingState(ctx, async (s) => (await s.sandboxes.all()).filter(ofProject(project)));
}

export interface PsEntry {
  sandbox: SandboxRecord;
  service: string;
  status: SandboxRecord['status'];
  /** The networks it is on, by name; its mode (host, none, container:X) when it has no endpoint. */
  networks: string[];
}

/** `nsnet compose ps`: the project's sandboxes, by name, with their live status. */
export async function composePs(ctx: Context, project: string, services: string[] = []): Promise<PsEntry[]> {
  const rows = await usingState(ctx, async (s) => (await s.sandboxes.all()).filter(ofProject(project)).map((sb) => ({
    sandbox: sb,
    service: sb.labels?.[LABEL.service] ?? '',
    status: liveStatus(sb),
    networks: sb.endpoints.length ? sb.endpoints.map((e) => s.networks.find((n) => n.id === e.networkId)?.name ?? e.networkId) : [sb.networkMode],
  })));
  return rows
    .filter((r) => services.length === 0 || services.includes(r.service))
    .sort((a, b) => (a.sandbox.name < b.sandbox.name ? -1 : a.sandbox.name > b.sandbox.name ? 1 : 0));
}
