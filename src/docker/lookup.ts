// Finding sandboxes as Docker finds containers: by name, full id or a unique
// id prefix; and the sandbox whose namespace a container: sandbox uses.
import { invalidArg, notFound } from './errors.js';
import type { SandboxRecord, State } from './types.js';

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
