// Links: RTM_NEWLINK / RTM_SETLINK-style NEWLINK / RTM_DELLINK / RTM_GETLINK.
//
//   ip link add NAME [mtu M] [address MAC] [master BR] [up] type KIND ...
//   ip link set dev NAME [up|down] [master BR|nomaster] [mtu M] [address MAC] [name NEW] [netns NS]
//   ip link del dev NAME
//   ip link show [dev NAME]
//
// A veth is created in ONE request, with its peer born directly in another
// namespace. This is the message `ip link add vethab12 master br0 up type veth
// peer name eth0 netns web` sends (iproute2 ip/link_veth.c):
//
//   nlmsghdr  RTM_NEWLINK  NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL
//   ifinfomsg { ifi_flags = ifi_change = IFF_UP }
//   IFLA_IFNAME  "vethab12"
//   IFLA_MASTER  <bridge ifindex>
//   IFLA_LINKINFO
//     IFLA_INFO_KIND  "veth"
//     IFLA_INFO_DATA
//       VETH_INFO_PEER
//         ifinfomsg { }            <- a whole second ifinfomsg for the peer
//         IFLA_IFNAME    "eth0"
//         IFLA_NET_NS_FD <fd of /run/netns/web>
//
// Creating the peer in place costs ~0.5 ms; creating it here and moving it with
// `ip link set eth0 netns web` costs ~18 ms on this kind of VM (an RCU grace
// period per move), see docs/netns.md.
//
// Other kinds carry their options as plain attributes inside IFLA_INFO_DATA
// (`data`: a list of {type, u8|u16|u32}), and a lower device as IFLA_LINK. A
// macvlan born in a sandbox's namespace, what `ip link add link ens4 name
// eth0 netns web address 02:42:.. up type macvlan mode bridge` sends
// (iproute2 ip/iplink_macvlan.c):
//
//   ifinfomsg { ifi_flags = ifi_change = IFF_UP }
//   IFLA_IFNAME "eth0"   IFLA_ADDRESS <mac>   IFLA_LINK <ens4's ifindex, in this socket's namespace>
//   IFLA_NET_NS_FD <fd of /run/netns/web>
//   IFLA_LINKINFO { IFLA_INFO_KIND "macvlan", IFLA_INFO_DATA { IFLA_MACVLAN_MODE u32 } }
//
// A vxlan needs two more shapes of data: a UDP port in network byte order
// (`be16`) and an address (`ip`, 4 or 16 bytes). `ip link add vxlan42 type
// vxlan id 42 dstport 4789 local 198.51.100.1 dev ens4 nolearning proxy`
// (iproute2 ip/iplink_vxlan.c):
//
//   IFLA_LINKINFO { IFLA_INFO_KIND "vxlan", IFLA_INFO_DATA {
//     IFLA_VXLAN_ID u32  IFLA_VXLAN_LINK u32  IFLA_VXLAN_LOCAL 4 bytes
//     IFLA_VXLAN_LEARNING u8 0  IFLA_VXLAN_PROXY u8 1  IFLA_VXLAN_PORT be16 } }
//
// A dump reports a vxlan's options back (`vxlan` in the result), for checks.
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>

#include <memory>

#include "args.h"
#include "in_netns.h"
#include "nlsock.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct LinkReq {
  std::optional<std::string> name;
  std::optional<std::string> kind;
  std::optional<uint32_t> mtu;
  std::optional<uint32_t> master;
  std::optional<uint32_t> txqlen;
  std::optional<uint32_t> group;  // IFLA_GROUP: the link's interface group (nft's `meta iifgroup`)
  std::optional<std::vector<uint8_t>> address;
  std::optional<bool> up;
  std::optional<int> netnsFd;
  std::optional<bool> hairpin;    // bridge port flag (IFLA_BRPORT_MODE); the link must be a bridge port
  std::optional<uint32_t> link;   // IFLA_LINK: the lower device (macvlan's parent); linkAdd only
  std::unique_ptr<LinkReq> peer;  // veth only
  // IFLA_INFO_DATA attributes of the kind (macvlan's mode, ...); linkAdd only.
  struct DataAttr {
    uint16_t type;
    uint8_t size;  // 1, 2 or 4 bytes, host order (as the kernel's nla_get_u8/u16/u32); 0: `bytes`
    uint32_t value;
    std::vector<uint8_t> bytes;  // as is: a be16 (already swapped) or an address
  };
  std::vector<DataAttr> data;
};

// data: [{type, u8 | u16 | u32 | be16 | ip}, ...]
std::vector<LinkReq::DataAttr> ReadData(const Napi::Object& o) {
  std::vector<LinkReq::DataAttr> out;
  Napi::Value v = o.Get("data");
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), "data must be a list of {type, u8|u16|u32}");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) throw Napi::TypeError::New(o.Env(), "data entries must be {type, u8|u16|u32}");
    Napi::Object eo = e.As<Napi::Object>();
    auto type = OptInt(eo, "type", 1, 0x7fff);
    if (!type) throw Napi::TypeError::New(o.Env(), "data entry needs a type");
    auto u8 = OptInt(eo, "u8", 0, UINT8_MAX);
    auto u16 = OptInt(eo, "u16", 0, UINT16_MAX);
    auto u32 = OptU32(eo, "u32");
    auto be16 = OptInt(eo, "be16", 0, UINT16_MAX);  // nla_get_be16: a UDP port
    auto ip = OptIp(eo, "ip");                       // nla_get_in_addr / in6_addr
    if (!!u8 + !!u16 + !!u32 + !!be16 + !!ip != 1)
      throw Napi::TypeError::New(o.Env(), "data entry needs exactly one of u8, u16, u32, be16, ip");
    if (be16) {
      uint16_t n = htons(static_cast<uint16_t>(*be16));
      const auto* p = reinterpret_cast<const uint8_t*>(&n);
      out.push_back({static_cast<uint16_t>(*type), 0, 0, std::vector<uint8_t>(p, p + 2)});
      continue;
    }
    if (ip) {
      out.push_back({static_cast<uint16_t>(*type), 0, 0, ip->bytes});
      continue;
    }
    uint8_t size = u8 ? 1 : u16 ? 2 : 4;
    uint32_t value = u8 ? static_cast<uint32_t>(*u8) : u16 ? static_cast<uint32_t>(*u16) : *u32;
    out.push_back({static_cast<uint16_t>(*type), size, value, {}});
  }
  return out;
}

struct Link {
  uint32_t index = 0;
  std::string name;
  uint32_t flags = 0;
  uint16_t type = 0;
  uint32_t mtu = 0;
  uint32_t txqlen = 0;
  uint8_t operstate = 0;
  std::vector<uint8_t> address;
  std::optional<uint32_t> master;
  std::optional<uint32_t> link;          // IFLA_LINK: a veth's peer ifindex
  std::optional<int32_t> linkNetnsId;    // ... which lives in this peer netns id
  std::string kind;                      // IFLA_INFO_KIND: "veth", "bridge", ...
  std::string slaveKind;                 // IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port
  struct Vxlan {                         // IFLA_INFO_DATA of a vxlan
    uint32_t id = 0, link = 0;
    uint16_t port = 0;                   // host order here
    std::string local, group;
    bool learning = true, proxy = false, l2miss = false, l3miss = false;
  };
  std::optional<Vxlan> vxlan;
};

// `ip -d link show type vxlan`: the options ParseLink reports (iproute2 vxlan_print_opt).
Link::Vxlan ParseVxlan(const rtattr* data) {
  Link::Vxlan v;
  std::vector<const rtattr*> tb;
  ParseNested(data, tb, IFLA_VXLAN_MAX);
  if (tb[IFLA_VXLAN_ID]) v.id = AttrU32(tb[IFLA_VXLAN_ID]);
  if (tb[IFLA_VXLAN_LINK]) v.link = AttrU32(tb[IFLA_VXLAN_LINK]);
  if (tb[IFLA_VXLAN_PORT] && RTA_PAYLOAD(tb[IFLA_VXLAN_PORT]) >= 2) {
    uint16_t n;
    std::memcpy(&n, RTA_DATA(tb[IFLA_VXLAN_PORT]), 2);
    v.port = ntohs(n);
  }
  auto addr = [](const rtattr* a, int family) { return a ? FormatIp(family, RTA_DATA(a)) : std::string(); };
  v.local = tb[IFLA_VXLAN_LOCAL] ? addr(tb[IFLA_VXLAN_LOCAL], AF_INET) : addr(tb[IFLA_VXLAN_LOCAL6], AF_INET6);
  v.group = tb[IFLA_VXLAN_GROUP] ? addr(tb[IFLA_VXLAN_GROUP], AF_INET) : addr(tb[IFLA_VXLAN_GROUP6], AF_INET6);
  if (tb[IFLA_VXLAN_LEARNING]) v.learning = AttrU8(tb[IFLA_VXLAN_LEARNING]) != 0;
  if (tb[IFLA_VXLAN_PROXY]) v.proxy = AttrU8(tb[IFLA_VXLAN_PROXY]) != 0;
  if (tb[IFLA_VXLAN_L2MISS]) v.l2miss = AttrU8(tb[IFLA_VXLAN_L2MISS]) != 0;
  if (tb[IFLA_VXLAN_L3MISS]) v.l3miss = AttrU8(tb[IFLA_VXLAN_L3MISS]) != 0;
  // 0.0.0.0 is "unset" in the kernel's report.
  if (v.local == "0.0.0.0") v.local.clear();
  if (v.group == "0.0.0.0") v.group.clear();
  return v;
}

LinkReq ReadLinkReq(const Napi::Object& o, bool allowPeer) {
  LinkReq r;
  r.name = OptStr(o, "name");
  r.kind = OptStr(o, "kind");
  r.mtu = OptU32(o, "mtu");
  r.master = OptU32(o, "master");
  r.txqlen = OptU32(o, "txqlen");
  r.group = OptU32(o, "group");
  r.address = OptMac(o, "address");
  r.up = OptBool(o, "up");
  r.hairpin = OptBool(o, "hairpin");
  r.link = OptU32(o, "link");
  r.data = ReadData(o);
  if (auto ns = OptInt(o, "netnsFd", 0, INT32_MAX)) r.netnsFd = static_cast<int>(*ns);
  Napi::Value peer = o.Get("peer");
  if (!peer.IsUndefined() && !peer.IsNull()) {
    if (!allowPeer || !peer.IsObject()) throw Napi::TypeError::New(o.Env(), "peer must be an options object (veth only)");
    r.peer = std::make_unique<LinkReq>(ReadLinkReq(peer.As<Napi::Object>(), false));
    // The kernel refuses IFF_UP on a veth peer at creation (ENOTCONN):
    // bring it up afterwards from a socket in the peer's namespace.
    if (r.peer->up) throw Napi::TypeError::New(o.Env(), "peer.up is not supported: set the peer up after creating it");
    if (r.peer->master) throw Napi::TypeError::New(o.Env(), "peer.master is not supported");
    if (r.peer->hairpin) throw Napi::TypeError::New(o.Env(), "peer.hairpin is not supported");
    if (r.peer->link || !r.peer->data.empty()) throw Napi::TypeError::New(o.Env(), "peer.link and peer.data are not supported");
  }
  return r;
}

// ifinfomsg + the attributes every link request may carry.
void PutLink(NlMsg& m, const LinkReq& r, uint32_t index) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = static_cast<int>(index);
  if (r.up) {
    ifi.ifi_change = IFF_UP;
    ifi.ifi_flags = *r.up ? IFF_UP : 0;
  }
  m.PutHeader(ifi);
  if (r.name) m.PutStr(IFLA_IFNAME, *r.name);
  if (r.mtu) m.PutU32(IFLA_MTU, *r.mtu);
  if (r.txqlen) m.PutU32(IFLA_TXQLEN, *r.txqlen);
  if (r.group) m.PutU32(IFLA_GROUP, *r.group);
  if (r.address) m.PutBytes(IFLA_ADDRESS, *r.address);
  if (r.master) m.PutU32(IFLA_MASTER, *r.master);
  if (r.netnsFd) m.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(*r.netnsFd));
  if (r.link) m.PutU32(IFLA_LINK, *r.link);
}

void PutData(NlMsg& m, const LinkReq& r) {
  for (const auto& a : r.data) {
    if (a.size == 0) m.PutBytes(a.type, a.bytes);
    else if (a.size == 1) m.PutU8(a.type, static_cast<uint8_t>(a.value));
    else if (a.size == 2) {
      uint16_t v = static_cast<uint16_t>(a.value);
      m.Put(a.type, &v, sizeof v);
    } else m.PutU32(a.type, a.value);
  }
}

// Inside IFLA_LINKINFO: the link's options as a port of its bridge, what
// `ip link set dev X type bridge_slave hairpin on` sends.
void PutBridgePort(NlMsg& m, const LinkReq& r) {
  m.PutStr(IFLA_INFO_SLAVE_KIND, "bridge");
  size_t data = m.NestStart(IFLA_INFO_SLAVE_DATA);
  m.PutU8(IFLA_BRPORT_MODE, *r.hairpin ? 1 : 0);
  m.NestEnd(data);
}

Link ParseLink(const nlmsghdr* h) {
  Link l;
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  l.index = static_cast<uint32_t>(ifi->ifi_index);
  l.flags = ifi->ifi_flags;
  l.type = ifi->ifi_type;
  std::vector<const rtattr*> tb;
  ParseAttrs(IFLA_RTA(ifi), IFLA_PAYLOAD(h), tb, IFLA_MAX);
  if (tb[IFLA_IFNAME]) l.name = AttrStr(tb[IFLA_IFNAME]);
  if (tb[IFLA_MTU]) l.mtu = AttrU32(tb[IFLA_MTU]);
  if (tb[IFLA_TXQLEN]) l.txqlen = AttrU32(tb[IFLA_TXQLEN]);
  if (tb[IFLA_OPERSTATE]) l.operstate = AttrU8(tb[IFLA_OPERSTATE]);
  if (tb[IFLA_ADDRESS]) l.address = AttrBytes(tb[IFLA_ADDRESS]);
  if (tb[IFLA_MASTER]) l.master = AttrU32(tb[IFLA_MASTER]);
  if (tb[IFLA_LINK]) l.link = AttrU32(tb[IFLA_LINK]);
  if (tb[IFLA_LINK_NETNSID]) l.linkNetnsId = AttrS32(tb[IFLA_LINK_NETNSID]);
  if (tb[IFLA_LINKINFO]) {
    std::vector<const rtattr*> li;
    ParseNested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
    if (li[IFLA_INFO_KIND]) l.kind = AttrStr(li[IFLA_INFO_KIND]);
    if (li[IFLA_INFO_SLAVE_KIND]) l.slaveKind = AttrStr(li[IFLA_INFO_SLAVE_KIND]);
    if (l.kind == "vxlan" && li[IFLA_INFO_DATA]) l.vxlan = ParseVxlan(li[IFLA_INFO_DATA]);
  }
  return l;
}

const char* OperState(uint8_t s) {
  static const char* names[] = {"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN",
                                "TESTING", "DORMANT", "UP"};
  return s < 7 ? names[s] : "UNKNOWN";
}

Napi::Value LinkToJs(Napi::Env env, const Link& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", l.index);
  o.Set("name", l.name);
  o.Set("flags", l.flags);
  o.Set("up", (l.flags & IFF_UP) != 0);
  o.Set("lowerUp", (l.flags & IFF_LOWER_UP) != 0);
  o.Set("operstate", OperState(l.operstate));
  o.Set("type", l.type == ARPHRD_ETHER ? "ether" : l.type == ARPHRD_LOOPBACK ? "loopback" : std::to_string(l.type));
  o.Set("mtu", l.mtu);
  o.Set("txqlen", l.txqlen);
  o.Set("address", FormatMac(l.address));
  if (l.master) o.Set("master", *l.master);
  if (l.link) o.Set("link", *l.link);
  if (l.linkNetnsId) o.Set("linkNetnsId", *l.linkNetnsId);
  if (!l.kind.empty()) o.Set("kind", l.kind);
  if (!l.slaveKind.empty()) o.Set("slaveKind", l.slaveKind);
  if (l.vxlan) {
    Napi::Object v = Napi::Object::New(env);
    v.Set("id", l.vxlan->id);
    v.Set("port", l.vxlan->port);
    if (l.vxlan->link) v.Set("link", l.vxlan->link);
    if (!l.vxlan->local.empty()) v.Set("local", l.vxlan->local);
    if (!l.vxlan->group.empty()) v.Set("group", l.vxlan->group);
    v.Set("learning", l.vxlan->learning);
    v.Set("proxy", l.vxlan->proxy);
    v.Set("l2miss", l.vxlan->l2miss);
    v.Set("l3miss", l.vxlan->l3miss);
    o.Set("vxlan", v);
  }
  return o;
}

// GETLINK by index or name: one reply message, then the ACK.
std::optional<Link> GetLink(int fd, uint32_t index, const std::string& name, const char* op) {
  NlMsg m(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_index = static_cast<int>(index);
  m.PutHeader(ifi);
  if (!index) m.PutStr(IFLA_IFNAME, name);
  // Ask only for what ParseLink reads: skip the per-VF and stats blobs.
  m.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::optional<Link> out;
  RtnlTalk(fd, m, op, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) out = ParseLink(h);
  });
  return out;
}

Napi::Value LinkIdentity(const Napi::Object& o, uint32_t& index, std::string& name) {
  auto i = OptU32(o, "index");
  auto n = OptStr(o, "name");
  if (!i && !n) throw Napi::TypeError::New(o.Env(), "give the link's index or name");
  index = i.value_or(0);
  name = n.value_or("");
  return o.Env().Undefined();
}

}  // namespace

// rtnlOpen(nsFd) -> fd of a NETLINK_ROUTE socket living in that namespace.
Napi::Value RtnlOpenVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  return Task<int>::Queue(
      info.Env(), "rtnlOpen",
      [nsfd] { return RunInNetns(nsfd, "rtnlOpen", [] { return RtnlOpen().Release(); }); },
      [](Napi::Env env, int& fd) { return Napi::Number::New(env, fd); });
}

// linkAdd(fd, {name, kind, mtu?, address?, master?, up?, txqlen?, netnsFd?, link?,
//              peer?: {name, netnsFd?, address?, mtu?, txqlen?} | data?: [{type, u8|u16|u32|be16|ip}]}) -> link or null
Napi::Value LinkAddVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  auto req = std::make_shared<LinkReq>(ReadLinkReq(ArgObject(info, 1), true));
  if (!req->name || !req->kind) throw Napi::TypeError::New(info.Env(), "linkAdd needs name and kind");
  // Measured (6.18): bridge port options in the creating request are silently dropped (the
  // kernel only applies IFLA_INFO_SLAVE_DATA to a link that already has a master). linkSet.
  if (req->hairpin) throw Napi::TypeError::New(info.Env(), "linkAdd: hairpin is ignored by the kernel at creation; set it with linkSet");
  if (req->peer && !req->data.empty()) throw Napi::TypeError::New(info.Env(), "linkAdd: data and peer exclude each other (a veth's data is its peer)");
  return Task<std::optional<Link>>::Queue(
      info.Env(), "linkAdd",
      [fd, req]() -> std::optional<Link> {
        NlMsg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        PutLink(m, *req, 0);
        size_t linkinfo = m.NestStart(IFLA_LINKINFO);
        m.PutStr(IFLA_INFO_KIND, *req->kind);
        if (req->peer) {
          size_t data = m.NestStart(IFLA_INFO_DATA);
          size_t peer = m.NestStart(VETH_INFO_PEER);
          PutLink(m, *req->peer, 0);
          m.NestEnd(peer);
          m.NestEnd(data);
        } else if (!req->data.empty()) {
          size_t data = m.NestStart(IFLA_INFO_DATA);
          PutData(m, *req);
          m.NestEnd(data);
        }
        m.NestEnd(linkinfo);
        // NLM_F_ECHO: the kernel (6.3+) sends the new link back to us before the
        // ACK, sparing a second round trip; older kernels ignore it, and we ask.
        m.Hdr()->nlmsg_flags |= NLM_F_ECHO;
        std::optional<Link> echoed;
        RtnlTalk(fd, m, "RTM_NEWLINK", [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWLINK) return;
          Link l = ParseLink(h);
          if (l.name == *req->name) echoed = std::move(l);
        });
        // The link was made elsewhere: nothing to read back on this socket.
        if (req->netnsFd) return std::nullopt;
        if (echoed) {
          // The echo is sent before IFLA_MASTER is applied; the ACK says it was.
          if (req->master && !echoed->master) echoed->master = *req->master;
          return echoed;
        }
        return GetLink(fd, 0, *req->name, "RTM_GETLINK");
      },
      [](Napi::Env env, std::optional<Link>& l) -> Napi::Value {
        return l ? LinkToJs(env, *l) : env.Null();
      });
}

// linkSet(fd, index, {up?, master? (0 = nomaster), mtu?, address?, name?, txqlen?, netnsFd?, hairpin?})
Napi::Value LinkSetVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "index must be a number");
  uint32_t index = info[1].As<Napi::Number>().Uint32Value();
  auto req = std::make_shared<LinkReq>(ReadLinkReq(ArgObject(info, 2), false));
  if (req->link || !req->data.empty()) throw Napi::TypeError::New(info.Env(), "linkSet: link and data are for linkAdd");
  return Task<Unit>::Queue(
      info.Env(), "linkSet",
      [fd, index, req] {
        NlMsg m(RTM_NEWLINK, 0);
        PutLink(m, *req, index);
        if (req->hairpin) {
          size_t linkinfo = m.NestStart(IFLA_LINKINFO);
          PutBridgePort(m, *req);
          m.NestEnd(linkinfo);
        }
        RtnlTalk(fd, m, "RTM_NEWLINK");
        return Unit{};
      },
      Undefined);
}

// linkDel(fd, {index} | {name})
Napi::Value LinkDelVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  uint32_t index;
  std::string name;
  LinkIdentity(ArgObject(info, 1), index, name);
  return Task<Unit>::Queue(
      info.Env(), "linkDel",
      [fd, index, name] {
        NlMsg m(RTM_DELLINK, 0);
        ifinfomsg ifi{};
        ifi.ifi_index = static_cast<int>(index);
        m.PutHeader(ifi);
        if (!index) m.PutStr(IFLA_IFNAME, name);
        RtnlTalk(fd, m, "RTM_DELLINK");
        return Unit{};
      },
      Undefined);
}

// linkGet(fd, {index} | {name}) -> link; rejects with ENODEV if there is none.
Napi::Value LinkGetVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  uint32_t index;
  std::string name;
  LinkIdentity(ArgObject(info, 1), index, name);
  return Task<Link>::Queue(
      info.Env(), "linkGet",
      [fd, index, name] {
        auto l = GetLink(fd, index, name, "RTM_GETLINK");
        if (!l) ThrowErr(ENODEV, "recvmsg", "RTM_GETLINK");
        return *l;
      },
      [](Napi::Env env, Link& l) { return LinkToJs(env, l); });
}

// linkList(fd) -> every link in the socket's namespace
Napi::Value LinkListVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  return Task<std::vector<Link>>::Queue(
      info.Env(), "linkList",
      [fd] {
        NlMsg m(RTM_GETLINK, 0);
        ifinfomsg ifi{};
        m.PutHeader(ifi);
        m.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        std::vector<Link> out;
        RtnlDump(fd, m, "RTM_GETLINK", [&](const nlmsghdr* h) {
          if (h->nlmsg_type == RTM_NEWLINK) out.push_back(ParseLink(h));
        });
        return out;
      },
      [](Napi::Env env, std::vector<Link>& v) { return ToArray(env, v, LinkToJs); });
}

}  // namespace nsnet
