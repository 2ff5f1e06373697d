// Replies to many connected UDP sockets, read in batches: one epoll set,
// watched by the Node event loop (a uv_poll on the epoll fd), instead of a
// dgram handle per socket.
//
// The DNS forwarder's sockets (forward.ts, upstream-sockets.ts: a pool of
// random-port sockets per upstream, RFC 5452) are made with the set's open()
// below (made, connected and registered in one call), and every reply that
// arrived since the last turn of the loop comes in ONE call: epoll_wait(),
// then a recvmmsg() on each ready socket, on the JS thread. A dgram socket per
// query cost a libuv handle, a JS object graph and a deferred close each.
// Sockets made by udpSocket(..., {epoll, token}) join level-triggered too.
//
//   ls -l /proc/PID/fd | grep eventpoll      the set;  cat /proc/PID/fdinfo/FD  its sockets
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <cstring>

#include "args.h"
#include "error.h"
#include "fd.h"
#include "verbs.h"

namespace nsnet {
namespace {

constexpr int kBatch = 256;       // sockets per epoll_wait
// Datagrams read per ready socket per turn. A socket of its own (udpSocket) waits for one answer:
// one recv (the EAGAIN a second would get is a wasted system call); anything more stays queued,
// and the level-triggered set reports it next turn.
// A shared socket (open(): the forwarder's pool, several queries in flight on it) is read with ONE
// recvmmsg of up to kPerShared: every answer that is there, in one system call.
constexpr int kPerShared = 16;
constexpr size_t kMaxDatagram = 65535;
// In data.u64's low word, next to the fd (always < 2^31): the socket is a shared one.
constexpr uint32_t kShared = 0x80000000u;

struct Epoll {
  int fd = -1;
  uv_poll_t poll;
  Napi::Env env;
  Napi::FunctionReference onReplies;
  Napi::AsyncContext ctx;
  bool closed = false;
  Epoll(Napi::Env e, Napi::Function cb) : env(e), onReplies(Napi::Persistent(cb)), ctx(e, "nsnet:udpEpoll") {}
};

uint8_t buf[kPerShared][kMaxDatagram];
iovec iov[kPerShared];
mmsghdr msgs[kPerShared];

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
    uint32_t low = static_cast<uint32_t>(ev[i].data.u64 & 0xffffffffu);
    int fd = static_cast<int>(low & ~kShared);
    uint32_t token = static_cast<uint32_t>(ev[i].data.u64 >> 32);
    if (!(low & kShared)) {
      ssize_t got = ::recv(fd, buf[0], kMaxDatagram, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      tokens.Set(k, token);
      if (got < 0) data.Set(k++, errno);
      else data.Set(k++, Napi::Buffer<uint8_t>::Copy(env, buf[0], static_cast<size_t>(got)));
      continue;
    }
    for (int j = 0; j < kPerShared; ++j) {
      iov[j] = {buf[j], kMaxDatagram};
      msgs[j] = {};
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int got = ::recvmmsg(fd, msgs, kPerShared, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      tokens.Set(k, token);
      data.Set(k++, errno);
      continue;
    }
    for (int j = 0; j < got; ++j) {
      tokens.Set(k, token);
      data.Set(k++, Napi::Buffer<uint8_t>::Copy(env, buf[j], msgs[j].msg_len));
    }
  }
  if (k) ep->onReplies.MakeCallback(env.Global(), {tokens, data}, ep->ctx);
}

// The peer's address from its bytes (4: IPv4, 16: IPv6) and port; its length.
socklen_t PeerAddr(Napi::Env env, Napi::Buffer<uint8_t> peer, uint32_t port, sockaddr_storage& ss) {
  socklen_t len;
  if (peer.Length() == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin->sin_addr, peer.Data(), 4);
    len = sizeof *sin;
  } else if (peer.Length() == 16) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin6->sin6_addr, peer.Data(), 16);
    len = sizeof *sin6;
  } else {
    throw Napi::TypeError::New(env, "open: peer must be 4 or 16 bytes");
  }
  return len;
}

// A socket connected to the peer (so bound to a random ephemeral port, as bind(:0) would, and
// from then on the kernel drops datagrams from anyone else), moved to fd >= 1024 (up to a thousand
// of these must not take the low fds libnftables' select() needs), in the set level-triggered
// with `token`, marked shared (read with recvmmsg). Throws a KernelError.
int Connected(int epfd, const sockaddr_storage& ss, socklen_t len, uint32_t token) {
  const char* op = "udpSocket";
  UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.Valid()) ThrowErrno("socket", op);
  if (::connect(fd.Get(), reinterpret_cast<const sockaddr*>(&ss), len) < 0) ThrowErrno("connect", op);
  int high = ::fcntl(fd.Get(), F_DUPFD_CLOEXEC, 1024);
  if (high >= 0) fd.Reset(high);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (static_cast<uint64_t>(token) << 32) | static_cast<uint32_t>(fd.Get()) | kShared;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd.Get(), &ev) < 0) ThrowErrno("epoll_ctl", op);
  return fd.Release();
}

// epoll.open(peer, port, token) -> fd: a socket of the forwarder's pool (forward.ts), shared by the
// queries to one upstream while they are in flight: Connected() above, nothing sent; each turn,
// every datagram it holds is read in one recvmmsg. It leaves with udpClose(fd, set).
// `peer` is the address's bytes (4: IPv4, 16: IPv6). Throws the errno as udpSocket does.
Napi::Value Open(const Napi::CallbackInfo& info, int epfd) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "open(peer, port, token)");
  sockaddr_storage ss{};
  socklen_t len = PeerAddr(env, info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Number>().Uint32Value(), ss);
  try {
    return Napi::Number::New(env, Connected(epfd, ss, len, info[2].As<Napi::Number>().Uint32Value()));
  } catch (const KernelError& e) {
    throw e.ToJs(env);
  }
}

// send(fd, data) -> 0 or the errno: one datagram on a connected socket, now (no exception on the
// hot path: the caller treats an errno as that upstream failing).
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "send(fd, data)");
  auto data = info[1].As<Napi::Buffer<uint8_t>>();
  ssize_t n;
  do n = ::send(fd, data.Data(), data.Length(), MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? errno : 0);
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
  r.Set("open", Napi::Function::New(env, [ep](const Napi::CallbackInfo& i) { return Open(i, ep->fd); }, "open"));
  r.Set("send", Napi::Function::New(env, Send, "send"));
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
