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
// Re-applying replaces the table in one transaction (the ports change when
// the DNS server restarts).
export const DNS_TABLE = 'nsnet_dns';
export const DNS_ADDRESS = '127.0.0.11';

export function dnsRedirect(udpPort: number, tcpPort: number): string {
  return `add table ip ${DNS_TABLE}
delete table ip ${DNS_TABLE}
table ip ${DNS_TABLE} {
	chain output {
		type nat hook output priority -100; policy accept;
		ip daddr ${DNS_ADDRESS} udp dport 53 dnat to ${DNS_ADDRESS}:${udpPort}
		ip daddr ${DNS_ADDRESS} tcp dport 53 dnat to ${DNS_ADDRESS}:${tcpPort}
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr ${DNS_ADDRESS} udp sport ${udpPort} snat to :53
		ip saddr ${DNS_ADDRESS} tcp sport ${tcpPort} snat to :53
	}
}
`;
}
