// Addresses: RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR.
//
//   ip addr add 172.17.0.2/16 dev eth0      (addrAdd)
//   ip addr del 172.17.0.2/16 dev eth0      (addrDel)
//   ip addr show [dev eth0]                 (addrList)
//
// Like `ip`, an add sets both IFA_LOCAL (the interface's own address) and
// IFA_ADDRESS (on point-to-point links, the peer; otherwise the same).
// Adding an address also adds its prefix route (172.17.0.0/16 dev eth0
// proto kernel scope link) in the kernel.
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "args.h"
#include "nlsock.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct AddrReq {
  uint32_t index = 0;
  IpAddr address;
  uint8_t prefixlen = 0;
  std::optional<IpAddr> broadcast;
  std::optional<std::string> label;
  uint32_t flags = 0;  // IFA_F_*: nodad (IFA_F_NODAD) for IPv6 addresses
};

struct Addr {
  int family = 0;
  uint32_t index = 0;
  uint8_t prefixlen = 0;
  uint8_t scope = 0;
  uint32_t flags = 0;
  std::string address, local, broadcast, label;
};

AddrReq ReadAddrReq(const Napi::Object& o) {
  AddrReq r;
  auto index = OptU32(o, "index");
  auto address = OptIp(o, "address");
  auto prefixlen = OptInt(o, "prefixlen", 0, 128);
  if (!index || !address || !prefixlen)
    throw Napi::TypeError::New(o.Env(), "an address needs index, address and prefixlen");
  if (*prefixlen > (address->family == AF_INET ? 32 : 128))
    throw Napi::RangeError::New(o.Env(), "prefixlen too long for the address family");
  r.index = *index;
  r.address = *address;
  r.prefixlen = static_cast<uint8_t>(*prefixlen);
  r.broadcast = OptIp(o, "broadcast");
  r.label = OptStr(o, "label");
  if (auto f = OptU32(o, "flags")) r.flags = *f;
  return r;
}

void PutAddr(NlMsg& m, const AddrReq& r) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(r.address.family);
  ifa.ifa_prefixlen = r.prefixlen;
  ifa.ifa_index = r.index;
  ifa.ifa_flags = static_cast<uint8_t>(r.flags & 0xff);
  m.PutHeader(ifa);
  m.PutBytes(IFA_LOCAL, r.address.bytes);
  m.PutBytes(IFA_ADDRESS, r.address.bytes);
  if (r.broadcast) m.PutBytes(IFA_BROADCAST, r.broadcast->bytes);
  if (r.label) m.PutStr(IFA_LABEL, *r.label);
  if (r.flags) m.PutU32(IFA_FLAGS, r.flags);
}

Addr ParseAddr(const nlmsghdr* h) {
  Addr a;
  const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
  a.family = ifa->ifa_family;
  a.index = ifa->ifa_index;
  a.prefixlen = ifa->ifa_prefixlen;
  a.scope = ifa->ifa_scope;
  a.flags = ifa->ifa_flags;
  std::vector<const rtattr*> tb;
  ParseAttrs(IFA_RTA(ifa), IFA_PAYLOAD(h), tb, IFA_MAX);
  if (tb[IFA_ADDRESS]) a.address = FormatIp(a.family, RTA_DATA(tb[IFA_ADDRESS]));
  if (tb[IFA_LOCAL]) a.local = FormatIp(a.family, RTA_DATA(tb[IFA_LOCAL]));
  if (tb[IFA_BROADCAST]) a.broadcast = FormatIp(a.family, RTA_DATA(tb[IFA_BROADCAST]));
  if (tb[IFA_LABEL]) a.label = AttrStr(tb[IFA_LABEL]);
  if (tb[IFA_FLAGS]) a.flags = AttrU32(tb[IFA_FLAGS]);
  return a;
}

Napi::Value AddrToJs(Napi::Env env, const Addr& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", a.family == AF_INET ? 4 : 6);
  o.Set("index", a.index);
  // `ip addr` prints IFA_LOCAL as the address (IFA_ADDRESS is the peer on ptp links).
  o.Set("address", a.local.empty() ? a.address : a.local);
  o.Set("prefixlen", a.prefixlen);
  o.Set("scope", a.scope == RT_SCOPE_UNIVERSE ? "global" : a.scope == RT_SCOPE_LINK ? "link" : a.scope == RT_SCOPE_HOST ? "host" : std::to_string(a.scope));
  o.Set("flags", a.flags);
  if (!a.broadcast.empty()) o.Set("broadcast", a.broadcast);
  if (!a.label.empty()) o.Set("label", a.label);
  return o;
}

Napi::Value AddrChange(const Napi::CallbackInfo& info, uint16_t type, const char* verb, const char* op) {
  int fd = ArgFd(info, 0);
  auto req = std::make_shared<AddrReq>(ReadAddrReq(ArgObject(info, 1)));
  uint16_t flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0;
  return Task<Unit>::Queue(
      info.Env(), verb,
      [fd, req, type, flags, op] {
        NlMsg m(type, flags);
        PutAddr(m, *req);
        RtnlTalk(fd, m, op);
        return Unit{};
      },
      Undefined);
}

}  // namespace

// addrAdd(fd, {index, address, prefixlen, broadcast?, label?})
Napi::Value AddrAddVerb(const Napi::CallbackInfo& info) {
  return AddrChange(info, RTM_NEWADDR, "addrAdd", "RTM_NEWADDR");
}

// addrDel(fd, {index, address, prefixlen})
Napi::Value AddrDelVerb(const Napi::CallbackInfo& info) {
  return AddrChange(info, RTM_DELADDR, "addrDel", "RTM_DELADDR");
}

// addrList(fd, {index?, family? (4|6)}) - filtered in the kernel (strict dump).
Napi::Value AddrListVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  Napi::Object o = ArgObject(info, 1);
  uint32_t index = OptU32(o, "index").value_or(0);
  auto fam = OptInt(o, "family", 0, 6);
  uint8_t family = !fam || *fam == 0 ? AF_UNSPEC : *fam == 4 ? AF_INET : AF_INET6;
  return Task<std::vector<Addr>>::Queue(
      info.Env(), "addrList",
      [fd, index, family] {
        NlMsg m(RTM_GETADDR, 0);
        ifaddrmsg ifa{};
        ifa.ifa_family = family;
        ifa.ifa_index = index;
        m.PutHeader(ifa);
        std::vector<Addr> out;
        RtnlDump(fd, m, "RTM_GETADDR", [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWADDR) return;
          Addr a = ParseAddr(h);
          // Older kernels ignore the filter; apply it again here.
          if (index && a.index != index) return;
          out.push_back(std::move(a));
        });
        return out;
      },
      [](Napi::Env env, std::vector<Addr>& v) { return ToArray(env, v, AddrToJs); });
}

}  // namespace nsnet
