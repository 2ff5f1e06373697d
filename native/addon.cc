// nsnet's native addon: system calls and rtnetlink, nothing Docker-specific.
//
// Every verb is asynchronous and returns a Promise (but udpSocket, a
// socket()+bind() in the caller's namespace: see socket.cc). Work that must happen
// inside a network namespace runs on a throwaway thread (in_netns.h); no
// Node thread ever changes namespace. Failures reject with a KernelError
// (error.h): errno, code, syscall, op and the kernel's extended-ack message.
#include <napi.h>

#include "verbs.h"

namespace nsnet {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> verbs[] = {
      {"netnsCreate", NetnsCreateVerb}, {"netnsDelete", NetnsDeleteVerb},
      {"netnsOpen", NetnsOpenVerb},     {"rtnlOpen", RtnlOpenVerb},
      {"linkAdd", LinkAddVerb},         {"linkSet", LinkSetVerb},
      {"linkDel", LinkDelVerb},         {"linkGet", LinkGetVerb},
      {"linkList", LinkListVerb},       {"addrAdd", AddrAddVerb},
      {"addrDel", AddrDelVerb},         {"addrList", AddrListVerb},
      {"routeAdd", RouteAddVerb},       {"routeDel", RouteDelVerb},
      {"routeList", RouteListVerb},     {"neighAdd", NeighAddVerb},
      {"neighDel", NeighDelVerb},       {"neighList", NeighListVerb},
      {"sysctlRead", SysctlReadVerb},
      {"sysctlWrite", SysctlWriteVerb}, {"nftApply", NftApplyVerb},
      {"nftTableGet", NftTableGetVerb}, {"nftMonitor", NftMonitorVerb},
      {"socketBind", SocketBindVerb},   {"flock", FlockVerb},
      {"spawn", SpawnVerb},             {"waitpid", WaitpidVerb},
      {"rlimitNofileRaise", RlimitNofileRaiseVerb}, {"unixRequest", UnixRequestVerb},
      {"udpSocket", UdpSocketVerb},     {"udpEpoll", UdpEpollVerb},
      {"udpClose", UdpCloseVerb},       {"udpServe", UdpServeVerb},
      {"peerCred", PeerCredVerb},
  };
  for (const auto& [name, fn] : verbs) exports.Set(name, Napi::Function::New(env, fn, name));
  return exports;
}

}  // namespace nsnet

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return nsnet::Init(env, exports);
}

NODE_API_MODULE(nsnet, InitAddon)
