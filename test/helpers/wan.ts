// A fake upstream network ("WAN") for tests that need an outside world.
//
//   [host ns] wh<tag> 198.51.100.2/24  <--veth-->  wan0 198.51.100.1/24 [wan ns]
//                                                  lo   203.0.113.1/32  ("a server on the internet")
//                                                       203.0.113.53/32 (its DNS server, when a test starts one)
//   host: default via 198.51.100.1
//
// Both ranges are documentation prefixes (RFC 5737): nothing real lives there,
// and everything stays inside namespaces the test made itself. Built with
// nsnet's own API.
import { addrAdd, linkGet, linkSet, netnsAdd, netnsDel, routeAdd, vethAdd, type Netns } from '../../src/index.js';

export const WAN = {
  hostAddr: '198.51.100.2',
  gateway: '198.51.100.1',
  server: '203.0.113.1',
  /** Where a test's upstream DNS server listens (test/helpers/upstream-dns.ts). */
  dns: '203.0.113.53',
} as const;

export interface Wan {
  ns: Netns;
  name: string;
  /** The host's "uplink" interface (its eth0 in a real machine). */
  hostIf: string;
  remove(): Promise<void>;
}

export async function makeWan(host: Netns, t: string): Promise<Wan> {
  const name = `wan-${t}`;
  const ns = await netnsAdd(name);
  try {
    const hostIf = `wh${t}`;
    const v = await vethAdd(host, { name: hostIf, up: true, peer: { name: 'wan0', netns: ns } });
    await addrAdd(host, v.link, `${WAN.hostAddr}/24`);
    const wan0 = { index: v.peerIndex, name: 'wan0' };
    await linkSet(ns, wan0, { up: true });
    await linkSet(ns, await linkGet(ns, 'lo'), { up: true });
    await addrAdd(ns, wan0, `${WAN.gateway}/24`);
    await addrAdd(ns, await linkGet(ns, 'lo'), `${WAN.server}/32`);
    await addrAdd(ns, await linkGet(ns, 'lo'), `${WAN.dns}/32`);
    await routeAdd(host, { dst: 'default', via: WAN.gateway });
    return { ns, name, hostIf, remove: () => netnsDel(ns) };
  } catch (e) {
    await netnsDel(ns).catch(() => {});
    throw e;
  }
}
