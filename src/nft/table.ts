// nsnet's firewall, as nft text: one `ip nsnet` table for NAT, published
// ports, isolation and --internal, and one `bridge nsnet` table for
// enable_icc=false. Pure functions: the text is generated here, golden-tested,
// and applied in one transaction by kernel/nftables.ts.
//
//   nft list table ip nsnet
//   nft list table bridge nsnet
//
// The rules are written once; everything per network, per sandbox and per
// port is an element of a set or map, so attaching the 1000th sandbox or
// publishing the 1000th port is one element add, as cheap as the first
// (moby's nftables backend and netavark's use the same idea; iptables chains
// that grow by a rule per container, as CNI's do, get slower with every one).
//
// What the rules achieve (Docker's, see shared/design/docker-behaviour.md §9-11):
// - masquerade: a network's traffic leaving the host gets the host's address,
//   except traffic to its cluster range (masq_exempt: pods on other nodes,
//   reached by routes, see their peers' own addresses);
// - published ports: DNAT on the host's addresses, from outside, from the
//   host itself (127.0.0.1 too: route_localnet on the bridge plus a
//   masquerade of 127/8), and from other sandboxes via the host's address
//   (hairpin: masqueraded so the reply comes back the same way);
// - isolation: nothing is *routed* between two nsnet networks; every
//   gateway stays reachable (that is input, not forward) and the host
//   reaches every sandbox (output). Traffic inside one network is accepted
//   first (same_subnet): with br_netfilter loaded (bridge-nf-call-iptables=1,
//   as Docker leaves it), frames bridged between two ports of one bridge
//   also cross the IP forward hook, with the bridge as both iif and oif;
// - no direct access from outside: a new connection routed into a bridge from
//   anywhere else (a LAN machine with a route to the subnet via this host) is
//   dropped unless it was DNATed by a published port, as Docker 28+ drops it,
//   or comes from the network's cluster range (masq_exempt read backwards:
//   pods on other nodes open connections to this node's pods);
// - --internal: nothing routed into or out of the network;
// - enable_icc=false: sandboxes on one bridge can't talk to each other.
//   Bridged frames never reach the IP forward hook; instead of turning on
//   br_netfilter (a global switch that sends *every* bridge on the host,
//   Docker's too, through the IP hooks), nsnet filters them in the `bridge`
//   family, by bridge port.
// - names for the host (com.nsnet.network.host_dns, docs/dns.md): the DNS
//   server listens on such a network's gateway, port 53; only the host's own
//   queries may reach it. A packet the host sends to one of its own addresses
//   comes in on lo; anything else to those addresses' port 53 (the network's
//   sandboxes via its bridge, another network's, the LAN) is dropped at input.
//
// Be aware:
// - A ruleset elsewhere on the host with a forward policy of drop (Docker's
//   iptables FORWARD, for one) also sees nsnet's packets; see docs/nat.md.
// - IPv4 only.

export const TABLE = 'nsnet';

/**
 * The skeleton: sets, maps, chains and the fixed rules. Each table carries
 * a comment with MARK, so a table made from another layout (an older nsnet,
 * a hand-made one, a restored dump) reads as stale and is rebuilt.
 */
export function skeleton(): string {
  return body.replaceAll('@MARK@', MARK);
}

const body = `table ip ${TABLE} {
	comment "@MARK@"
	set bridges { type ifname; }
	set internal { type ifname; }
	set subnets { type ipv4_addr; flags interval; }
	set masq_subnets { type ipv4_addr; flags interval; }
	set masq_exempt { type ipv4_addr . ipv4_addr; flags interval; }
	set same_subnet { type ipv4_addr . ipv4_addr; flags interval; }
	map ports { type inet_proto . inet_service : ipv4_addr . inet_service; }
	map ports_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
	set host_dns { type ipv4_addr; }

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump publish
	}
	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local jump publish
	}
	chain publish {
		dnat ip to ip daddr . meta l4proto . th dport map @ports_addr
		dnat ip to meta l4proto . th dport map @ports
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname != @bridges ip saddr . ip daddr @masq_exempt accept
		oifname != @bridges ip saddr @masq_subnets masquerade
		oifname @bridges ip saddr 127.0.0.0/8 masquerade
		oifname @bridges ct status dnat ip saddr @subnets masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname @bridges ct status dnat accept
		ip saddr . ip daddr @same_subnet accept
		iifname @internal drop
		oifname @internal drop
		iifname @bridges oifname @bridges drop
		oifname @bridges ip daddr . ip saddr @masq_exempt accept
		oifname @bridges ct state new drop
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip daddr @host_dns meta l4proto { tcp, udp } th dport 53 iifname != "lo" drop
	}
}
table bridge ${TABLE} {
	comment "@MARK@"
	set icc_off_ports { type ifname; }
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname @icc_off_ports ether type != arp drop
	}
}
`;

/** FNV-1a of the rules' text: a new layout is a new mark. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The comment on both of nsnet's tables: which rules layout they were built from. */
export const MARK = `nsnet layout ${fnv1a(body)}`;

export type ElementOp = 'add' | 'delete';

/** Everything nsnet's tables hold, as derived from its state (docker/firewall.ts). */
export interface FirewallContent {
  networks: NetworkRules[];
  ports: PortRule[];
  /** Host-side veths of sandboxes on networks with enable_icc=false. */
  iccPorts: string[];
}

/**
 * nsnet's tables, whole, as ONE transaction that replaces them: `add` then
 * `delete` makes the delete safe whether or not the table exists, and the
 * new tables follow in the same batch, so the kernel never shows a moment
 * without rules (either the old tables or the new ones). No other table is
 * touched.
 */
export function tablesText(c: FirewallContent): string {
  return [
    `add table ip ${TABLE}`, `delete table ip ${TABLE}`,
    `add table bridge ${TABLE}`, `delete table bridge ${TABLE}`,
  ].join('\n') + '\n' + skeleton()
    + c.networks.map((n) => networkElements('add', n)).join('')
    + portElements('add', c.ports)
    + c.iccPorts.map((v) => iccElements('add', v)).join('');
}

/** What the firewall needs to know about a network. */
export interface NetworkRules {
  bridge: string;
  subnet: string;
  internal: boolean;
  masquerade: boolean;
  /**
   * Pods across nodes (CNI clusterCIDR): traffic from the subnet to this
   * range is routed with its own source address, never masqueraded, and
   * connections from this range into the bridge are let in.
   */
  clusterCidr?: string | undefined;
  /** The gateway, when the DNS server answers the host's queries there (host_dns): only the host may reach its port 53. */
  hostDns?: string | undefined;
}

const q = (ifname: string) => JSON.stringify(ifname);

/** The elements that put a network under the rules (or take it out). */
export function networkElements(op: ElementOp, n: NetworkRules): string {
  const lines = [
    `${op} element ip ${TABLE} bridges { ${q(n.bridge)} }`,
    `${op} element ip ${TABLE} subnets { ${n.subnet} }`,
    `${op} element ip ${TABLE} same_subnet { ${n.subnet} . ${n.subnet} }`,
  ];
  if (n.hostDns) lines.push(`${op} element ip ${TABLE} host_dns { ${n.hostDns} }`);
  if (n.internal) lines.push(`${op} element ip ${TABLE} internal { ${q(n.bridge)} }`);
  else {
    if (n.masquerade) lines.push(`${op} element ip ${TABLE} masq_subnets { ${n.subnet} }`);
    // Also without masquerade: the forward chain reads it backwards to let the cluster's pods in.
    if (n.clusterCidr) lines.push(`${op} element ip ${TABLE} masq_exempt { ${n.subnet} . ${n.clusterCidr} }`);
  }
  return lines.join('\n') + '\n';
}

/** A sandbox's host-side port on a bridge with enable_icc=false. */
export function iccElements(op: ElementOp, hostVeth: string): string {
  return `${op} element bridge ${TABLE} icc_off_ports { ${q(hostVeth)} }\n`;
}

export interface PortRule {
  proto: 'tcp' | 'udp';
  /** "" or "0.0.0.0" for every host address. */
  hostIp: string;
  hostPort: number;
  ip: string;
  port: number;
}

/** DNAT map elements for published ports. */
export function portElements(op: ElementOp, ports: PortRule[]): string {
  return ports.map((p) => {
    const any = !p.hostIp || p.hostIp === '0.0.0.0';
    const key = any ? `${p.proto} . ${p.hostPort}` : `${p.hostIp} . ${p.proto} . ${p.hostPort}`;
    const value = op === 'add' ? ` : ${p.ip} . ${p.port}` : '';
    return `${op} element ip ${TABLE} ${any ? 'ports' : 'ports_addr'} { ${key}${value} }`;
  }).join('\n') + (ports.length ? '\n' : '');
}
