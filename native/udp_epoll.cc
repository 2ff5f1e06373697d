// Replies to many connected UDP sockets, read in batches: one epoll set,
// watched by the Node event loop (a uv_poll on the epoll fd), instead of a
// dgram handle per socket.
//
// The DNS forwarder opens a socket per forwarded query (RFC 5452: a random
// source port), registers it here (udpSocket's `epoll`, `token`), and gets
// every reply that arrived since the last turn of the loop in ONE call:
// epoll_wait(), then recv() on each ready socket, on the JS thread. A dgram
// socket per query cost a libuv handle, a JS object graph and a deferred
// close each; this costs one epoll_ctl() to add and one to remove.
//
//   ls -l /proc/PID/fd | grep eventpoll      the set;  cat /proc/PID/fdinfo/FD  its sockets
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>

#include "args.h"
#include "error.h"
#include "verbs.h"

namespace nsnet {
namespace {

constexpr int kBatch = 256;       // sockets per epoll_wait
constexpr int kPerSocket = 4;     // datagrams read per ready socket per turn (a spray can't starve the others)
constexpr size_t kMaxDatagram = 65535;

struct Epoll {
  int fd = -1;
  uv_poll_t poll;
  Napi::Env env;
  Napi::FunctionReference onReplies;
  Napi::AsyncContext ctx;
  bool closed = false;
  Epoll(Napi::Env e, Napi::Function cb) : env(e), onReplies(Napi::Persistent(cb)), ctx(e, "nsnet:udpEpoll") {}
};

uint8_t buf[kMaxDatagram];

void OnReadable(uv_poll_t* h, int status, int events) {
  auto* ep = static_cast<Epoll*>(h->data);
  if (ep->closed) return;
  Napi::Env env = ep->env;
  Napi::HandleScope scope(env);
  epoll_event ev[kBatch];
  int n = ::epoll_wait(ep->fd, ev, kBatch, 0);
  if (n <= 0) return;
  // tokens[i] and data[i]: a datagram (Buffer) or an errno (ECONNREFUSED: the upstream refused).
  Napi::Array tokens = Napi::Array::New(env);
  Napi::Array data = Napi::Array::New(env);
  uint32_t k = 0;
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(ev[i].data.u64 & 0xffffffffu);
    uint32_t token = static_cast<uint32_t>(ev[i].data.u64 >> 32);
    for (int j = 0; j < kPerSocket; ++j) {
      ssize_t got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
      tokens.Set(k, token);
      if (got < 0) {
        data.Set(k++, errno);
        break;
      }
      data.Set(k++, Napi::Buffer<uint8_t>::Copy(env, buf, static_cast<size_t>(got)));
    }
  }
  if (k) ep->onReplies.MakeCallback(env.Global(), {tokens, data}, ep->ctx);
}

}  // namespace

// udpEpoll(onReplies(tokens, data)) -> {fd, close()}: an epoll set watched by
// the event loop. Sockets join with udpSocket(..., {epoll: fd, token}) and
// leave with udpClose(fd, epollFd). onReplies gets, per turn of the loop,
// each datagram (or errno) with its socket's token. The watch does not keep
// the loop alive (uv_unref): the caller's timers do, while queries are out.
Napi::Value UdpEpollVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "udpEpoll needs a function");
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    KernelError e;
    e.err = errno;
    e.syscall = "epoll_create1";
    e.op = "udpEpoll";
    throw e.ToJs(env);
  }
  auto* ep = new Epoll(env, info[0].As<Napi::Function>());
  ep->fd = fd;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &ep->poll, fd);
  ep->poll.data = ep;
  uv_poll_start(&ep->poll, UV_READABLE, OnReadable);
  uv_unref(reinterpret_cast<uv_handle_t*>(&ep->poll));
  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", fd);
  r.Set("close", Napi::Function::New(env, [ep](const Napi::CallbackInfo&) {
    if (ep->closed) return;
    ep->closed = true;
    uv_poll_stop(&ep->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&ep->poll), [](uv_handle_t* h) {
      auto* e = static_cast<Epoll*>(h->data);
      ::close(e->fd);
      delete e;
    });
  }, "close"));
  return r;
}

// Registers a socket made by udpSocket; data.u64 carries its token and fd.
void UdpEpollAdd(int epfd, int fd, uint32_t token) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (static_cast<uint64_t>(token) << 32) | static_cast<uint32_t>(fd);
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) ThrowErrno("epoll_ctl", "udpSocket");
}

// udpClose(fd, epollFd?): out of the set first, then closed - so no event for
// this fd number can reach a socket that reuses it (a fork()ed child's copy of
// the fd would otherwise keep the registration alive).
Napi::Value UdpCloseVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  if (info.Length() > 1 && info[1].IsNumber()) ::epoll_ctl(info[1].As<Napi::Number>().Int32Value(), EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  return info.Env().Undefined();
}

}  // namespace nsnet
