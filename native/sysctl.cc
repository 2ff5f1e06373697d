// sysctl inside a network namespace.
//
//   ip netns exec web sysctl net.ipv4.ip_forward        sysctlRead(nsFd, "net.ipv4.ip_forward")
//   ip netns exec web sysctl -w net.ipv4.ip_forward=1   sysctlWrite(nsFd, "net.ipv4.ip_forward", "1")
//
// Files under /proc/sys/net belong to the network namespace of the thread that
// *opens* them, so the open happens on a throwaway thread inside the target
// namespace (in_netns.h). Keys use dots or slashes; like sysctl(8), a dotted
// key can't name an interface with a dot in it - use slashes for that.
#include <fcntl.h>
#include <unistd.h>

#include "args.h"
#include "fd.h"
#include "in_netns.h"
#include "sysctl.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {

std::string SysctlPath(const Napi::Env& env, std::string key) {
  if (key.empty() || key.find("..") != std::string::npos || key[0] == '/' || key[0] == '.')
    throw Napi::TypeError::New(env, "invalid sysctl key: " + key);
  if (key.find('/') == std::string::npos)
    for (auto& c : key) if (c == '.') c = '/';
  return "/proc/sys/" + key;
}

void SysctlWriteHere(const std::string& path, const std::string& value, const char* op) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.Valid()) ThrowErrno("open", op, path);
  if (::write(fd.Get(), value.data(), value.size()) < 0) ThrowErrno("write", op, path);
}

// sysctlRead(nsFd, key) -> value without the trailing newline
Napi::Value SysctlReadVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  std::string path = SysctlPath(info.Env(), ArgString(info, 1, "key"));
  return Task<std::string>::Queue(
      info.Env(), "sysctlRead",
      [nsfd, path] {
        return RunInNetns(nsfd, "sysctlRead", [&] {
          UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
          if (!fd.Valid()) ThrowErrno("open", "sysctlRead", path);
          std::string out;
          char buf[4096];
          ssize_t n;
          while ((n = ::read(fd.Get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
          if (n < 0) ThrowErrno("read", "sysctlRead", path);
          while (!out.empty() && out.back() == '\n') out.pop_back();
          return out;
        });
      },
      [](Napi::Env env, std::string& s) { return Napi::String::New(env, s); });
}

// sysctlWrite(nsFd, key, value)
Napi::Value SysctlWriteVerb(const Napi::CallbackInfo& info) {
  int nsfd = ArgFd(info, 0, "nsFd");
  std::string path = SysctlPath(info.Env(), ArgString(info, 1, "key"));
  std::string value = ArgString(info, 2, "value");
  return Task<Unit>::Queue(
      info.Env(), "sysctlWrite",
      [nsfd, path, value] {
        RunInNetns(nsfd, "sysctlWrite", [&] { SysctlWriteHere(path, value, "sysctlWrite"); });
        return Unit{};
      },
      Undefined);
}

}  // namespace nsnet
