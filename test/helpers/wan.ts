// The fake WAN of the tour, for tests that need an outside world (src/tour/wan.ts).
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
