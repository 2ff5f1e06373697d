// A fake upstream network ("WAN") for the tour and the tests: an outside
// world on documentation prefixes (RFC 5737), in a namespace of its own.
//
//   [host ns] wh<tag> 198.51.100.2/24  <--veth-->  wan0 198.51.100.1/24 [wan ns]
//                                                  lo   203.0.113.1/32  ("a server on the internet")
//                                                       203.0.113.53/32 (its DNS server, when one is started)
//   host: default via 198.51.100.1
//
// Nothing real lives on these prefixes, and everything stays inside
// namespaces made for the purpose. Built with nsnet's own kernel API.
import { addrAdd } from '../kernel/addr.js';
import { linkGet, linkSet } from '../kernel/link.js';
import { netnsAdd, netnsDel, type Netns } from '../kernel/netns.js';
import { routeAdd } from '../kernel/route.js';
import { vethAdd } from '../kernel/veth.js';

export const WAN = {
  hostAddr: '198.51.100.2',
  gateway: '198.51.100.1',
  server: '203.0.113.1',
  dns: '203.0.113.53',
} as const;

export interface Wan {
  ns: Netns;
  name: string;
  /** The host's "uplink" interface (its eth0 on a real machine). */
  hostIf: string;
  remove(): Promise<void>;
}

export async function makeWan(host: Netns, tag: string): Promise<Wan> {
  const name = `wan-${tag}`;
  const ns = await netnsAdd(name);
  try {
    const hostIf = `wh${tag}`;
    const v = await vethAdd(host, { name: hostIf, up: true, peer: { name: 'wan0', netns: ns } });
    await addrAdd(host, v.link, `${WAN.hostAddr}/24`);
    const wan0 = { index: v.peerIndex, name: 'wan0' };
    await linkSet(ns, wan0, { up: true });
    const lo = await linkGet(ns, 'lo');
    await linkSet(ns, lo, { up: true });
    await addrAdd(ns, wan0, `${WAN.gateway}/24`);
    await addrAdd(ns, lo, `${WAN.server}/32`);
    await addrAdd(ns, lo, `${WAN.dns}/32`);
    await routeAdd(host, { dst: 'default', via: WAN.gateway });
    return { ns, name, hostIf, remove: () => netnsDel(ns) };
  } catch (e) {
    await netnsDel(ns).catch(() => {});
    throw e;
  }
}
