// One request and its one-line reply over a unix stream socket: how a CLI
// call talks to the long-lived DNS server (src/dns/control.ts).
//
//   echo '{"op":"ping"}' | socat - UNIX-CONNECT:/run/nsnet/dns.sock
//
// Why in the addon: a CLI call is a fresh Node process, and node:net (with
// node:stream under it) costs ~2.5 ms to load before the first byte is sent;
// here it is connect, write, read on a pool thread. Long-lived callers keep a
// node:net connection open instead (control.ts requestKept).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "fd.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

long long NowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Waits until `fd` is ready for `events`, or throws ETIMEDOUT at `deadline`.
void WaitFor(int fd, short events, long long deadline, const std::string& path) {
  for (;;) {
    long long left = deadline - NowMs();
    if (left <= 0) ThrowErr(ETIMEDOUT, "poll", "unixRequest", path);
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return;
    if (rc < 0 && errno != EINTR) ThrowErrno("poll", "unixRequest", path);
  }
}

std::string Exchange(const std::string& path, const std::string& text, long long timeoutMs) {
  const char* op = "unixRequest";
  long long deadline = NowMs() + timeoutMs;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) ThrowErr(ENAMETOOLONG, "connect", op, path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.Valid()) ThrowErrno("socket", op, path);
  if (::connect(fd.Get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    // A full backlog: EAGAIN on a non-blocking unix socket; wait for it like a slow connect.
    if (errno != EAGAIN && errno != EINPROGRESS) ThrowErrno("connect", op, path);
    WaitFor(fd.Get(), POLLOUT, deadline, path);
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) ThrowErr(err, "connect", op, path);
  }
  for (size_t sent = 0; sent < text.size();) {
    ssize_t n = ::send(fd.Get(), text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      WaitFor(fd.Get(), POLLOUT, deadline, path);
    } else if (errno != EINTR) {
      ThrowErrno("send", op, path);
    }
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.Get(), buf, sizeof(buf), 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      size_t nl = reply.find('\n');
      if (nl != std::string::npos) return reply.substr(0, nl);
    } else if (n == 0) {
      ThrowErr(ECONNRESET, "recv", op, path);  // closed before a whole line
    } else if (errno == EAGAIN) {
      WaitFor(fd.Get(), POLLIN, deadline, path);
    } else if (errno != EINTR) {
      ThrowErrno("recv", op, path);
    }
  }
}

}  // namespace

// unixRequest(path, text, {timeoutMs? = 10000}) -> the reply's first line
Napi::Value UnixRequestVerb(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  std::string text = ArgString(info, 1, "text");
  long long timeoutMs = 10000;
  if (info.Length() > 2 && info[2].IsObject()) {
    timeoutMs = OptInt(info[2].As<Napi::Object>(), "timeoutMs", 1, 3600000).value_or(10000);
  }
  return Task<std::string>::Queue(
      info.Env(), "unixRequest", [path, text, timeoutMs] { return Exchange(path, text, timeoutMs); },
      [](Napi::Env env, std::string& r) -> Napi::Value { return Napi::String::New(env, r); });
}

}  // namespace nsnet
