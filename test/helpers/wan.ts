// The fake WAN of the tour, for tests that need an outside world (src/tour/wan.ts).
import { execa } from 'execa';
import { makeWan, WAN, type Wan } from '../../src/tour/wan.js';
import { TestHost } from './host.js';
import { tag } from './kernel.js';
import { startWho } from './who.js';

export { WAN, makeWan, type Wan };

/**
 * A fake machine (TestHost) with a fake WAN behind it and, with `who`, the
 * who-am-I HTTP server on WAN.server:80; stop() removes all of it.
 */
export async function wanHost(o: { who?: boolean } = {}): Promise<{ h: TestHost; wan: Wan; stop(): Promise<void> }> {
  const h = await TestHost.make(tag());
  const wan = await makeWan(h.ns, h.tag);
  const server = o.who ? startWho(wan.name, WAN.server) : undefined;
  return {
    h,
    wan,
    async stop() {
      await server?.stop();
      await h.cleanup();
      await wan.remove().catch(() => {});
    },
  };
}

/** The fake WAN's IPv6 side: 2001:db8:ffff::/64 (documentation range) on the same link. */
export const WAN6 = {
  hostAddr: '2001:db8:ffff::2',
  /** The WAN router, which also plays the server (the who-am-I server listens here). */
  gateway: '2001:db8:ffff::1',
} as const;

/**
 * Gives the fake WAN an IPv6 side: addresses on both ends of the uplink
 * (nodad: usable at once) and the host's default IPv6 route. The WAN has no
 * route to any sandbox subnet: only masqueraded traffic gets answers.
 */
export async function addWan6(h: TestHost, wan: Wan): Promise<void> {
  const ip = (ns: string, args: string[]) => execa('ip', ['-n', ns, ...args]);
  await execa('ip', ['netns', 'exec', h.name, 'sysctl', '-qw', `net.ipv6.conf.${wan.hostIf}.disable_ipv6=0`]);
  await execa('ip', ['netns', 'exec', wan.name, 'sysctl', '-qw', 'net.ipv6.conf.wan0.disable_ipv6=0']);
  await ip(h.name, ['addr', 'add', `${WAN6.hostAddr}/64`, 'dev', wan.hostIf, 'nodad']);
  await ip(wan.name, ['addr', 'add', `${WAN6.gateway}/64`, 'dev', 'wan0', 'nodad']);
  await ip(h.name, ['-6', 'route', 'add', 'default', 'via', WAN6.gateway]);
}
