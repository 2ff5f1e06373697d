// `nsnet compose up|down|ps`: a compose project's networks and services,
// made with the same library calls as `nsnet network create`, `nsnet create`,
// `nsnet network connect` and a start, in one process: this is nsnet's batch
// path (one context, one open host namespace, no process per service).
//
//   up.ts              networks, then sandboxes in dependency order; undone if a step fails
//   down.ts            sandboxes, then networks, found by their labels
//   ps.ts              the project's sandboxes and their live status
//   service-request.ts what a service becomes (pure)
//   labels.ts          how a project's objects are found again
//   events.ts          what up and down report as they go
export { composeDown, type DownOptions } from './down.js';
export type { ComposeEvent, OnEvent } from './events.js';
export { LABEL, projectSandboxes } from './labels.js';
export { composePs, type PsEntry } from './ps.js';
export { configHash, selectServices, serviceRequest } from './service-request.js';
export { composeUp, networkRequest, type UpOptions } from './up.js';
