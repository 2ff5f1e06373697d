// peerCred(fd) -> {pid, uid, gid}: who is at the other end of a connected unix
// socket (SO_PEERCRED, taken by the kernel at connect(2)). The resident nsnet
// process checks it before running a CNI request (src/cli/cni-serve.ts):
// node:net does not expose it. Synchronous: getsockopt does not block.
#include <errno.h>
#include <sys/socket.h>

#include "args.h"
#include "error.h"
#include "verbs.h"

namespace nsnet {

Napi::Value PeerCredVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0) {
    KernelError k;
    k.err = errno;
    k.syscall = "getsockopt";
    k.op = "peerCred";
    throw k.ToJs(env);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, c.pid));
  o.Set("uid", Napi::Number::New(env, c.uid));
  o.Set("gid", Napi::Number::New(env, c.gid));
  return o;
}

}  // namespace nsnet
