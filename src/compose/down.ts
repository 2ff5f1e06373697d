// `nsnet compose down`: the project's sandboxes, then its networks, found by
// their labels (labels.ts), so it works without the file too.
import type { Context } from '../docker/context.js';
import { NsnetError } from '../docker/errors.js';
import { networkRemove, usingState } from '../docker/networks.js';
import { sandboxRemove } from '../docker/process.js';
import type { NetworkRecord, SandboxRecord } from '../docker/types.js';
import type { OnEvent } from './events.js';
import { LABEL, orphanWarning, projectSandboxes } from './labels.js';
import type { ComposeProject } from './types.js';

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
      await removeProjectSandbox(ctx, sb, ev);
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

/** Removes one of the project's sandboxes, reporting it; one already gone (with the namespace it shared) is fine. */
export async function removeProjectSandbox(ctx: Context, sb: SandboxRecord, ev: OnEvent): Promise<void> {
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

