// Errors from the kernel layer: the kernel's words, plus what nsnet was doing.
//
//   creating veth vethab12 (peer eth0 in netns web): EEXIST (File exists)
//   ^ what nsnet was doing                            ^ errno, as the kernel said it
//
// Every error keeps errno/code/syscall/op and the kernel's extended-ack
// message from the native layer, says the equivalent `ip`/`nft` command, and
// keeps the original error as `cause`.
import type { NativeError } from '../native.js';

export class KernelError extends Error {
  override name = 'KernelError';
  /** Negative errno, as in Node's SystemError ("-17"). */
  readonly errno: number;
  /** Symbolic errno ("EEXIST"). */
  readonly code: string;
  readonly syscall: string;
  /** The netlink request or addon verb that failed ("RTM_NEWLINK"). */
  readonly op: string | undefined;
  /** The kernel's extended-ack message, or nft's error text. */
  readonly extack: { message: string; offset?: number } | undefined;
  /** What nsnet was doing, without the kernel's detail. */
  readonly shortMessage: string;
  /** The iproute2 / nft command that does the same thing. */
  readonly equivalent: string | undefined;

  constructor(what: string, cause: NativeError, equivalent?: string) {
    const head = `${what}: ${cause.code}${cause.description ? ` (${cause.description})` : ''}`;
    const detail = cause.extack?.message;
    super(detail ? `${head}: ${detail}` : head, { cause });
    this.errno = cause.errno;
    this.code = cause.code;
    this.syscall = cause.syscall;
    this.op = cause.op;
    this.extack = cause.extack;
    this.shortMessage = detail ? `${head}: ${detail.split('\n')[0]}` : head;
    this.equivalent = equivalent;
  }
}

function isNative(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).errno === 'number';
}

/**
 * Runs one kernel request and, if it fails, says what was being done.
 * `what` is a phrase like "creating veth vethab12"; `forWhom` (optional)
 * names the user-level object ("sandbox web") the request was for.
 */
export async function attempt<T>(what: string, equivalent: string, run: () => Promise<T>, forWhom?: string): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const phrase = forWhom ? `${what} for ${forWhom}` : what;
    if (isNative(e)) throw new KernelError(phrase, e, equivalent);
    if (e instanceof Error) throw new Error(`${phrase}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Invalid input caught before any request reached the kernel. */
export function invalid(message: string): KernelError {
  return new KernelError(message, Object.assign(new Error(message), {
    errno: -22, code: 'EINVAL', description: 'Invalid argument', syscall: 'none',
  }));
}

const NOT_FOUND = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL']);

/** The object is already gone: teardown treats this as success. */
export function isNotFound(e: unknown): boolean {
  return e instanceof Error && NOT_FOUND.has((e as { code?: string }).code ?? '');
}

/** The object already exists. */
export function isExists(e: unknown): boolean {
  return e instanceof Error && (e as { code?: string }).code === 'EEXIST';
}
