// The Docker layer's errors: a small set of kinds, with messages worded like
// Docker's so that scripts and people recognise them. The CLI exits with
// Docker's code for the command that failed (1 for most, 125 for `run`; the
// table is in docs/cli.md); the kind is for callers of the library and for --debug.
//
//   InvalidArgument  bad input          NotFound     no such network/sandbox
//   Conflict         in use, exists     Unavailable  a kernel or nftables feature is missing
//   Internal         anything else
export type ErrorKind = 'InvalidArgument' | 'NotFound' | 'Conflict' | 'Unavailable' | 'Internal';

export class NsnetError extends Error {
  override name = 'NsnetError';
  constructor(readonly kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const invalidArg = (m: string) => new NsnetError('InvalidArgument', m);
export const notFound = (m: string) => new NsnetError('NotFound', m);
export const conflict = (m: string) => new NsnetError('Conflict', m);

/** Wraps a pure-core validation error (plain Error) as InvalidArgument. */
export function asInvalid<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NsnetError) throw e;
    throw new NsnetError('InvalidArgument', (e as Error).message, { cause: e });
  }
}

/**
 * Runs `fn` for every ref, as `docker rm a b c` does: one that fails doesn't
 * stop the others. Returns the refs that succeeded; throws once at the end,
 * with every failure's message, if any failed.
 */
export async function forEachRef(refs: string[], fn: (ref: string) => Promise<void>): Promise<string[]> {
  const done: string[] = [];
  const errors: Error[] = [];
  for (const ref of refs) {
    try {
      await fn(ref);
      done.push(ref);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  if (!errors.length) return done;
  const kind = errors[0] instanceof NsnetError ? errors[0].kind : 'Internal';
  const error = errors.length === 1 ? errors[0]! : new NsnetError(kind, errors.map((e) => e.message).join('\n'));
  // Docker prints the ones that went, then the errors: the caller can too.
  throw Object.assign(error, { completed: done });
}

/** The refs a failed forEachRef did get through (printed before its error, as Docker does). */
export function completedRefs(e: unknown): string[] {
  return (e as { completed?: string[] } | undefined)?.completed ?? [];
}
