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

#include "args.h"
#include "fd.h"
#include "in_netns.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct Bound {
  int fd = -1;
  int port = 0;
};

}  // namespace

// socketBind(nsFd, {type: "udp"|"tcp", address, port? = 0, backlog? = 511}) -> {fd, port}
Napi::Value SocketBindVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  Napi::Object o = ArgObject(info, 1);
  std::string type = OptStr(o, "type").value_or("");
  if (type != "udp" && type != "tcp") throw Napi::TypeError::New(info.Env(), "type must be \"udp\" or \"tcp\"");
  auto addr = OptIp(o, "address");
  if (!addr) throw Napi::TypeError::New(info.Env(), "socketBind needs an address");
  int port = static_cast<int>(OptInt(o, "port", 0, 65535).value_or(0));
  int backlog = static_cast<int>(OptInt(o, "backlog", 1, 65535).value_or(511));
  IpAddr a = *addr;
  bool tcp = type == "tcp";
  return Task<Bound>::Queue(
      info.Env(), "socketBind",
      [nsfd, a, port, backlog, tcp] {
        return RunInNetns(nsfd, "socketBind", [&] {
          const char* op = "socketBind";
          // Non-blocking: libuv expects it of an adopted fd.
          UniqueFd fd(::socket(a.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
          if (!fd.Valid()) ThrowErrno("socket", op);
          int one = 1;
          ::setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
          sockaddr_storage ss{};
          socklen_t len;
          if (a.family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            sin->sin_family = AF_INET;
            sin->sin_port = htons(static_cast<uint16_t>(port));
            std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
            len = sizeof *sin;
          } else {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons(static_cast<uint16_t>(port));
            std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
            len = sizeof *sin6;
          }
          if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) ThrowErrno("bind", op);
          if (tcp && ::listen(fd.Get(), backlog) < 0) ThrowErrno("listen", op);
          sockaddr_storage got{};
          socklen_t glen = sizeof got;
          if (::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&got), &glen) < 0) ThrowErrno("getsockname", op);
          Bound b;
          b.port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                                  : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
          // A server holding thousands of these (the DNS server: two per
          // sandbox) must keep fds below FD_SETSIZE free: libnftables still
          // select()s on its netlink socket, and glibc aborts the process when
          // FD_SET gets an fd >= 1024. So these live at 1024 and up when the
          // fd limit allows.
          int high = ::fcntl(fd.Get(), F_DUPFD_CLOEXEC, 1024);
          if (high >= 0) fd.Reset(high);
          b.fd = fd.Release();
          return b;
        });
      },
      [](Napi::Env env, Bound& b) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("fd", b.fd);
        r.Set("port", b.port);
        return r;
      });
}

}  // namespace nsnet
