// The addon's whole surface: one function per verb, each returning a Promise
// (but udpSocket: see socket.cc).
// src/native.ts declares the same list as TypeScript types.
#pragma once

#include <napi.h>

#include <cstdint>

namespace nsnet {

Napi::Value NetnsCreateVerb(const Napi::CallbackInfo& info);
Napi::Value NetnsDeleteVerb(const Napi::CallbackInfo& info);
Napi::Value NetnsOpenVerb(const Napi::CallbackInfo& info);

Napi::Value RtnlOpenVerb(const Napi::CallbackInfo& info);
Napi::Value LinkAddVerb(const Napi::CallbackInfo& info);
Napi::Value LinkSetVerb(const Napi::CallbackInfo& info);
Napi::Value LinkDelVerb(const Napi::CallbackInfo& info);
Napi::Value LinkGetVerb(const Napi::CallbackInfo& info);
Napi::Value LinkListVerb(const Napi::CallbackInfo& info);
Napi::Value AddrAddVerb(const Napi::CallbackInfo& info);
Napi::Value AddrDelVerb(const Napi::CallbackInfo& info);
Napi::Value AddrListVerb(const Napi::CallbackInfo& info);
Napi::Value RouteAddVerb(const Napi::CallbackInfo& info);
Napi::Value RouteDelVerb(const Napi::CallbackInfo& info);
Napi::Value RouteListVerb(const Napi::CallbackInfo& info);
Napi::Value NeighAddVerb(const Napi::CallbackInfo& info);
Napi::Value NeighDelVerb(const Napi::CallbackInfo& info);
Napi::Value NeighListVerb(const Napi::CallbackInfo& info);

Napi::Value SysctlReadVerb(const Napi::CallbackInfo& info);
Napi::Value SysctlWriteVerb(const Napi::CallbackInfo& info);
Napi::Value NftApplyVerb(const Napi::CallbackInfo& info);
Napi::Value NftTableGetVerb(const Napi::CallbackInfo& info);
Napi::Value NftMonitorVerb(const Napi::CallbackInfo& info);
Napi::Value SocketBindVerb(const Napi::CallbackInfo& info);
Napi::Value UdpSocketVerb(const Napi::CallbackInfo& info);  // synchronous
Napi::Value UdpEpollVerb(const Napi::CallbackInfo& info);   // synchronous
Napi::Value UdpCloseVerb(const Napi::CallbackInfo& info);   // synchronous
Napi::Value UdpServeVerb(const Napi::CallbackInfo& info);   // synchronous
void UdpEpollAdd(int epfd, int fd, uint32_t token);         // udp_epoll.cc, for udpSocket
Napi::Value FlockVerb(const Napi::CallbackInfo& info);
Napi::Value SpawnVerb(const Napi::CallbackInfo& info);
Napi::Value WaitpidVerb(const Napi::CallbackInfo& info);
Napi::Value RlimitNofileRaiseVerb(const Napi::CallbackInfo& info);
Napi::Value UnixRequestVerb(const Napi::CallbackInfo& info);
Napi::Value PeerCredVerb(const Napi::CallbackInfo& info);  // synchronous

}  // namespace nsnet
