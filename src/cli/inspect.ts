// `nsnet inspect` and `nsnet network inspect`: finding each object and
// printing them all, as Docker does.
import type { Context } from '../docker/context.js';
import { forEachRef, NsnetError } from '../docker/errors.js';
import { inspectNetwork } from '../docker/network.js';
import { findNetwork } from '../docker/networks.js';
import { liveRecord, logFile } from '../docker/process.js';
import { readableNetworks } from '../docker/repair.js';
import { inspectSandbox } from '../docker/sandbox-view.js';
import { findSandbox } from '../docker/sandboxes.js';
import type { State } from '../docker/types.js';
import { DamagedStateError } from '../state/damaged.js';
import { recordHint } from '../state/sandbox-store.js';
import type { Io } from './dispatch.js';
import { renderInspect } from './format.js';
import { inspectJson } from './output.js';

type Template = NonNullable<ReturnType<typeof import('./format.js').inspectFormat>>;

/** `nsnet inspect REF`: a sandbox, or else a network (`--type` picks one). */
export async function inspectOne(ctx: Context, s: State, ref: string, type: 'sandbox' | 'network' | undefined): Promise<object> {
  if (type !== 'network') {
    try {
      const sb = liveRecord(ctx, await findSandbox(s, ref));
      const owner = sb.containerOf ? await s.sandboxes.byId(sb.containerOf) : sb;
      return inspectSandbox(sb, owner, readableNetworks(ctx, s), sb.status, { etcNetns: ctx.etcNetns, logPath: logFile(ctx, sb) });
    } catch (e) {
      if (!(e instanceof NsnetError && e.kind === 'NotFound')) throw e;
      // A record gone while the id index still names it: as damaged as a broken file.
      const orphan = (await s.sandboxes.scan()).damaged.find((d) => d.name === ref);
      if (orphan) throw new DamagedStateError(orphan.path, orphan.problem, recordHint(orphan.name));
      if (type === 'sandbox') throw e;
    }
  }
  try {
    return inspectNetwork(findNetwork(s, ref), await s.sandboxes.all());
  } catch (e) {
    if (e instanceof NsnetError && e.kind === 'NotFound') throw new NsnetError('NotFound', `No such object: ${ref}`);
    throw e;
  }
}

/**
 * `inspect` and `network inspect`, as Docker does them: every object found is
 * printed (`[]` when none is; with `-f TEMPLATE`, one line each), then each
 * one that isn't is an error.
 */
export async function inspectEach(io: Io, refs: string[], one: (ref: string) => Promise<object>, template?: Template): Promise<number> {
  const objects: object[] = [];
  // Docker prints an empty template result too (an empty line), but nothing for no objects.
  const print = (objs: object[]) => (template ? objs.length && io.out(renderInspect(template, objs)) : io.out(inspectJson(objs)));
  try {
    await forEachRef(refs, async (ref) => {
      objects.push(await one(ref));
    });
  } catch (e) {
    if (e instanceof NsnetError && e.kind === 'NotFound') print(objects);
    throw e;
  }
  print(objects);
  return 0;
}
