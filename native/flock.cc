// flock(2) for the state store: one writer at a time across processes.
//
// A waiting lock is taken on a pool thread, so waiting for another nsnet
// process never blocks the event loop. A non-blocking attempt (wait: false)
// is made at once on the calling thread: LOCK_NB never sleeps, and the
// uncontended case - almost every call - then costs a syscall, not a trip
// through the thread pool and back (~0.1 ms, twice per `nsnet create`).
// Closing the fd (or the process exiting) releases the lock, so a crashed CLI
// call can't leave the store locked.
#include <sys/file.h>

#include <cerrno>

#include "args.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {

// flock(fd, {mode: "exclusive"|"shared"|"unlock", wait? = true, try? = false})
Napi::Value FlockVerb(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  Napi::Object o = ArgObject(info, 1);
  std::string mode = OptStr(o, "mode").value_or("exclusive");
  bool wait = OptBool(o, "wait").value_or(true);
  // try: a non-blocking attempt that resolves true (taken) or false (held by another)
  // instead of rejecting with EWOULDBLOCK: the DNS health check on every CLI call
  // expects "held", and building an Error costs more than the syscall.
  bool try_only = OptBool(o, "try").value_or(false);
  if (try_only) wait = false;
  int op;
  if (mode == "exclusive") op = LOCK_EX;
  else if (mode == "shared") op = LOCK_SH;
  else if (mode == "unlock") op = LOCK_UN;
  else throw Napi::TypeError::New(info.Env(), "mode must be exclusive, shared or unlock");
  if (!wait) {
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    int rc;
    do {
      rc = ::flock(fd, op | LOCK_NB);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && try_only && errno == EWOULDBLOCK) {
      deferred.Resolve(Napi::Boolean::New(info.Env(), false));
    } else if (rc < 0) {
      KernelError e;
      e.err = errno;
      e.syscall = "flock";
      e.op = "flock";
      deferred.Reject(e.ToJs(info.Env()).Value());
    } else {
      deferred.Resolve(try_only ? Napi::Boolean::New(info.Env(), true) : info.Env().Undefined());
    }
    return deferred.Promise();
  }
  return Task<Unit>::Queue(
      info.Env(), "flock",
      [fd, op] {
        int rc;
        do {
          rc = ::flock(fd, op);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) ThrowErrno("flock", "flock");
        return Unit{};
      },
      Undefined);
}

}  // namespace nsnet
