// Container MAC addresses: 02:42 followed by the four bytes of the IPv4 address.
//
// Docker did this up to v27 (`GenerateMACFromIP`, still in lnw
// `netutils/utils.go`); v28 switched to random MACs plus gratuitous ARP.
// nsnet keeps the derived form: an address that is reused comes back with the
// same MAC, so neighbours' ARP caches stay right without any announcement.
// 0x02 in the first byte = locally administered, unicast.
//
//   ip -n SANDBOX link show eth0      shows it as link/ether 02:42:ac:11:00:02
import { ipv4ToInt } from './ip.js';

/** 172.17.0.2 -> "02:42:ac:11:00:02". */
export function macFromIPv4(ip: string): string {
  const n = ipv4ToInt(ip);
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A bridge's own MAC, fixed when the network is made: the network id's first
 * five bytes after 02 (locally administered, unicast). Without one, a bridge
 * takes the lowest MAC among its ports, which changes as sandboxes come and
 * go, and with it the gateway's MAC in every sandbox's ARP cache; Docker sets
 * a random one for the same reason (libnetwork bridge setupDevice).
 */
export function bridgeMac(networkId: string): string {
  if (!/^[0-9a-f]{10}/.test(networkId)) throw new Error(`bridgeMac: not a network id: ${networkId}`);
  return ['02', ...networkId.slice(0, 10).match(/../g)!].join(':');
}
