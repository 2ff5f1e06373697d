#include "nlsock.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "error.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace nsnet {
namespace {

std::atomic<uint32_t> g_seq{1};

// One lock per fd number, so two verbs on the same socket never read each
// other's replies. Entries are never freed: a reused fd number reuses its lock.
std::mutex& FdLock(int fd) {
  static std::mutex table_lock;
  static std::unordered_map<int, std::unique_ptr<std::mutex>> table;
  std::lock_guard<std::mutex> g(table_lock);
  auto& m = table[fd];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

// Parses struct nlmsgerr and the extended-ack TLVs after it:
//
//   | nlmsghdr | int error | nlmsghdr of our request | [request payload] | TLVs |
//
// The request payload is absent when NLM_F_CAPPED is set (NETLINK_CAP_ACK).
KernelError ErrorFromAck(const nlmsghdr* h, const char* op) {
  KernelError e;
  e.syscall = "sendmsg";
  e.op = op;
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  e.err = -err->error;
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return e;
  size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - NLMSG_HDRLEN;
  if (off >= h->nlmsg_len) return e;
  const auto* tlv = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(h) + off);
  std::vector<const rtattr*> tb;
  ParseAttrs(tlv, h->nlmsg_len - off, tb, NLMSGERR_ATTR_MAX);
  if (tb[NLMSGERR_ATTR_MSG]) e.extack = AttrStr(tb[NLMSGERR_ATTR_MSG]);
  if (tb[NLMSGERR_ATTR_OFFS]) e.extackOffset = AttrU32(tb[NLMSGERR_ATTR_OFFS]);
  return e;
}

void Send(int fd, NlMsg& msg, const char* op) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd, msg.Data(), msg.Size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno("sendmsg", op);
}

// Reads replies to `seq` until `done` says stop. Returns false when a dump
// was interrupted and should be retried.
bool Receive(int fd, uint32_t seq, const char* op, bool dump,
             const std::function<void(const nlmsghdr*)>& each) {
  // 32 KiB is what the kernel fills per dump chunk; rtnetlink messages are far smaller.
  std::vector<uint8_t> buf(64 * 1024);
  bool interrupted = false;
  for (;;) {
    ssize_t n;
    do {
      n = ::recv(fd, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) ThrowErrno("recvmsg", op);
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;  // a stale reply to an earlier, abandoned request
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (err->error == 0) return true;  // the ACK
        throw ErrorFromAck(h, op);
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        // A dump may end with an error code (and extack) in NLMSG_DONE.
        int32_t code = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof code)) std::memcpy(&code, NLMSG_DATA(h), sizeof code);
        if (code < 0) {
          KernelError e;
          e.err = -code;
          e.syscall = "recvmsg";
          e.op = op;
          throw e;
        }
        return !interrupted;
      }
      if (each) each(h);
    }
    (void)dump;
  }
}

}  // namespace

UniqueFd RtnlOpen() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.Valid()) ThrowErrno("socket", "rtnlOpen");
  int one = 1;
  // Extended ack and capped acks exist since Linux 4.12 / 4.3; strict checking
  // since 4.20. A kernel without them still works, it just explains less.
  ::setsockopt(fd.Get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd.Get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  ::setsockopt(fd.Get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  int rcvbuf = 1024 * 1024;
  ::setsockopt(fd.Get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    ThrowErrno("bind", "rtnlOpen");
  return fd;
}

void RtnlTalk(int fd, NlMsg& msg, const char* op,
              const std::function<void(const nlmsghdr*)>& each) {
  std::lock_guard<std::mutex> g(FdLock(fd));
  auto* h = msg.Hdr();
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = g_seq.fetch_add(1);
  Send(fd, msg, op);
  Receive(fd, h->nlmsg_seq, op, false, each);
}

void RtnlDump(int fd, NlMsg& msg, const char* op,
              const std::function<void(const nlmsghdr*)>& each) {
  std::lock_guard<std::mutex> g(FdLock(fd));
  for (int attempt = 0;; ++attempt) {
    std::vector<std::vector<uint8_t>> got;
    auto* h = msg.Hdr();
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = g_seq.fetch_add(1);
    Send(fd, msg, op);
    // Keep copies until the dump is known to be consistent.
    bool ok = Receive(fd, h->nlmsg_seq, op, true, [&](const nlmsghdr* m) {
      const auto* p = reinterpret_cast<const uint8_t*>(m);
      got.emplace_back(p, p + m->nlmsg_len);
    });
    if (ok || attempt >= 4) {
      if (!ok) ThrowErr(EINTR, "recvmsg", op);
      for (auto& m : got) each(reinterpret_cast<const nlmsghdr*>(m.data()));
      return;
    }
  }
}

}  // namespace nsnet
