// Neighbours: RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH, for two tables the
// kernel keeps under one message type (struct ndmsg + NDA_* attributes):
//
//   family AF_INET/AF_INET6: the neighbour (ARP/ND) table, IP -> MAC
//     ip neigh replace 10.99.0.3 lladdr 02:42:0a:63:00:03 dev vxlan42 nud permanent
//     ip neigh del 10.99.0.3 dev vxlan42
//     ip neigh show dev vxlan42
//   family AF_BRIDGE: forwarding (FDB) entries, MAC -> port; on a vxlan
//   device itself ("self"), MAC -> the remote host's underlay address
//     bridge fdb replace 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self permanent
//     bridge fdb del 02:42:0a:63:00:03 dev vxlan42 dst 198.51.100.3 self
//     bridge fdb show dev vxlan42
//
// The bytes are what iproute2 sends (bridge/fdb.c fdb_modify, ip/ipneigh.c
// ipneigh_modify):
//
//   nlmsghdr  RTM_NEWNEIGH  NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_REPLACE (or _EXCL, _APPEND)
//   ndmsg { ndm_family, ndm_ifindex = dev, ndm_state = NUD_*, ndm_flags = NTF_* }
//   NDA_DST     4 or 16 bytes: the IP (neighbour) or the remote VTEP (fdb)
//   NDA_LLADDR  6 bytes
//
// A dump filters by device with NDA_IFINDEX: with strict checking
// (NETLINK_GET_STRICT_CHK, nlsock.cc) the kernel rejects a neighbour dump
// whose header names an ifindex (neigh_valid_dump_req). An AF_BRIDGE dump of
// a vxlan that is a bridge port returns the bridge's entries for the port
// (NTF_MASTER) and the vxlan's own (NTF_SELF), as `bridge fdb show dev` does.
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "args.h"
#include "nlsock.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct NeighReq {
  uint8_t family = AF_UNSPEC;  // AF_INET, AF_INET6 or AF_BRIDGE
  uint32_t index = 0;
  uint16_t state = 0;
  uint8_t flags = 0;
  std::optional<IpAddr> dst;
  std::optional<std::vector<uint8_t>> lladdr;
  uint16_t create = 0;  // NLM_F_EXCL, NLM_F_REPLACE or NLM_F_APPEND (with NLM_F_CREATE)
};

struct Neigh {
  uint8_t family = 0;
  uint32_t index = 0;
  uint16_t state = 0;
  uint8_t flags = 0;
  uint8_t type = 0;
  std::string dst;
  std::vector<uint8_t> lladdr;
  std::optional<uint32_t> master, vni, ifindex;
  std::optional<uint16_t> port;
  std::optional<uint16_t> vlan;
};

// family: 4 | 6 | "bridge"
uint8_t ReadFamily(const Napi::Object& o, bool required) {
  Napi::Value v = o.Get("family");
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw Napi::TypeError::New(o.Env(), "family must be 4, 6 or \"bridge\"");
    return AF_UNSPEC;
  }
  if (v.IsString() && v.As<Napi::String>().Utf8Value() == "bridge") return AF_BRIDGE;
  if (v.IsNumber()) {
    int f = v.As<Napi::Number>().Int32Value();
    if (f == 4) return AF_INET;
    if (f == 6) return AF_INET6;
  }
  throw Napi::TypeError::New(o.Env(), "family must be 4, 6 or \"bridge\"");
}

// {family, index, state?, flags?, dst?, lladdr?, create?: "excl"|"replace"|"append"}
NeighReq ReadNeighReq(const Napi::Object& o, bool add) {
  NeighReq r;
  r.family = ReadFamily(o, true);
  auto index = OptU32(o, "index");
  if (!index || !*index) throw Napi::TypeError::New(o.Env(), "a neighbour needs the device's index");
  r.index = *index;
  r.state = static_cast<uint16_t>(OptInt(o, "state", 0, UINT16_MAX).value_or(0));
  r.flags = static_cast<uint8_t>(OptInt(o, "flags", 0, UINT8_MAX).value_or(0));
  r.dst = OptIp(o, "dst");
  r.lladdr = OptMac(o, "lladdr");
  if (r.family == AF_BRIDGE) {
    if (!r.lladdr) throw Napi::TypeError::New(o.Env(), "a forwarding (fdb) entry needs lladdr");
  } else {
    if (!r.dst) throw Napi::TypeError::New(o.Env(), "a neighbour entry needs dst");
    if (r.dst->family != r.family) throw Napi::TypeError::New(o.Env(), "dst is not of the entry's family");
    if (add && !r.lladdr) throw Napi::TypeError::New(o.Env(), "a neighbour entry needs lladdr");
  }
  auto create = OptStr(o, "create");
  if (create && !add) throw Napi::TypeError::New(o.Env(), "create is for neighAdd");
  if (!create || *create == "excl") r.create = NLM_F_EXCL;
  else if (*create == "replace") r.create = NLM_F_REPLACE;
  else if (*create == "append") r.create = NLM_F_APPEND;
  else throw Napi::TypeError::New(o.Env(), "create must be \"excl\", \"replace\" or \"append\"");
  return r;
}

void PutNeigh(NlMsg& m, const NeighReq& r) {
  ndmsg ndm{};
  ndm.ndm_family = r.family;
  ndm.ndm_ifindex = static_cast<int>(r.index);
  ndm.ndm_state = r.state;
  ndm.ndm_flags = r.flags;
  m.PutHeader(ndm);
  if (r.dst) m.PutBytes(NDA_DST, r.dst->bytes);
  if (r.lladdr) m.PutBytes(NDA_LLADDR, *r.lladdr);
}

Neigh ParseNeigh(const nlmsghdr* h) {
  Neigh n;
  const auto* ndm = static_cast<const ndmsg*>(NLMSG_DATA(h));
  n.family = ndm->ndm_family;
  n.index = static_cast<uint32_t>(ndm->ndm_ifindex);
  n.state = ndm->ndm_state;
  n.flags = ndm->ndm_flags;
  n.type = ndm->ndm_type;
  std::vector<const rtattr*> tb;
  const auto* attrs = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(ndm) + NLMSG_ALIGN(sizeof(ndmsg)));
  ParseAttrs(attrs, h->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)), tb, NDA_MAX);
  if (const rtattr* d = tb[NDA_DST]) {
    size_t len = RTA_PAYLOAD(d);
    n.dst = len == 4 ? FormatIp(AF_INET, RTA_DATA(d)) : len == 16 ? FormatIp(AF_INET6, RTA_DATA(d)) : "";
  }
  if (tb[NDA_LLADDR]) n.lladdr = AttrBytes(tb[NDA_LLADDR]);
  if (tb[NDA_MASTER]) n.master = AttrU32(tb[NDA_MASTER]);
  if (tb[NDA_VNI]) n.vni = AttrU32(tb[NDA_VNI]);
  if (tb[NDA_IFINDEX]) n.ifindex = AttrU32(tb[NDA_IFINDEX]);
  if (tb[NDA_VLAN] && RTA_PAYLOAD(tb[NDA_VLAN]) >= 2) {
    uint16_t v;
    std::memcpy(&v, RTA_DATA(tb[NDA_VLAN]), 2);
    n.vlan = v;
  }
  if (tb[NDA_PORT] && RTA_PAYLOAD(tb[NDA_PORT]) >= 2) {
    uint16_t p;
    std::memcpy(&p, RTA_DATA(tb[NDA_PORT]), 2);
    n.port = ntohs(p);
  }
  return n;
}

Napi::Value NeighToJs(Napi::Env env, const Neigh& n) {
  Napi::Object o = Napi::Object::New(env);
  if (n.family == AF_BRIDGE) o.Set("family", "bridge");
  else o.Set("family", n.family == AF_INET ? 4 : 6);
  o.Set("index", n.index);
  o.Set("state", n.state);
  o.Set("flags", n.flags);
  o.Set("type", n.type);
  if (!n.dst.empty()) o.Set("dst", n.dst);
  if (!n.lladdr.empty()) o.Set("lladdr", FormatMac(n.lladdr));
  if (n.master) o.Set("master", *n.master);
  if (n.vni) o.Set("vni", *n.vni);
  if (n.ifindex) o.Set("ifindex", *n.ifindex);
  if (n.port) o.Set("port", *n.port);
  if (n.vlan) o.Set("vlan", *n.vlan);
  return o;
}

}  // namespace

// neighAdd(fd, {family: 4|6|"bridge", index, state, flags?, dst?, lladdr?, create?: "excl"|"replace"|"append"})
Napi::Value NeighAddVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto req = std::make_shared<NeighReq>(ReadNeighReq(ArgObject(info, 1), true));
  return Task<Unit>::Queue(
      info.Env(), "neighAdd",
      [fd, req] {
        NlMsg m(RTM_NEWNEIGH, NLM_F_CREATE | req->create);
        PutNeigh(m, *req);
        RtnlTalk(fd, m, "RTM_NEWNEIGH");
        return Unit{};
      },
      Undefined);
}

// neighDel(fd, {family, index, state?, flags?, dst?, lladdr?})
Napi::Value NeighDelVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto req = std::make_shared<NeighReq>(ReadNeighReq(ArgObject(info, 1), false));
  return Task<Unit>::Queue(
      info.Env(), "neighDel",
      [fd, req] {
        NlMsg m(RTM_DELNEIGH, 0);
        PutNeigh(m, *req);
        RtnlTalk(fd, m, "RTM_DELNEIGH");
        return Unit{};
      },
      Undefined);
}

// neighList(fd, {family: 4|6|"bridge", index?}) -> entries (of that device)
Napi::Value NeighListVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  Napi::Object o = ArgObject(info, 1);
  uint8_t family = ReadFamily(o, true);
  uint32_t index = OptU32(o, "index").value_or(0);
  return Task<std::vector<Neigh>>::Queue(
      info.Env(), "neighList",
      [fd, family, index] {
        NlMsg m(RTM_GETNEIGH, 0);
        ndmsg ndm{};
        ndm.ndm_family = family;
        m.PutHeader(ndm);
        if (index) m.PutU32(NDA_IFINDEX, index);
        std::vector<Neigh> out;
        RtnlDump(fd, m, "RTM_GETNEIGH", [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWNEIGH) return;
          Neigh n = ParseNeigh(h);
          if (n.family != family) return;
          // A kernel without strict checking ignores the filter.
          if (index && n.index != index) return;
          out.push_back(std::move(n));
        });
        return out;
      },
      [](Napi::Env env, std::vector<Neigh>& v) { return ToArray(env, v, NeighToJs); });
}

}  // namespace nsnet
