// Any error a CNI command ends with, as the spec's error result (SPEC.md
// "Error"): `{cniVersion, code, msg, details}` on stdout (libcni reads stdout,
// not stderr) and a non-zero exit. nsnet's own errors get a code:
//
//   CniError                      its code
//   NsnetError InvalidArgument    7  invalid network configuration
//   NsnetError Conflict/NotFound  101 nsnet's state refused (a name, address or port in use)
//   NsnetError Unavailable        50 a kernel or nftables feature nsnet needs is missing
//   lock busy (EAGAIN, EBUSY)     11 try again later
//   a KernelError (or caused by)  100, errno/syscall/extack and the equivalent command in details
//   anything else                 999 (the reference plugins' ErrInternal)
import { NsnetError } from '../docker/errors.js';
import { KernelError } from '../kernel/errors.js';
import { CNI_ERR, CniError } from './types.js';

/** The reference plugins' code for an error they did not classify (pkg/types ErrInternal). */
export const CNI_ERR_INTERNAL = 999;

const TRY_AGAIN = new Set(['EAGAIN', 'EWOULDBLOCK', 'EBUSY']);

/** The error as a CniError, keeping what it says. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (!(e instanceof Error)) return new CniError(CNI_ERR_INTERNAL, String(e));
  const kernel = findCause(e, (c): c is KernelError => c instanceof KernelError);
  const code = (findCause(e, (c): c is Error => typeof (c as { code?: unknown }).code === 'string') as { code?: string } | undefined)?.code;
  if (code && TRY_AGAIN.has(code) && !kernel) return new CniError(CNI_ERR.tryAgainLater, e.message, 'another nsnet command holds the lock; try again');
  if (kernel) return new CniError(CNI_ERR.kernel, e.message, kernelDetails(kernel));
  if (e instanceof NsnetError) {
    switch (e.kind) {
      case 'InvalidArgument':
        return new CniError(CNI_ERR.invalidConfig, e.message);
      case 'Conflict':
      case 'NotFound':
        return new CniError(CNI_ERR.state, e.message);
      case 'Unavailable':
        return new CniError(CNI_ERR.notAvailable, e.message);
      default:
        return new CniError(CNI_ERR_INTERNAL, e.message);
    }
  }
  return new CniError(CNI_ERR_INTERNAL, e.message);
}

function findCause<T>(e: unknown, test: (c: unknown) => c is T): T | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 10; c = (c as { cause?: unknown }).cause, depth++) if (test(c)) return c;
  return undefined;
}

function kernelDetails(k: KernelError): string {
  const parts = [`errno ${k.errno} ${k.code}`, `syscall ${k.syscall}`];
  if (k.op) parts.push(`op ${k.op}`);
  if (k.extack?.message) parts.push(`extack: ${k.extack.message}`);
  if (k.equivalent) parts.push(`equivalent: ${k.equivalent}`);
  return parts.join('; ');
}

/** The error result's JSON text; `cniVersion` is the configuration's when it was read, else the newest. */
export function formatError(e: CniError, cniVersion = '1.1.0'): string {
  return JSON.stringify({ cniVersion, code: e.code, msg: e.message, ...(e.details && { details: e.details }) });
}
