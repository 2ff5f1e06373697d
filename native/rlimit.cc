// The process's open-file limit: a long-lived server holding sockets in
// thousands of sandboxes (the DNS server: two each) needs more than the
// usual soft limit of 1024. Raising the soft limit up to the hard limit needs
// no privilege (setrlimit(2)); `ulimit -n` shows it, LimitNOFILE= sets it
// for a systemd unit.
#include <sys/resource.h>

#include "args.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {

// rlimitNofileRaise() -> {soft, hard}: the soft limit raised to the hard one.
Napi::Value RlimitNofileRaiseVerb(const Napi::CallbackInfo& info) {
  return Task<std::pair<uint64_t, uint64_t>>::Queue(
      info.Env(), "rlimitNofileRaise",
      [] {
        rlimit r{};
        if (::getrlimit(RLIMIT_NOFILE, &r) < 0) ThrowErrno("getrlimit", "rlimitNofileRaise");
        if (r.rlim_cur < r.rlim_max) {
          r.rlim_cur = r.rlim_max;
          if (::setrlimit(RLIMIT_NOFILE, &r) < 0) ThrowErrno("setrlimit", "rlimitNofileRaise");
        }
        return std::make_pair(static_cast<uint64_t>(r.rlim_cur), static_cast<uint64_t>(r.rlim_max));
      },
      [](Napi::Env env, std::pair<uint64_t, uint64_t>& r) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("soft", Napi::Number::New(env, static_cast<double>(r.first)));
        o.Set("hard", Napi::Number::New(env, static_cast<double>(r.second)));
        return o;
      });
}

}  // namespace nsnet
