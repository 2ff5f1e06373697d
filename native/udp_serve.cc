// Serving many UDP sockets in batches: the DNS server's sockets at
// 127.0.0.11 (one per sandbox, each bound inside its sandbox's namespace) in
// one epoll set, watched by the Node event loop (a uv_poll on the epoll fd,
// as udp_epoll.cc does for the forwarder's sockets).
//
// Per wake-up, on the JS thread: epoll_wait(), then recvmmsg() on the ready
// sockets in turns, at most kPerSocket datagrams from each per turn (a flood
// from one sandbox gets the same share per turn as a quiet one's single
// query), until the batch is full or every socket is drained. The queries,
// their sources and their sockets' tokens go to JavaScript in ONE call, in
// buffers made once and reused (no JS object per query). JavaScript writes the
// replies into another reused buffer and returns how many; they go out with
// one sendmmsg() per run of replies on the same socket. A datagram path of
// ~2 system calls per batch instead of a recvmsg and a sendmsg (and a libuv
// handle's bookkeeping, and a JS `message` event with its `rinfo`) per query.
//
// The layout JavaScript sees (kernel/socket.ts udpServe):
//   queries     slot i at i*kSlot, kSlot bytes: the datagram (its first kSlot bytes)
//   head        per query 4 u32: token, source IPv4 (host order), source port, length
//               (the datagram's real length: more than kSlot means it was cut)
//   replies     bytes, written by JavaScript
//   replyHead   per reply 3 u32: query index (whose source and socket it goes to), offset, length
//
//   ls -l /proc/PID/fd | grep eventpoll      the sets;  cat /proc/PID/fdinfo/FD  their sockets
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <cstring>

#include "args.h"
#include "error.h"
#include "verbs.h"

namespace nsnet {
namespace {

constexpr int kSlots = 256;          // datagrams per batch
constexpr size_t kSlot = 2048;       // bytes kept of each (a DNS query is far smaller; a longer one is cut and marked)
constexpr int kPerSocket = 32;       // datagrams read from one socket per turn
constexpr int kEvents = 256;         // sockets per epoll_wait
constexpr size_t kReplyBytes = 256 * 1024;

struct Server {
  int fd = -1;
  uv_poll_t poll;
  Napi::Env env;
  Napi::FunctionReference onBatch;
  Napi::AsyncContext ctx;
  Napi::Reference<Napi::ArrayBuffer> queriesRef, headRef, repliesRef, replyHeadRef;
  uint8_t* queries = nullptr;
  uint32_t* head = nullptr;
  uint8_t* replies = nullptr;
  uint32_t* replyHead = nullptr;
  // Per slot: where it came from and on which socket (for the replies).
  sockaddr_in src[kSlots];
  int sock[kSlots];
  mmsghdr in[kSlots];
  iovec inIov[kSlots];
  mmsghdr out[kSlots];
  iovec outIov[kSlots];
  bool closed = false;
  Server(Napi::Env e, Napi::Function cb) : env(e), onBatch(Napi::Persistent(cb)), ctx(e, "nsnet:udpServe") {}
};

struct Ready {
  int fd;
  uint32_t token;
  bool more;
};

// Sends replies [from, to) of `s->out`, all on socket `fd`. A reply the kernel
// refuses (EAGAIN on a full send buffer, EPERM from a firewall) is dropped, as a
// lost datagram would be; the rest still go.
void SendRun(int fd, mmsghdr* msgs, int n) {
  int done = 0;
  while (done < n) {
    int r = ::sendmmsg(fd, msgs + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    done += r > 0 ? r : 1;
  }
}

void OnReadable(uv_poll_t* h, int status, int events) {
  auto* s = static_cast<Server*>(h->data);
  if (s->closed) return;
  epoll_event ev[kEvents];
  int n = ::epoll_wait(s->fd, ev, kEvents, 0);
  if (n <= 0) return;
  Ready ready[kEvents];
  for (int i = 0; i < n; ++i)
    ready[i] = {static_cast<int>(ev[i].data.u64 & 0xffffffffu), static_cast<uint32_t>(ev[i].data.u64 >> 32), true};
  // Turns over the ready sockets: each gives at most kPerSocket per turn.
  int count = 0;
  for (bool again = true; again && count < kSlots;) {
    again = false;
    for (int i = 0; i < n && count < kSlots; ++i) {
      Ready& r = ready[i];
      if (!r.more) continue;
      int want = kSlots - count < kPerSocket ? kSlots - count : kPerSocket;
      for (int k = count; k < count + want; ++k) {
        s->in[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        s->in[k].msg_hdr.msg_flags = 0;
      }
      // MSG_TRUNC: msg_len is the datagram's real length, even when longer than the slot.
      int got = ::recvmmsg(r.fd, s->in + count, static_cast<unsigned>(want), MSG_DONTWAIT | MSG_TRUNC, nullptr);
      if (got <= 0) {
        r.more = false;  // EAGAIN: drained (another error: nothing to read now either)
        continue;
      }
      for (int k = count; k < count + got; ++k) {
        uint32_t* hd = s->head + 4 * k;
        const sockaddr_in& a = s->src[k];
        bool v4 = s->in[k].msg_hdr.msg_namelen >= sizeof(sockaddr_in) && a.sin_family == AF_INET;
        hd[0] = r.token;
        hd[1] = v4 ? ntohl(a.sin_addr.s_addr) : 0;
        hd[2] = v4 ? ntohs(a.sin_port) : 0;
        hd[3] = s->in[k].msg_len;
        s->sock[k] = r.fd;
      }
      count += got;
      if (got == want) again = true;
      else r.more = false;
    }
  }
  if (count == 0) return;

  Napi::Env env = s->env;
  Napi::HandleScope scope(env);
  uint32_t replies = 0;
  try {
    Napi::Value v = s->onBatch.MakeCallback(env.Global(), {Napi::Number::New(env, count)}, s->ctx);
    if (v.IsNumber()) replies = v.As<Napi::Number>().Uint32Value();
  } catch (const Napi::Error& e) {
    // As an exception thrown in any event callback: the process's uncaughtException.
    napi_fatal_exception(env, e.Value());
    return;
  }
  if (s->closed) return;  // closed from the callback: the sockets may be gone
  if (replies > static_cast<uint32_t>(count)) replies = count;
  // Runs of replies to the same socket, one sendmmsg each.
  int m = 0;
  int runFd = -1;
  int runStart = 0;
  for (uint32_t j = 0; j < replies; ++j) {
    const uint32_t* rh = s->replyHead + 3 * j;
    uint32_t q = rh[0], off = rh[1], len = rh[2];
    if (q >= static_cast<uint32_t>(count) || off > kReplyBytes || len > kReplyBytes - off) continue;
    int fd = s->sock[q];
    if (fd != runFd) {
      if (m > runStart) SendRun(runFd, s->out + runStart, m - runStart);
      runFd = fd;
      runStart = m;
    }
    mmsghdr& o = s->out[m++];
    s->outIov[m - 1] = {s->replies + off, len};
    o.msg_hdr = {};
    o.msg_hdr.msg_name = &s->src[q];
    o.msg_hdr.msg_namelen = sizeof(sockaddr_in);
    o.msg_hdr.msg_iov = &s->outIov[m - 1];
    o.msg_hdr.msg_iovlen = 1;
  }
  if (m > runStart) SendRun(runFd, s->out + runStart, m - runStart);
}

Napi::ArrayBuffer Shared(Napi::Env env, size_t size, Napi::Reference<Napi::ArrayBuffer>* ref) {
  Napi::ArrayBuffer b = Napi::ArrayBuffer::New(env, size);
  *ref = Napi::Persistent(b);
  return b;
}

}  // namespace

// udpServe(onBatch(count) -> replies) -> {fd, slots, slotSize, queries, head,
// replies, replyHead, add(fd, token), sendTo(fd, data, addr, port), close()}:
// the batched datagram path above. Sockets (made by socketBind, AF_INET)
// join with add() and leave with udpClose(fd, set.fd). sendMany(list, n) sends n
// datagrams listed as [fd, addr, port, data, ...] (runs on the same socket: one
// sendmmsg each; the forwarder's answers of a turn). sendTo() sends one
// datagram at once (a reply that comes later: a forwarded query's). The
// watch does not keep the loop alive (uv_unref).
Napi::Value UdpServeVerb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "udpServe needs a function");
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    KernelError e;
    e.err = errno;
    e.syscall = "epoll_create1";
    e.op = "udpServe";
    throw e.ToJs(env);
  }
  auto* s = new Server(env, info[0].As<Napi::Function>());
  s->fd = fd;
  Napi::ArrayBuffer queries = Shared(env, kSlots * kSlot, &s->queriesRef);
  Napi::ArrayBuffer head = Shared(env, kSlots * 4 * sizeof(uint32_t), &s->headRef);
  Napi::ArrayBuffer replies = Shared(env, kReplyBytes, &s->repliesRef);
  Napi::ArrayBuffer replyHead = Shared(env, kSlots * 3 * sizeof(uint32_t), &s->replyHeadRef);
  s->queries = static_cast<uint8_t*>(queries.Data());
  s->head = static_cast<uint32_t*>(head.Data());
  s->replies = static_cast<uint8_t*>(replies.Data());
  s->replyHead = static_cast<uint32_t*>(replyHead.Data());
  for (int k = 0; k < kSlots; ++k) {
    s->inIov[k] = {s->queries + k * kSlot, kSlot};
    s->in[k] = {};
    s->in[k].msg_hdr.msg_name = &s->src[k];
    s->in[k].msg_hdr.msg_iov = &s->inIov[k];
    s->in[k].msg_hdr.msg_iovlen = 1;
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, OnReadable);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));

  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", fd);
  r.Set("slots", kSlots);
  r.Set("slotSize", static_cast<double>(kSlot));
  r.Set("queries", queries);
  r.Set("head", head);
  r.Set("replies", replies);
  r.Set("replyHead", replyHead);
  r.Set("add", Napi::Function::New(env, [s](const Napi::CallbackInfo& i) {
    if (s->closed) throw Napi::Error::New(i.Env(), "udpServe: the set is closed");
    int sfd = ArgFd(i, 0);
    if (i.Length() < 2 || !i[1].IsNumber()) throw Napi::TypeError::New(i.Env(), "token must be a number");
    try {
      UdpEpollAdd(s->fd, sfd, i[1].As<Napi::Number>().Uint32Value());
    } catch (const KernelError& e) {
      throw e.ToJs(i.Env());
    }
    return i.Env().Undefined();
  }, "add"));
  r.Set("sendTo", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    Napi::Env e = i.Env();
    int sfd = ArgFd(i, 0);
    if (i.Length() < 4 || !i[1].IsBuffer() || !i[2].IsNumber() || !i[3].IsNumber())
      throw Napi::TypeError::New(e, "sendTo(fd, data, addr, port)");
    auto data = i[1].As<Napi::Buffer<uint8_t>>();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(i[2].As<Napi::Number>().Uint32Value());
    a.sin_port = htons(static_cast<uint16_t>(i[3].As<Napi::Number>().Uint32Value()));
    // Dropped if the kernel refuses it now, as a lost datagram: the client asks again.
    ssize_t n = ::sendto(sfd, data.Data(), data.Length(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), sizeof a);
    return Napi::Boolean::New(e, n >= 0);
  }, "sendTo"));
  r.Set("sendMany", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    Napi::Env e = i.Env();
    if (i.Length() < 2 || !i[0].IsArray() || !i[1].IsNumber()) throw Napi::TypeError::New(e, "sendMany(list, count)");
    Napi::Array list = i[0].As<Napi::Array>();
    uint32_t count = i[1].As<Napi::Number>().Uint32Value();
    if (count > list.Length() / 4) count = list.Length() / 4;
    // Up to kSlots per call; runs of the same socket, one sendmmsg each. Dropped if refused, as sendTo.
    mmsghdr msgs[kSlots];
    iovec iovs[kSlots];
    sockaddr_in addrs[kSlots];
    int fds[kSlots];
    uint32_t sent = 0;
    for (uint32_t j = 0; j < count;) {
      int m = 0;
      for (; j < count && m < kSlots; ++j) {
        Napi::Value fd = list[4 * j], addr = list[4 * j + 1], port = list[4 * j + 2], data = list[4 * j + 3];
        if (!fd.IsNumber() || !addr.IsNumber() || !port.IsNumber() || !data.IsBuffer()) continue;
        auto b = data.As<Napi::Buffer<uint8_t>>();
        addrs[m] = {};
        addrs[m].sin_family = AF_INET;
        addrs[m].sin_addr.s_addr = htonl(addr.As<Napi::Number>().Uint32Value());
        addrs[m].sin_port = htons(static_cast<uint16_t>(port.As<Napi::Number>().Uint32Value()));
        iovs[m] = {b.Data(), b.Length()};
        msgs[m] = {};
        msgs[m].msg_hdr.msg_name = &addrs[m];
        msgs[m].msg_hdr.msg_namelen = sizeof addrs[m];
        msgs[m].msg_hdr.msg_iov = &iovs[m];
        msgs[m].msg_hdr.msg_iovlen = 1;
        fds[m++] = fd.As<Napi::Number>().Int32Value();
      }
      for (int a = 0; a < m;) {
        int b = a + 1;
        while (b < m && fds[b] == fds[a]) ++b;
        SendRun(fds[a], msgs + a, b - a);
        sent += b - a;
        a = b;
      }
    }
    return Napi::Number::New(e, sent);
  }, "sendMany"));
  r.Set("close", Napi::Function::New(env, [s](const Napi::CallbackInfo& i) {
    if (s->closed) return;
    s->closed = true;
    uv_poll_stop(&s->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), [](uv_handle_t* h) {
      auto* x = static_cast<Server*>(h->data);
      ::close(x->fd);
      delete x;
    });
  }, "close"));
  return r;
}

}  // namespace nsnet
