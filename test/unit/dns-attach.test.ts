// The DNS server's attach/detach of a sandbox as a plan (src/dns/attach.ts):
// the nft text handed to the kernel calls is the text the steps' equivalents
// show, and detaching a sandbox being removed leaves its rules to its namespace.
// The kernel calls are replaced by recorders here; test/kernel/dns.test.ts runs them for real.
import { fstatSync, openSync } from 'node:fs';
import { beforeEach, describe, expect, test, vi } from 'vitest';

const calls: { socketsBind: string[]; nftApply: string[]; fds: number[] } = { socketsBind: [], nftApply: [], fds: [] };
let ns = { dev: 1, ino: 100 };
vi.mock('../../src/kernel/netns.js', () => ({
  netnsOpenNameSync: (name: string) => ({ name, ...ns, close: async () => {} }),
}));
vi.mock('../../src/kernel/socket.js', () => ({
  socketsBind: async (_ns: unknown, _sockets: unknown, o: { nft: string }) => {
    calls.socketsBind.push(o.nft);
    calls.fds = [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')];
    return [{ fd: calls.fds[0], port: 40001 }, { fd: calls.fds[1], port: 40002 }];
  },
}));
vi.mock('../../src/kernel/nftables.js', () => ({
  nftApply: async (_ns: unknown, text: string) => {
    calls.nftApply.push(text);
    return '';
  },
}));

const { attachSteps, detachSteps } = await import('../../src/dns/attach.js');
const { DNS_REDIRECT_DELETE, dnsRedirect } = await import('../../src/dns/redirect.js');
import type { SandboxRecord } from '../../src/docker/types.js';

const sb = { id: 'a'.repeat(64), name: 'web', netns: 'web' } as SandboxRecord;
const serving = { query: () => {}, connection: () => {}, closed: () => {}, log: () => {} };
/** The nft text of an equivalent `ip netns exec NS nft -f - <<'EOF' ... EOF`. */
const heredoc = (line: string) => /<<'EOF'\n([\s\S]*)EOF/.exec(line)?.[1];

beforeEach(() => {
  calls.socketsBind = [];
  calls.nftApply = [];
  calls.fds = [];
  ns = { dev: 1, ino: 100 };
});

describe('attach plan', () => {
  test('two steps: sockets and redirect in one trip, then serving; each with its undo', () => {
    const att = attachSteps(sb, ['203.0.113.53'], serving);
    expect(att.steps.map((s) => s.title)).toEqual([
      'binding 127.0.0.11 udp and tcp in sandbox web, redirecting its port 53 to them',
      "serving sandbox web's queries on them",
    ]);
    expect(att.steps.map((s) => s.undo?.title)).toEqual(['deleting table ip nsnet_dns in sandbox web', "closing sandbox web's DNS sockets"]);
    expect(att.steps[0]!.equivalent[0]).toMatch(/^# .*\nip netns exec web nft -f - <<'EOF'\n[^]*\nEOF$/);
  });

  test('the nft text given to the kernel call is the text the equivalent shows (redirect.ts)', async () => {
    const att = attachSteps(sb, [], serving);
    await att.steps[0]!.do();
    expect(calls.socketsBind).toEqual([dnsRedirect('$port0', '$port1')]);
    expect(heredoc(att.steps[0]!.equivalent[0]!)).toBe(calls.socketsBind[0]);
    expect(() => fstatSync(calls.fds[0]!)).not.toThrow();
    await att.steps[0]!.undo!.do();
    expect(calls.nftApply).toEqual([DNS_REDIRECT_DELETE]);
    // Step 2 never adopted the sockets: the undo closed their fds.
    for (const fd of calls.fds) expect(() => fstatSync(fd)).toThrow(/EBADF/);
    expect(heredoc(att.steps[0]!.undo!.equivalent[0]!)).toBe(calls.nftApply[0]);
  });

  test('the undo deletes the rules only in the namespace it attached to, not a newer one under the same name', async () => {
    const att = attachSteps(sb, [], serving);
    await att.steps[0]!.do();
    ns = { dev: 1, ino: 101 }; // the sandbox was removed and made again
    await att.steps[0]!.undo!.do();
    expect(calls.nftApply).toEqual([]);
  });

  test('detaching: everything, or only the sockets when the rules go with the namespace (or a restarted server rewrites them)', () => {
    const att = attachSteps(sb, [], serving);
    expect(detachSteps(att, false)).toEqual(att.steps);
    expect(detachSteps(att, true)).toEqual([att.steps[1]]);
  });
});
