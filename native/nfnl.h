// nfnetlink: the netlink family (NETLINK_NETFILTER) that nftables speaks
// underneath libnftables. nsnet applies rules through libnftables (nft text);
// it talks nfnetlink directly only where nft's text layer would cost too
// much: asking for one table (nft_table.cc) and watching events (nft_monitor.cc).
//
// An nftables message is a netlink header, a struct nfgenmsg, then attributes,
// whose integers are big-endian (unlike rtnetlink's):
//
//   | nlmsghdr                         | nfgenmsg                 | attributes ... |
//   | len | type | flags | seq | pid   | family | version | res_id |                |
//           type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*
//
// See linux/netfilter/nfnetlink.h, nf_tables.h, and libnftnl's src/table.c.
#pragma once

#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "error.h"
#include "fd.h"
#include "nlmsg.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

namespace nsnet {

constexpr uint16_t NftMsgType(uint16_t msg) { return (NFNL_SUBSYS_NFTABLES << 8) | msg; }

// nft's family words and the kernel's NFPROTO_* numbers.
inline const char* NftFamilyName(uint8_t f) {
  switch (f) {
    case NFPROTO_UNSPEC: return "unspec";
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_NETDEV: return "netdev";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_IPV6: return "ip6";
    default: return "unknown";
  }
}

// -1 for a word nft doesn't know.
inline int NftFamilyFromName(const std::string& s) {
  for (uint8_t f : {NFPROTO_INET, NFPROTO_IPV4, NFPROTO_ARP, NFPROTO_NETDEV, NFPROTO_BRIDGE, NFPROTO_IPV6})
    if (s == NftFamilyName(f)) return f;
  return -1;
}

// A request: header plus nfgenmsg (version NFNETLINK_V0, res_id 0).
inline NlMsg NfnlRequest(uint16_t msg, uint8_t family, uint16_t flags = 0) {
  NlMsg m(NftMsgType(msg), flags);
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = 0;
  m.PutHeader(g);
  return m;
}

// The attributes after the nfgenmsg of a received message; false when too short.
inline bool NfnlAttrs(const nlmsghdr* h, std::vector<const rtattr*>& tb, uint16_t max, uint8_t* family) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return false;
  const auto* g = static_cast<const nfgenmsg*>(NLMSG_DATA(h));
  if (family) *family = g->nfgen_family;
  size_t off = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)));
  const auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(h) + off);
  ParseAttrs(a, h->nlmsg_len > off ? h->nlmsg_len - off : 0, tb, max);
  return true;
}

inline uint32_t AttrBe32(const rtattr* a) { return be32toh(AttrU32(a)); }
inline uint64_t AttrBe64(const rtattr* a) {
  uint64_t v = 0;
  std::memcpy(&v, RTA_DATA(a), RTA_PAYLOAD(a) < sizeof v ? RTA_PAYLOAD(a) : sizeof v);
  return be64toh(v);
}

// Opens NETLINK_NETFILTER in the calling thread's network namespace (call it
// on a RunInNetns thread): the socket keeps that namespace for good.
inline UniqueFd NfnlOpen(const char* op, int extraFlags = 0) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | extraFlags, NETLINK_NETFILTER));
  if (!fd.Valid()) ThrowErrno("socket", op);
  int one = 1;
  ::setsockopt(fd.Get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd.Get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) ThrowErrno("bind", op);
  return fd;
}

}  // namespace nsnet
