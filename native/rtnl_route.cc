// Routes: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE.
//
//   ip route add default via 172.17.0.1             (routeAdd {gateway})
//   ip route add 10.1.0.0/16 dev eth1               (routeAdd {dst, dstLen, oif})
//   ip route del default                            (routeDel)
//   ip route show [table main]                      (routeList)
//
// Defaults follow iproute2 (ip/iproute.c iproute_modify): table main,
// proto boot, type unicast, and scope link for a route without a gateway
// (the destination is on the wire) or universe with one.
#include <linux/rtnetlink.h>

#include "args.h"
#include "nlsock.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct RouteReq {
  int family = AF_UNSPEC;
  std::optional<IpAddr> dst;
  uint8_t dstLen = 0;
  std::optional<IpAddr> gateway;
  std::optional<IpAddr> prefsrc;
  std::optional<uint32_t> oif;
  std::optional<uint32_t> priority;
  uint32_t table = RT_TABLE_MAIN;
  std::optional<uint8_t> protocol;
  std::optional<uint8_t> scope;
  uint8_t type = RTN_UNICAST;
};

struct Route {
  int family = 0;
  std::string dst, gateway, prefsrc;
  uint8_t dstLen = 0;
  uint32_t oif = 0, table = 0, priority = 0;
  uint8_t protocol = 0, scope = 0, type = 0;
  bool hasPriority = false;
};

const char* TypeName(uint8_t t) {
  switch (t) {
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_ANYCAST: return "anycast";
    case RTN_MULTICAST: return "multicast";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_PROHIBIT: return "prohibit";
    default: return "other";
  }
}

std::string ScopeName(uint8_t s) {
  switch (s) {
    case RT_SCOPE_UNIVERSE: return "global";
    case RT_SCOPE_LINK: return "link";
    case RT_SCOPE_HOST: return "host";
    case RT_SCOPE_NOWHERE: return "nowhere";
    default: return std::to_string(s);
  }
}

std::string ProtoName(uint8_t p) {
  switch (p) {
    case RTPROT_KERNEL: return "kernel";
    case RTPROT_BOOT: return "boot";
    case RTPROT_STATIC: return "static";
    default: return std::to_string(p);
  }
}

RouteReq ReadRouteReq(const Napi::Object& o) {
  RouteReq r;
  r.dst = OptIp(o, "dst");
  r.gateway = OptIp(o, "gateway");
  r.prefsrc = OptIp(o, "prefsrc");
  r.oif = OptU32(o, "oif");
  r.priority = OptU32(o, "priority");
  if (auto t = OptU32(o, "table")) r.table = *t;
  if (auto p = OptInt(o, "protocol", 0, 255)) r.protocol = static_cast<uint8_t>(*p);
  if (auto s = OptStr(o, "scope")) {
    if (*s == "global" || *s == "universe") r.scope = RT_SCOPE_UNIVERSE;
    else if (*s == "link") r.scope = RT_SCOPE_LINK;
    else if (*s == "host") r.scope = RT_SCOPE_HOST;
    else throw Napi::TypeError::New(o.Env(), "scope must be global, link or host");
  }
  if (auto t = OptStr(o, "type")) {
    static const std::pair<const char*, uint8_t> types[] = {
        {"unicast", RTN_UNICAST}, {"local", RTN_LOCAL}, {"blackhole", RTN_BLACKHOLE},
        {"unreachable", RTN_UNREACHABLE}, {"prohibit", RTN_PROHIBIT}};
    bool found = false;
    for (auto& [n, v] : types) if (*t == n) { r.type = v; found = true; }
    if (!found) throw Napi::TypeError::New(o.Env(), "unknown route type " + *t);
  }
  auto fam = OptInt(o, "family", 0, 6);
  if (fam && *fam) r.family = *fam == 4 ? AF_INET : AF_INET6;
  for (auto* a : {&r.dst, &r.gateway, &r.prefsrc}) {
    if (!*a) continue;
    if (r.family != AF_UNSPEC && (*a)->family != r.family)
      throw Napi::TypeError::New(o.Env(), "route mixes IPv4 and IPv6 addresses");
    r.family = (*a)->family;
  }
  if (r.family == AF_UNSPEC) throw Napi::TypeError::New(o.Env(), "route needs dst, gateway or family");
  int max = r.family == AF_INET ? 32 : 128;
  auto len = OptInt(o, "dstLen", 0, max);
  r.dstLen = static_cast<uint8_t>(len.value_or(r.dst ? max : 0));
  return r;
}

void PutRoute(NlMsg& m, const RouteReq& r, bool add) {
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(r.family);
  rt.rtm_dst_len = r.dstLen;
  rt.rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  if (add) {
    rt.rtm_protocol = r.protocol.value_or(RTPROT_BOOT);
    rt.rtm_type = r.type;
    if (r.scope) rt.rtm_scope = *r.scope;
    else if (r.type == RTN_LOCAL) rt.rtm_scope = RT_SCOPE_HOST;
    else if (r.type == RTN_UNICAST && !r.gateway) rt.rtm_scope = RT_SCOPE_LINK;
    else rt.rtm_scope = RT_SCOPE_UNIVERSE;
  } else {
    // Delete matches any scope and protocol unless told otherwise.
    rt.rtm_protocol = r.protocol.value_or(RTPROT_UNSPEC);
    rt.rtm_scope = r.scope.value_or(RT_SCOPE_NOWHERE);
    rt.rtm_type = r.type;
  }
  m.PutHeader(rt);
  m.PutU32(RTA_TABLE, r.table);
  if (r.dst && r.dstLen) m.PutBytes(RTA_DST, r.dst->bytes);
  if (r.gateway) m.PutBytes(RTA_GATEWAY, r.gateway->bytes);
  if (r.prefsrc) m.PutBytes(RTA_PREFSRC, r.prefsrc->bytes);
  if (r.oif) m.PutU32(RTA_OIF, *r.oif);
  if (r.priority) m.PutU32(RTA_PRIORITY, *r.priority);
}

Route ParseRoute(const nlmsghdr* h) {
  Route r;
  const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
  r.family = rt->rtm_family;
  r.dstLen = rt->rtm_dst_len;
  r.table = rt->rtm_table;
  r.protocol = rt->rtm_protocol;
  r.scope = rt->rtm_scope;
  r.type = rt->rtm_type;
  std::vector<const rtattr*> tb;
  ParseAttrs(RTM_RTA(rt), RTM_PAYLOAD(h), tb, RTA_MAX);
  if (tb[RTA_TABLE]) r.table = AttrU32(tb[RTA_TABLE]);
  if (tb[RTA_DST]) r.dst = FormatIp(r.family, RTA_DATA(tb[RTA_DST]));
  if (tb[RTA_GATEWAY]) r.gateway = FormatIp(r.family, RTA_DATA(tb[RTA_GATEWAY]));
  if (tb[RTA_PREFSRC]) r.prefsrc = FormatIp(r.family, RTA_DATA(tb[RTA_PREFSRC]));
  if (tb[RTA_OIF]) r.oif = AttrU32(tb[RTA_OIF]);
  if (tb[RTA_PRIORITY]) {
    r.priority = AttrU32(tb[RTA_PRIORITY]);
    r.hasPriority = true;
  }
  return r;
}

Napi::Value RouteToJs(Napi::Env env, const Route& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", r.family == AF_INET ? 4 : 6);
  o.Set("dst", r.dstLen == 0 && r.dst.empty() ? std::string("default") : r.dst);
  o.Set("dstLen", r.dstLen);
  if (!r.gateway.empty()) o.Set("gateway", r.gateway);
  if (!r.prefsrc.empty()) o.Set("prefsrc", r.prefsrc);
  if (r.oif) o.Set("oif", r.oif);
  o.Set("table", r.table);
  o.Set("protocol", ProtoName(r.protocol));
  o.Set("scope", ScopeName(r.scope));
  o.Set("type", TypeName(r.type));
  if (r.hasPriority) o.Set("priority", r.priority);
  return o;
}

Napi::Value RouteChange(const Napi::CallbackInfo& info, bool add) {
  int fd = ArgFd(info, 0);
  auto req = std::make_shared<RouteReq>(ReadRouteReq(ArgObject(info, 1)));
  return Task<Unit>::Queue(
      info.Env(), add ? "routeAdd" : "routeDel",
      [fd, req, add] {
        NlMsg m(add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
        PutRoute(m, *req, add);
        RtnlTalk(fd, m, add ? "RTM_NEWROUTE" : "RTM_DELROUTE");
        return Unit{};
      },
      Undefined);
}

}  // namespace

// routeAdd(fd, {dst?, dstLen?, gateway?, oif?, prefsrc?, priority?, table?, protocol?, scope?, type?, family?})
Napi::Value RouteAddVerb(const Napi::CallbackInfo& info) { return RouteChange(info, true); }

// routeDel(fd, same options): the route that matches them.
Napi::Value RouteDelVerb(const Napi::CallbackInfo& info) { return RouteChange(info, false); }

// routeList(fd, {family? (4|6), table? (default: all)})
Napi::Value RouteListVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  Napi::Object o = ArgObject(info, 1);
  auto fam = OptInt(o, "family", 0, 6);
  uint8_t family = !fam || *fam == 0 ? AF_UNSPEC : *fam == 4 ? AF_INET : AF_INET6;
  auto table = OptU32(o, "table");
  return Task<std::vector<Route>>::Queue(
      info.Env(), "routeList",
      [fd, family, table] {
        NlMsg m(RTM_GETROUTE, 0);
        rtmsg rt{};
        rt.rtm_family = family;
        m.PutHeader(rt);
        std::vector<Route> out;
        RtnlDump(fd, m, "RTM_GETROUTE", [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWROUTE) return;
          Route r = ParseRoute(h);
          if (table && r.table != *table) return;
          out.push_back(std::move(r));
        });
        return out;
      },
      [](Napi::Env env, std::vector<Route>& v) { return ToArray(env, v, RouteToJs); });
}

}  // namespace nsnet
