// `nsnet compose ps`: the project's sandboxes with their live status.
import type { Context } from '../docker/context.js';
import { usingState } from '../docker/networks.js';
import { liveRecord } from '../docker/process.js';
import type { SandboxRecord } from '../docker/types.js';
import { LABEL, ofProject } from './labels.js';

export interface PsEntry {
  sandbox: SandboxRecord;
  service: string;
  status: SandboxRecord['status'];
  /** The networks it is on, by name; its mode (host, none, container:X) when it has no endpoint. */
  networks: string[];
}

/** `nsnet compose ps`: the project's sandboxes, by name, with their live status. */
export async function composePs(ctx: Context, project: string, services: string[] = []): Promise<PsEntry[]> {
  const rows = await usingState(ctx, async (s) => (await s.sandboxes.all()).filter(ofProject(project)).map((rec) => liveRecord(ctx, rec)).map((sb) => ({
    sandbox: sb,
    service: sb.labels?.[LABEL.service] ?? '',
    status: sb.status,
    networks: sb.endpoints.length ? sb.endpoints.map((e) => s.networks.find((n) => n.id === e.networkId)?.name ?? e.networkId) : [sb.networkMode],
  })));
  return rows
    .filter((r) => services.length === 0 || services.includes(r.service))
    .sort((a, b) => (a.sandbox.name < b.sandbox.name ? -1 : a.sandbox.name > b.sandbox.name ? 1 : 0));
}
