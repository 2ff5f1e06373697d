// The 127.0.0.11 trick, as nft text for the sandbox's own namespace.
//
// Docker's embedded DNS listens inside each container on 127.0.0.11 at two
// random ports (UDP and TCP) and redirects port 53 to them in the
// container's nat table (iptables chains DOCKER_OUTPUT / DOCKER_POSTROUTING,
// moby resolver_unix.go), so port 53 stays free for the container's own use.
// nsnet writes the same four rules with nftables, in a table of its own
// inside the sandbox's namespace:
//
//   ip netns exec web nft list table ip nsnet_dns
//   ip netns exec web ss -lntu          127.0.0.11 on two random ports, no process
//
// Applying again (the ports change when the DNS server restarts) flushes the
// two chains and writes the rules anew, in one transaction. It never deletes
// the table: deleting nftables objects makes the kernel wait for an RCU grace
// period (~15 ms here), 40 times what the whole table costs to create.
export const DNS_TABLE = 'nsnet_dns';
export const DNS_ADDRESS = '127.0.0.11';

/** The ports are numbers, or nft variables ("$port0") that socketsBind defines. */
export function dnsRedirect(udpPort: number | string, tcpPort: number | string): string {
  return `table ip ${DNS_TABLE} {
	chain output {
		type nat hook output priority -100; policy accept;
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
	}
}
flush chain ip ${DNS_TABLE} output
flush chain ip ${DNS_TABLE} postrouting
add rule ip ${DNS_TABLE} output ip daddr ${DNS_ADDRESS} udp dport 53 dnat to ${DNS_ADDRESS}:${udpPort}
add rule ip ${DNS_TABLE} output ip daddr ${DNS_ADDRESS} tcp dport 53 dnat to ${DNS_ADDRESS}:${tcpPort}
add rule ip ${DNS_TABLE} postrouting ip saddr ${DNS_ADDRESS} udp sport ${udpPort} snat to :53
add rule ip ${DNS_TABLE} postrouting ip saddr ${DNS_ADDRESS} tcp sport ${tcpPort} snat to :53
`;
}

/** Takes the redirect away (the DNS server detaching from a live sandbox). */
export const DNS_REDIRECT_DELETE = `delete table ip ${DNS_TABLE}\n`;

/**
 * The two ports dnsRedirect sent port 53 to, read back from `nft list table
 * ip nsnet_dns` (what `nsnet graph` draws); undefined if either rule is missing.
 */
export function parseDnsRedirect(listing: string): { udp: number; tcp: number } | undefined {
  const port = (proto: string) => new RegExp(`${proto} dport 53 dnat (?:ip )?to ${DNS_ADDRESS.replace(/\./g, '\\.')}:(\\d+)`).exec(listing)?.[1];
  const udp = port('udp'), tcp = port('tcp');
  return udp && tcp ? { udp: Number(udp), tcp: Number(tcp) } : undefined;
}
