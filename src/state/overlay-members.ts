// Which of this host's sandboxes are on each overlay network: one file per
// network, <runDir>/overlay/<network id>, a sandbox id a line. Overlay
// networks live in the cluster store, not in networks.json, and their bridge
// and vxlan device on this host are made by the first sandbox to join and
// removed by the last to leave: this file is how a removal knows it is the
// last, without reading every sandbox record. In /run: gone after a reboot,
// as the kernel objects it accounts for.
//
// Callers hold the state lock (src/state/lock.ts) around read and write.
//   cat /run/nsnet/overlay/<network id>
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const file = (runDir: string, networkId: string) => path.join(runDir, 'overlay', networkId);

/** The sandbox ids on the network here ([] when none). */
export function readOverlayMembers(runDir: string, networkId: string): string[] {
  try {
    return readFileSync(file(runDir, networkId), 'utf8').split('\n').filter(Boolean);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Writes the list (atomically: temp + rename); an empty one removes the file. */
export function writeOverlayMembers(runDir: string, networkId: string, ids: string[]): void {
  const f = file(runDir, networkId);
  if (!ids.length) {
    rmSync(f, { force: true });
    return;
  }
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(`${f}.tmp`, `${[...new Set(ids)].join('\n')}\n`);
  renameSync(`${f}.tmp`, f);
}
