// Writing a sysctl from the calling thread: /proc/sys/net/... resolves in the
// network namespace of the thread that opens it, so callers run this on a
// thread that is already inside the namespace they mean (sysctl.cc's verbs,
// netnsCreate's creating thread).
#pragma once

#include <napi.h>

#include <string>

namespace nsnet {

// "net.ipv4.ip_forward" or "net/ipv4/conf/br-1.x/route_localnet" -> /proc/sys/...; throws TypeError on "..".
std::string SysctlPath(const Napi::Env& env, std::string key);

// Writes `value` to `path` from this thread; throws KernelError.
void SysctlWriteHere(const std::string& path, const std::string& value, const char* op);

}  // namespace nsnet
