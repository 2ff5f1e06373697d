// A libmnl-sized netlink message builder and attribute parser.
//
// A netlink message is a header, a family header, then attributes
// (rtnetlink(7), netlink(7)). Everything is padded to 4 bytes (NLMSG_ALIGN,
// RTA_ALIGN):
//
//   |<----------- nlmsghdr ---------->|<- family hdr ->|<-- attributes ...-->|
//   +----------+-------+-------+-----+-----+---------+------+------+--------+
//   | len (32) | type  | flags | seq | pid | ifinfo- | rta  | rta  | nested |
//   |          | (16)  | (16)  |(32) |(32) | msg,... | len  | type | rta... |
//   +----------+-------+-------+-----+-----+---------+------+------+--------+
//
//   one attribute:  +--------+--------+-------------------+-----+
//                   | len 16 | type16 |  payload          | pad |
//                   +--------+--------+-------------------+-----+
//                   len counts header + payload, not the padding.
//
// A nested attribute (IFLA_LINKINFO, VETH_INFO_PEER) is an attribute whose
// payload is more attributes: NestStart() writes the header and NestEnd()
// fixes its length once the inner attributes are in. See libmnl's
// src/attr.c and iproute2's lib/libnetlink.c (addattr_l, addattr_nest).
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nsnet {

class NlMsg {
 public:
  NlMsg(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    auto* h = Hdr();
    h->nlmsg_len = NLMSG_HDRLEN;
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
  }

  // The family header (ifinfomsg, ifaddrmsg, rtmsg) right after nlmsghdr.
  template <typename T>
  void PutHeader(const T& fam) { Append(&fam, sizeof fam); }

  void Put(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    a.rta_type = type;
    Append(&a, sizeof a, false);
    Append(data, len);
  }
  void PutU8(uint16_t type, uint8_t v) { Put(type, &v, sizeof v); }
  void PutU32(uint16_t type, uint32_t v) { Put(type, &v, sizeof v); }
  void PutS32(uint16_t type, int32_t v) { Put(type, &v, sizeof v); }
  void PutStr(uint16_t type, const std::string& s) { Put(type, s.c_str(), s.size() + 1); }
  void PutBytes(uint16_t type, const std::vector<uint8_t>& b) { Put(type, b.data(), b.size()); }

  // Returns the offset of the nest's header; pass it to NestEnd.
  size_t NestStart(uint16_t type) {
    size_t off = buf_.size();
    rtattr a{};
    a.rta_len = RTA_LENGTH(0);
    a.rta_type = type;
    Append(&a, sizeof a);
    return off;
  }
  void NestEnd(size_t off) {
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + off);
    a->rta_len = static_cast<uint16_t>(buf_.size() - off);
  }

  nlmsghdr* Hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const uint8_t* Data() const { return buf_.data(); }
  size_t Size() const { return buf_.size(); }

 private:
  void Append(const void* p, size_t n, bool pad = true) {
    size_t at = buf_.size();
    size_t padded = pad ? NLMSG_ALIGN(n) : n;
    buf_.resize(at + padded, 0);
    if (n) std::memcpy(buf_.data() + at, p, n);
    Hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }

  std::vector<uint8_t> buf_;
};

// Fills tb[type] with the attributes found in [attrs, attrs+len); the last one
// of each type wins, as in iproute2's parse_rtattr. Types above max are skipped.
inline void ParseAttrs(const rtattr* attrs, size_t len, std::vector<const rtattr*>& tb,
                       uint16_t max) {
  tb.assign(max + 1, nullptr);
  int remaining = static_cast<int>(len);
  for (const rtattr* a = attrs; RTA_OK(a, remaining); a = RTA_NEXT(a, remaining)) {
    uint16_t type = a->rta_type & NLA_TYPE_MASK;
    if (type <= max) tb[type] = a;
  }
}

inline void ParseNested(const rtattr* nest, std::vector<const rtattr*>& tb, uint16_t max) {
  ParseAttrs(static_cast<const rtattr*>(RTA_DATA(nest)), RTA_PAYLOAD(nest), tb, max);
}

inline uint32_t AttrU32(const rtattr* a) {
  uint32_t v = 0;
  std::memcpy(&v, RTA_DATA(a), RTA_PAYLOAD(a) < sizeof v ? RTA_PAYLOAD(a) : sizeof v);
  return v;
}
inline int32_t AttrS32(const rtattr* a) { return static_cast<int32_t>(AttrU32(a)); }
inline uint8_t AttrU8(const rtattr* a) { return *static_cast<const uint8_t*>(RTA_DATA(a)); }
inline std::string AttrStr(const rtattr* a) {
  const char* s = static_cast<const char*>(RTA_DATA(a));
  return std::string(s, strnlen(s, RTA_PAYLOAD(a)));
}
inline std::vector<uint8_t> AttrBytes(const rtattr* a) {
  const uint8_t* p = static_cast<const uint8_t*>(RTA_DATA(a));
  return std::vector<uint8_t>(p, p + RTA_PAYLOAD(a));
}

}  // namespace nsnet
