// A UDP or TCP socket bound inside a network namespace, handed to JavaScript
// as an fd.
//
// This is how Docker's embedded DNS answers at 127.0.0.11 inside every
// container while running in the daemon: the socket is created in the
// container's namespace and served from outside. Node adopts the fd with
// dgram's socket.bind({fd}) or net.Server.listen({fd}); the socket keeps its
// namespace, so no Node thread ever enters it.
//
//   ip netns exec web ss -lntu      shows the socket (with no process: it is ours)
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "args.h"
#include "fd.h"
#include "in_netns.h"
#include "nft_run.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct Spec {
  IpAddr addr;
  int port = 0;
  int backlog = 511;
  bool tcp = false;
};

struct Bound {
  int fd = -1;
  int port = 0;
};

Spec ReadSpec(const Napi::Object& o) {
  std::string type = OptStr(o, "type").value_or("");
  if (type != "udp" && type != "tcp") throw Napi::TypeError::New(o.Env(), "type must be \"udp\" or \"tcp\"");
  auto addr = OptIp(o, "address");
  if (!addr) throw Napi::TypeError::New(o.Env(), "socketBind needs an address");
  Spec s;
  s.addr = *addr;
  s.port = static_cast<int>(OptInt(o, "port", 0, 65535).value_or(0));
  s.backlog = static_cast<int>(OptInt(o, "backlog", 1, 65535).value_or(511));
  s.tcp = type == "tcp";
  return s;
}

// Moves fd to 1024 and up, when the fd limit allows.
void MoveHigh(UniqueFd& fd) {
  int high = ::fcntl(fd.Get(), F_DUPFD_CLOEXEC, 1024);
  if (high >= 0) fd.Reset(high);
}

// On the namespace's thread: a socket, bound (and listening, for TCP).
UniqueFd BindOne(const Spec& sp, int* portOut) {
  const char* op = "socketBind";
  const IpAddr& a = sp.addr;
  // Non-blocking: libuv expects it of an adopted fd.
  UniqueFd fd(::socket(a.family, (sp.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.Valid()) ThrowErrno("socket", op);
  int one = 1;
  ::setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len;
  if (a.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(sp.port));
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(sp.port));
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    len = sizeof *sin6;
  }
  if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) ThrowErrno("bind", op);
  if (sp.tcp && ::listen(fd.Get(), sp.backlog) < 0) ThrowErrno("listen", op);
  sockaddr_storage got{};
  socklen_t glen = sizeof got;
  if (::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&got), &glen) < 0) ThrowErrno("getsockname", op);
  *portOut = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  // A server holding thousands of these (the DNS server: two per
  // sandbox) must keep fds below FD_SETSIZE free: libnftables still
  // select()s on its netlink socket, and glibc aborts the process when
  // FD_SET gets an fd >= 1024. So these live at 1024 and up when the
  // fd limit allows.
  MoveHigh(fd);
  return fd;
}

Napi::Value BoundToJs(Napi::Env env, const Bound& b) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", b.fd);
  r.Set("port", b.port);
  return r;
}

}  // namespace

// udpSocket(address, {peer?, peerPort?, send?}) -> {fd, port}: a UDP socket
// in the caller's own namespace, bound to address:0, so the kernel picks a
// random ephemeral port (net.ipv4.ip_local_port_range); with `peer`, also
// connect()ed to peer:peerPort (the kernel then drops datagrams from anyone
// else) and, with `send`, that datagram sent. The DNS forwarder makes one per
// forwarded query (RFC 5452: a source port an off-path attacker cannot guess)
// and adopts the fd with dgram's bind({fd}) to read the answer: connected
// before anything arrives, sent in the same call. Synchronous, unlike the
// other verbs: socket(), bind(), connect() and send() on UDP in the calling
// thread's namespace never block, and a trip through the thread pool per
// query would cost more than the work. The fd lives at 1024 and up, as
// socketBind's: up to MAX_INFLIGHT of these at once must not take the low fds
// libnftables' select() needs.
Napi::Value UdpSocketVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "udpSocket needs an address");
  Napi::Object a = Napi::Object::New(env);
  a.Set("address", info[0]);
  auto addr = OptIp(a, "address");
  if (!addr) throw Napi::TypeError::New(env, "udpSocket needs an IP address");
  std::optional<IpAddr> peer;
  int peerPort = 0;
  Napi::Buffer<uint8_t> data;
  int epfd = -1;
  uint32_t token = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    peer = OptIp(o, "peer");
    epfd = static_cast<int>(OptInt(o, "epoll", 0, INT32_MAX).value_or(-1));
    token = static_cast<uint32_t>(OptInt(o, "token", 0, UINT32_MAX).value_or(0));
    peerPort = static_cast<int>(OptInt(o, "peerPort", 0, 65535).value_or(0));
    Napi::Value d = o.Get("send");
    if (!d.IsUndefined()) {
      if (!d.IsBuffer() || !peer) throw Napi::TypeError::New(env, "send must be a Buffer, with a peer");
      data = d.As<Napi::Buffer<uint8_t>>();
    }
  }
  auto sockaddrOf = [](const IpAddr& ip, int port, sockaddr_storage* ss) -> socklen_t {
    if (ip.family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(static_cast<uint16_t>(port));
      std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
      return sizeof *sin;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
    return sizeof *sin6;
  };
  try {
    const char* op = "udpSocket";
    UniqueFd fd(::socket(addr->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.Valid()) ThrowErrno("socket", op);
    // A wildcard address with a peer: connect() binds the socket itself, to a random
    // ephemeral port chosen exactly as bind(:0) would (inet_autobind); one call fewer.
    bool wildcard = std::all_of(addr->bytes.begin(), addr->bytes.end(), [](uint8_t b) { return b == 0; });
    if (!peer || !wildcard) {
      sockaddr_storage ss{};
      socklen_t len = sockaddrOf(*addr, 0, &ss);
      if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) ThrowErrno("bind", op);
    }
    if (peer) {
      sockaddr_storage ps{};
      socklen_t plen = sockaddrOf(*peer, peerPort, &ps);
      if (::connect(fd.Get(), reinterpret_cast<sockaddr*>(&ps), plen) < 0) ThrowErrno("connect", op);
      if (!data.IsEmpty() && ::send(fd.Get(), data.Data(), data.Length(), 0) < 0) ThrowErrno("send", op);
    }
    sockaddr_storage got{};
    socklen_t glen = sizeof got;
    if (::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&got), &glen) < 0) ThrowErrno("getsockname", op);
    MoveHigh(fd);
    if (epfd >= 0) UdpEpollAdd(epfd, fd.Get(), token);
    Bound b;
    b.port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    b.fd = fd.Release();
    return BoundToJs(env, b);
  } catch (const KernelError& e) {
    throw e.ToJs(env);
  }
}

// socketBind(nsFd, {type: "udp"|"tcp", address, port? = 0, backlog? = 511}) -> {fd, port}
// socketBind(nsFd, {sockets: [{type, address, port?, backlog?}, ...], nft?}) -> [{fd, port}, ...]
//
// The list form binds every socket and then applies `nft` (text, as for
// nftApply) in the same namespace, on one thread: one trip instead of one
// per socket plus one for the rules. The text can use the ports the kernel
// picked as nft variables: $port0, $port1, ... (prepended as `define`s).
// All or nothing: if a socket or the rules fail, every socket is closed.
Napi::Value SocketBindVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  Napi::Object o = ArgObject(info, 1);
  Napi::Value list = o.Get("sockets");
  if (list.IsUndefined()) {
    Spec sp = ReadSpec(o);
    return Task<Bound>::Queue(
        info.Env(), "socketBind",
        [nsfd, sp] {
          return RunInNetns(nsfd, "socketBind", [&] {
            Bound b;
            b.fd = BindOne(sp, &b.port).Release();
            return b;
          });
        },
        BoundToJs);
  }
  if (!list.IsArray()) throw Napi::TypeError::New(info.Env(), "sockets must be an array");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Spec> specs;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(info.Env(), "each socket must be an options object");
    specs.push_back(ReadSpec(v.As<Napi::Object>()));
  }
  std::optional<std::string> nft = OptStr(o, "nft");
  return Task<std::vector<Bound>>::Queue(
      info.Env(), "socketBind",
      [nsfd, specs, nft] {
        return RunInNetns(nsfd, "socketBind", [&] {
          std::vector<UniqueFd> fds;
          std::vector<Bound> out(specs.size());
          std::string defines;
          for (size_t i = 0; i < specs.size(); ++i) {
            fds.push_back(BindOne(specs[i], &out[i].port));
            defines += "define port" + std::to_string(i) + " = " + std::to_string(out[i].port) + "\n";
          }
          if (nft) NftRun(defines + *nft, false, false);
          for (size_t i = 0; i < specs.size(); ++i) out[i].fd = fds[i].Release();
          return out;
        });
      },
      [](Napi::Env env, std::vector<Bound>& bs) {
        Napi::Array r = Napi::Array::New(env, bs.size());
        for (uint32_t i = 0; i < bs.size(); ++i) r.Set(i, BoundToJs(env, bs[i]));
        return r;
      });
}

}  // namespace nsnet
