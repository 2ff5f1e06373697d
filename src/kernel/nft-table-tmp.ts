// TEMPORARY stand-in for the addon's nftTableGet (being written): lists the table as JSON.
import { nftList } from './nftables.js';
import { KernelError } from './errors.js';
import type { Netns } from './netns.js';

export async function nftTableGet(ns: Netns, family: string, name: string): Promise<{ handle: string; use: number; flags: number; comment?: string }> {
  const j = JSON.parse(await nftList(ns, `table ${family} ${name}`, { json: true })) as { nftables: { table?: { handle: number; comment?: string } }[] };
  const t = j.nftables.find((x) => x.table)!.table!;
  void KernelError;
  const comment = /^\s*comment "([^"]*)"/m.exec(await nftList(ns, `table ${family} ${name}`))?.[1];
  return { handle: String(t.handle), use: 0, flags: 0, ...(comment !== undefined && { comment }) };
}
export interface NftEvent { type: string; family?: string; table?: string }
export async function nftMonitor(_ns: Netns, _cb: (events: NftEvent[]) => void): Promise<{ close(): void }> {
  return { close() {} };
}
