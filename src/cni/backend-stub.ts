// STUB, for compilation only until cnicore's src/cni/backend.ts lands: the
// lead replaces main.ts's import of this file with backend.ts and deletes it.
// Every command that needs the system answers "not available" (code 50).
import { CNI_ERR, CniError, type CniBackend } from './types.js';

const notYet = async (): Promise<never> => {
  throw new CniError(CNI_ERR.notAvailable, 'nsnet CNI backend not built in (src/cni/backend-stub.ts)');
};

export const cniBackend: CniBackend = { add: notYet, del: notYet, check: notYet, gc: notYet, status: notYet };
