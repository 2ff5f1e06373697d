// RunInNetns: do some work inside a network namespace without ever moving a
// Node thread there.
//
// setns(2) and unshare(2) change the namespace of the *calling thread* only.
// The JS thread and the libuv pool threads also serve fs, dns.lookup and
// crypto; a pool thread left inside a container's namespace would quietly run
// later work there for the rest of the process's life. So the work runs on a
// fresh std::thread that enters the namespace, does its job and exits; if
// anything goes wrong halfway, the thread dies with it and nothing leaks.
//
// What is opened on that thread (a netlink socket, a /proc/sys file, a UDP
// socket, a libnftables context) stays bound to the namespace it was opened in,
// so the fd can be used from any thread afterwards with no switching.
// Go's containernetworking/plugins pkg/ns/README.md tells the same story.
#pragma once

#include <sched.h>

#include <exception>
#include <optional>
#include <thread>
#include <utility>

#include "error.h"

namespace nsnet {

// nsfd < 0 means "the process's own namespace": the work still runs on a
// fresh thread so callers need not special-case it.
template <typename F>
auto RunInNetns(int nsfd, const char* op, F&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  if constexpr (std::is_void_v<R>) {
    RunInNetns(nsfd, op, [&] {
      fn();
      return true;
    });
  } else {
    std::optional<R> out;
    std::optional<KernelError> kerr;
    std::exception_ptr other;
    std::thread t([&] {
      try {
        if (nsfd >= 0 && ::setns(nsfd, CLONE_NEWNET) < 0) ThrowErrno("setns", op);
        out.emplace(fn());
      } catch (const KernelError& e) {
        kerr = e;
      } catch (...) {
        other = std::current_exception();
      }
    });
    t.join();
    if (kerr) throw *kerr;
    if (other) std::rethrow_exception(other);
    return std::move(*out);
  }
}

}  // namespace nsnet
