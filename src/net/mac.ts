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

/**
 * Checks a MAC address given by the user (--mac-address, compose's
 * mac_address) and returns it as the kernel prints it (lower case, colons).
 * Six hex bytes, separated by ":" or "-" (as Go's net.ParseMAC reads the
 * 6-byte forms). An interface's own address must be unicast and not zero:
 * the kernel refuses a multicast one with a bare EADDRNOTAVAIL, and an
 * all-zero one is no address at all. Throws an Error saying which rule failed.
 */
export function checkMac(text: string): string {
  const m = /^([0-9A-Fa-f]{2})([:-])([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})$/.exec(text);
  if (!m) throw new Error('not a MAC address: six hex bytes are expected, like 02:42:ac:11:00:02');
  const bytes = [m[1], m[3], m[4], m[5], m[6], m[7]].map((b) => parseInt(b!, 16));
  if (bytes.every((b) => b === 0)) throw new Error('the all-zero MAC address cannot be used by an interface');
  if (bytes.every((b) => b === 255)) throw new Error('the broadcast MAC address cannot be used by an interface');
  // The I/G bit: 1 is a group (multicast) address, which no interface may own.
  if (bytes[0]! & 1) throw new Error('a multicast MAC address (the first byte is odd: its I/G bit is set) cannot be used by an interface');
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
