// nftables: the kernel's packet filter and NAT (what iptables-nft also
// drives underneath). nsnet writes rules as nft text and applies a whole
// buffer as one transaction inside the target namespace, in-process through
// libnftables: no `nft` child process, and either all of it applies or none.
//
//   ip netns exec web nft -f rules.nft
//   ip netns exec web nft list ruleset
//
// One exception to "everything through nft text": nftTableGet asks the kernel
// for a single table's attributes with one netlink request, for checks that
// must not cost a dump of every element (see native/nft_table.cc).
//
// Man pages: nft(8), libnftables(3).
import { native, type NativeNftFamily, type NativeNftTable } from '../native.js';
import { attempt } from './errors.js';
import type { Netns } from './netns.js';

/**
 * The shell commands that nftApply(text) amounts to: one `nft LINE` per line
 * when each line is a command of its own (element and rule changes), else the
 * text as a file on stdin (`nft -f -`, a table's whole definition).
 */
export function nftApplyCommand(ns: string | undefined, text: string): string[] {
  const exec = ns ? `ip netns exec ${ns} ` : '';
  const lines = text.split('\n').filter((l) => l.trim());
  if (lines.every((l) => /^(add|create|insert|delete|destroy|flush|replace) (element|rule) /.test(l))) return lines.map((l) => `${exec}nft ${l}`);
  return [`${exec}nft -f - <<'EOF'\n${text.endsWith('\n') ? text : `${text}\n`}EOF`];
}

/**
 * Applies nft commands (one or many lines, as in a file for `nft -f`) atomically.
 * Returns what nft printed (empty for changes).
 * Equivalent to: `ip netns exec NS nft -f FILE`
 */
export function nftApply(ns: Netns, text: string, o: { for?: string; what?: string } = {}): Promise<string> {
  const first = text.trim().split('\n')[0] ?? '';
  return attempt(o.what ?? `applying nftables rules in ${ns} (${first}${text.includes('\n') ? ' ...' : ''})`,
    nftApplyCommand(ns.name, text).join('\n'), () => native().nftApply(ns.fd, text), o.for);
}

/**
 * Lists the ruleset, or a part of it ("table inet nsnet"), as nft prints it.
 * Equivalent to: `ip netns exec NS nft list ruleset`
 */
export function nftList(ns: Netns, what = 'ruleset', o: { json?: boolean; handles?: boolean } = {}): Promise<string> {
  return attempt(`listing nftables ${what} in ${ns}`, `ip netns exec ${ns.name ?? '?'} nft ${o.json ? '-j ' : ''}${o.handles ? '-a ' : ''}list ${what}`,
    () => native().nftApply(ns.fd, `list ${what}`, { json: !!o.json, handles: !!o.handles }));
}

export type NftFamily = NativeNftFamily;
export type NftTable = NativeNftTable;

/**
 * A table's own attributes: its handle (new each time the table is created,
 * as decimal text), use count, flags and comment; never its contents, so the
 * cost does not grow with the elements it holds. Rejects with ENOENT
 * (isNotFound) when the table does not exist.
 * Equivalent to: `ip netns exec NS nft -a list tables` (the comment: `nft list table FAMILY NAME`)
 */
export function nftTableGet(ns: Netns, family: NftFamily, name: string, o: { for?: string } = {}): Promise<NftTable> {
  return attempt(`reading nftables table ${family} ${name} in ${ns}`, `ip netns exec ${ns.name ?? '?'} nft -a list tables`,
    () => native().nftTableGet(ns.fd, family, name), o.for);
}
