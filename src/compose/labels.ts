// How nsnet finds a compose project's objects again, as Compose does: by
// their labels.
//   com.docker.compose.project   on every network and sandbox of the project
//   com.docker.compose.network   the network's key in the file
//   com.docker.compose.service   the sandbox's service
//   com.docker.compose.config-hash  what the service looked like when it was made:
//                                   `up` leaves an unchanged, running sandbox alone
//                                   and recreates one whose definition changed.
import type { Context } from '../docker/context.js';
import { usingState } from '../docker/networks.js';
import type { SandboxRecord } from '../docker/types.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  network: 'com.docker.compose.network',
  number: 'com.docker.compose.container-number',
  hash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
} as const;

/** A filter: the sandbox belongs to `project`. */
export const ofProject = (project: string) => (sb: SandboxRecord) => sb.labels?.[LABEL.project] === project;

/** The project's sandboxes (reads every record). */
export function projectSandboxes(ctx: Context, project: string): Promise<SandboxRecord[]> {
  return usingState(ctx, async (s) => (await s.sandboxes.all()).filter(ofProject(project)));
}

/** Compose's words for sandboxes of the project whose service is no longer in the file. */
export const orphanWarning = (names: string[]) =>
  `WARN[0000] Found orphan sandboxes ([${names.join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`;
