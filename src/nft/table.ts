// nsnet's firewall, as nft text: an `ip nsnet` and an `ip6 nsnet` table for
// NAT, published ports, isolation and --internal (the same sets, maps and
// rules in each family, from one template), and one `bridge nsnet` table for
// enable_icc=false (family-blind: it drops IPv6 frames too) and for keeping
// dual-stack sandboxes' MLD reports off the bridge (MLD_QUIET_GROUP). Pure functions:
// the text is generated here, golden-tested, and applied in one transaction
// by kernel/nftables.ts.
//
//   nft list table ip nsnet
//   nft list table ip6 nsnet      (elements only for dual-stack networks)
//   nft list table bridge nsnet
//
// Two tables rather than one `inet` table: each family's table reads as the
// other's (ipv4_addr where the other has ipv6_addr), an IPv4-only network's
// elements stay exactly what they were, and moby's nftables backend splits
// the families the same way (docs/ipv6.md).
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
// - ::1 is not a way in over IPv6 (the `output` chain of ip6 leaves it
//   alone): the kernel has no route_localnet for IPv6 (see Family below).

export const TABLE = 'nsnet';

/**
 * The skeleton: sets, maps, chains and the fixed rules. Each table carries
 * a comment with MARK, so a table made from another layout (an older nsnet,
 * a hand-made one, a restored dump) reads as stale and is rebuilt.
 */
export function skeleton(): string {
  return body.replaceAll('@MARK@', MARK);
}

/** What differs between the `ip` and the `ip6` table: names of things, and the loopback. */
interface Family {
  name: 'ip' | 'ip6';
  addr: 'ipv4_addr' | 'ipv6_addr';
  /**
   * Published ports from the host itself: DNAT in output for every local
   * address. IPv4's 127.0.0.1 works thanks to route_localnet plus the
   * masquerade of 127/8 below. IPv6 has no route_localnet: a reply de-NATed
   * back to ::1 arrives on the bridge, and the kernel's input route lookup
   * for a loopback destination only matches on lo (rt6_need_strict), so it is
   * dropped and the connection hangs. ::1 is left alone instead: refused at
   * once (docs/ipv6.md), and every other address of the host works.
   */
  outputFrom: string;
  loopbackMasq: string;
  /**
   * Neighbour discovery between sandboxes of one bridge. With br_netfilter
   * (bridge-nf-call-ip6tables=1) frames bridged between two ports cross the
   * forward hook, and NDP's are multicast (ff02::1:ffXX:XXXX) or link-local,
   * which same_subnet does not cover; the kernel never routes either (link
   * scope), so what reaches forward with them is bridged, never routed.
   * IPv4's counterpart, ARP, is not IP.
   */
  linkScope: string;
}

const IP: Family = { name: 'ip', addr: 'ipv4_addr', outputFrom: '', loopbackMasq: '\t\toifname @bridges ip saddr 127.0.0.0/8 masquerade\n', linkScope: '' };
const IP6: Family = {
  name: 'ip6', addr: 'ipv6_addr', outputFrom: 'ip6 daddr != ::1 ', loopbackMasq: '',
  linkScope: '\t\tip6 daddr { fe80::/10, ff02::/16 } accept\n\t\tip6 saddr fe80::/10 accept\n',
};

/** One family's table: the same sets, maps and rules in `ip` and `ip6`. */
const familyBody = (f: Family) => `table ${f.name} ${TABLE} {
	comment "@MARK@"
	set bridges { type ifname; }
	set internal { type ifname; }
	set subnets { type ${f.addr}; flags interval; }
	set masq_subnets { type ${f.addr}; flags interval; }
	set masq_exempt { type ${f.addr} . ${f.addr}; flags interval; }
	set same_subnet { type ${f.addr} . ${f.addr}; flags interval; }
	map ports { type inet_proto . inet_service : ${f.addr} . inet_service; }
	map ports_addr { type ${f.addr} . inet_proto . inet_service : ${f.addr} . inet_service; }
	set host_dns { type ${f.addr}; }

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump publish
	}
	chain output {
		type nat hook output priority -100; policy accept;
		${f.outputFrom}fib daddr type local jump publish
	}
	chain publish {
		dnat ${f.name} to ${f.name} daddr . meta l4proto . th dport map @ports_addr
		dnat ${f.name} to meta l4proto . th dport map @ports
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname != @bridges ${f.name} saddr . ${f.name} daddr @masq_exempt accept
		oifname != @bridges ${f.name} saddr @masq_subnets masquerade
${f.loopbackMasq}		oifname @bridges ct status dnat ${f.name} saddr @subnets masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname @bridges ct status dnat accept
		${f.name} saddr . ${f.name} daddr @same_subnet accept
${f.linkScope}		iifname @internal drop
		oifname @internal drop
		iifname @bridges oifname @bridges drop
		oifname @bridges ${f.name} daddr . ${f.name} saddr @masq_exempt accept
		oifname @bridges ct state new drop
	}
	chain input {
		type filter hook input priority filter; policy accept;
		${f.name} daddr @host_dns meta l4proto { tcp, udp } th dport 53 iifname != "lo" drop
	}
}
`;

/**
 * The interface group (IFLA_GROUP, `ip link add ... group N`) a dual-stack
 * sandbox's host-side port is born in; the bridge drops the MLD reports that
 * come in through ports of this group (the multicast groups their eth0 joins:
 * 4 per sandbox). A bridge without multicast snooping (this kernel has none)
 * floods them to every port, so each dual-stack sandbox took ~4 packets into
 * its IPv6 stack for every sandbox made after it: create time grew with N
 * (docs/bench/ipv6.md). Nothing on an nsnet bridge listens to them (no
 * querier, no multicast routing); neighbour discovery is not MLD. A group
 * rather than a set of port names: the port carries it from its creation
 * (the veth's own RTM_NEWLINK), so a create or rm makes no nftables
 * transaction for it, and it can't be missing while the port exists. The
 * number is "nsn6" in ASCII, far from the small groups people pick by hand;
 * the rule drops only MLD reports, which nothing on a bridge without a
 * querier needs.
 * See them: `ip link show | grep 'group 1853058614'`.
 */
export const MLD_QUIET_GROUP = 0x6e736e36;

const body = familyBody(IP) + familyBody(IP6) + `table bridge ${TABLE} {
	comment "@MARK@"
	set icc_off_ports { type ifname; }
	chain prerouting {
		type filter hook prerouting priority filter; policy accept;
		meta iifgroup ${MLD_QUIET_GROUP} icmpv6 type { mld-listener-report, mld2-listener-report, mld-listener-done } drop
	}
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

/** nsnet's tables, as messages name them. */
export const TABLES = `ip ${TABLE}, ip6 ${TABLE} and bridge ${TABLE}`;

/**
 * nsnet's tables, whole, as ONE transaction that replaces them: `add` then
 * `delete` makes the delete safe whether or not the table exists, and the
 * new tables follow in the same batch, so the kernel never shows a moment
 * without rules (either the old tables or the new ones), in either family.
 * No other table is touched.
 */
export function tablesText(c: FirewallContent): string {
  return (['ip', 'ip6', 'bridge'] as const).flatMap((f) => [`add table ${f} ${TABLE}`, `delete table ${f} ${TABLE}`]).join('\n') + '\n' + skeleton()
    + c.networks.map((n) => networkElements('add', n)).join('')
    + portElements('add', c.ports)
    + c.iccPorts.map((v) => iccElements('add', v)).join('');
}

/** What the firewall needs to know about a network. */
export interface NetworkRules {
  bridge: string;
  subnet: string;
  /** A dual-stack network's IPv6 subnet: the same elements in the ip6 table. */
  subnet6?: string | undefined;
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

/** The elements that put a network under the rules (or take it out): the ip table's, then the ip6 table's for a dual-stack one. */
export function networkElements(op: ElementOp, n: NetworkRules): string {
  const family = (f: 'ip' | 'ip6', subnet: string) => {
    const lines = [
      `${op} element ${f} ${TABLE} bridges { ${q(n.bridge)} }`,
      `${op} element ${f} ${TABLE} subnets { ${subnet} }`,
      `${op} element ${f} ${TABLE} same_subnet { ${subnet} . ${subnet} }`,
    ];
    if (f === 'ip' && n.hostDns) lines.push(`${op} element ${f} ${TABLE} host_dns { ${n.hostDns} }`);
    if (n.internal) lines.push(`${op} element ${f} ${TABLE} internal { ${q(n.bridge)} }`);
    else {
      if (n.masquerade) lines.push(`${op} element ${f} ${TABLE} masq_subnets { ${subnet} }`);
      // Also without masquerade: the forward chain reads it backwards to let the cluster's pods in (IPv4 only).
      if (f === 'ip' && n.clusterCidr) lines.push(`${op} element ${f} ${TABLE} masq_exempt { ${subnet} . ${n.clusterCidr} }`);
    }
    return lines;
  };
  return [...family('ip', n.subnet), ...(n.subnet6 ? family('ip6', n.subnet6) : [])].join('\n') + '\n';
}

/** A sandbox's host-side port on a bridge with enable_icc=false. */
export function iccElements(op: ElementOp, hostVeth: string): string {
  return `${op} element bridge ${TABLE} icc_off_ports { ${q(hostVeth)} }\n`;
}

export interface PortRule {
  proto: 'tcp' | 'udp';
  /** "" or "0.0.0.0" for every host address (IPv6 too when ip6 is set), "::" for every IPv6 one, or one address. */
  hostIp: string;
  hostPort: number;
  /** The sandbox's IPv4 address: where IPv4 connections go. */
  ip: string;
  /** The sandbox's IPv6 address (dual stack): where IPv6 connections go. */
  ip6?: string | undefined;
  port: number;
}

/**
 * DNAT map elements for published ports. A binding on every address ("0.0.0.0")
 * is an element in both families when the sandbox has an IPv6 address; "::"
 * or an IPv6 host address only in ip6; an IPv4 host address only in ip.
 */
export function portElements(op: ElementOp, ports: PortRule[]): string {
  const lines: string[] = [];
  const element = (f: 'ip' | 'ip6', p: PortRule, to: string, hostIp: string | undefined) => {
    const key = hostIp ? `${hostIp} . ${p.proto} . ${p.hostPort}` : `${p.proto} . ${p.hostPort}`;
    const value = op === 'add' ? ` : ${to} . ${p.port}` : '';
    lines.push(`${op} element ${f} ${TABLE} ${hostIp ? 'ports_addr' : 'ports'} { ${key}${value} }`);
  };
  for (const p of ports) {
    const any = !p.hostIp || p.hostIp === '0.0.0.0';
    const v6Host = p.hostIp.includes(':');
    if (!v6Host) element('ip', p, p.ip, any ? undefined : p.hostIp);
    if (p.ip6 && (any || v6Host)) element('ip6', p, p.ip6, any || p.hostIp === '::' ? undefined : p.hostIp);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
