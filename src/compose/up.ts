// `nsnet compose up`: the project's networks, then each service's sandbox in
// dependency order, made with the same library calls as `nsnet network
// create`, `nsnet create`, `nsnet network connect` and a start. `up` undoes
// what it made if a step fails, so a broken file leaves nothing behind.
import type { Context } from '../docker/context.js';
import { sandboxConnect } from '../docker/connect.js';
import { conflict, NsnetError, notFound } from '../docker/errors.js';
import type { NetworkCreateRequest } from '../docker/network.js';
import { findNetwork, networkCreate, networkRemove, usingState } from '../docker/networks.js';
import { isRunning, sandboxRemove, sandboxStart } from '../docker/process.js';
import { sandboxCreate } from '../docker/sandboxes.js';
import { removeProjectSandbox } from './down.js';
import type { OnEvent } from './events.js';
import { LABEL, orphanWarning, projectSandboxes } from './labels.js';
import { selectServices, serviceRequest } from './service-request.js';
import type { ComposeNetwork, ComposeProject, ComposeService } from './types.js';

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
    await warnOrRemoveOrphans(ctx, p, o, ev);
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

/**
 * What `nsnet network create` is asked for a network of the file (pure): its
 * driver, `driver_opts` as -o options (macvlan: parent, macvlan_mode), the
 * ipam config, and Compose's labels.
 */
export function networkRequest(p: ComposeProject, n: ComposeNetwork): NetworkCreateRequest {
  return {
    name: n.name,
    driver: n.driver,
    internal: n.internal,
    ...(n.subnet && { subnet: n.subnet }),
    ...(n.ipRange && { ipRange: n.ipRange }),
    ...(n.gateway && { gateway: n.gateway }),
    ...(n.auxAddresses && { auxAddresses: n.auxAddresses }),
    ...(n.enableIPv6 && { ipv6: true }),
    ...(n.subnet6 && { subnet6: n.subnet6 }),
    ...(n.gateway6 && { gateway6: n.gateway6 }),
    options: n.options,
    labels: { ...n.labels, [LABEL.project]: p.name, [LABEL.network]: n.key },
  };
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
    await networkCreate(ctx, networkRequest(p, n));
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
      for (const c of connect) await sandboxConnect(ctx, c.network, name, { aliases: c.aliases, ...(c.ip && { ip: c.ip }), ...(c.ip6 && { ip6: c.ip6 }) });
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
async function warnOrRemoveOrphans(ctx: Context, p: ComposeProject, o: UpOptions, ev: OnEvent): Promise<void> {
  const known = new Set(p.services.map((s) => s.name));
  const found = (await projectSandboxes(ctx, p.name)).filter((sb) => !known.has(sb.labels?.[LABEL.service] ?? ''));
  if (!found.length) return;
  if (!o.removeOrphans) {
    ctx.warn(orphanWarning(found.map((sb) => sb.name)));
    return;
  }
  for (const sb of found) await removeProjectSandbox(ctx, sb, ev);
}

