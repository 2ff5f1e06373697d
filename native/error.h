// KernelError: what a failed system call or netlink request tells JavaScript.
//
// Shaped like Node's SystemError so util.getSystemErrorName() and `e.code`
// checks work: errno is negative (as in Node and in struct nlmsgerr), code is
// the symbolic name ("EEXIST"), syscall the call that failed ("sendmsg",
// "setns", "mount"), op the netlink request ("RTM_NEWLINK") or addon verb, and
// extack the kernel's extended-ack message (NLMSGERR_ATTR_MSG), when it sent one.
//
// Execute() runs off the JS thread and may not touch napi_env, so errors are
// thrown as this plain C++ value and turned into a JS Error in OnOK/OnError.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace nsnet {

struct KernelError {
  int err = 0;            // positive errno value
  std::string syscall;    // "sendmsg", "setns", "mount", "nft", ...
  std::string op;         // "RTM_NEWLINK", "netnsCreate", ...
  std::string extack;     // kernel's extended-ack message, or nft's error text
  int64_t extackOffset = -1;
  std::string path;       // file the call was about, if any

  Napi::Error ToJs(Napi::Env env) const;
};

// Throws KernelError{errno, syscall, op} - for use right after a failed call.
[[noreturn]] void ThrowErrno(const std::string& syscall, const std::string& op,
                             const std::string& path = "");
[[noreturn]] void ThrowErr(int err, const std::string& syscall, const std::string& op,
                           const std::string& path = "");

// "EEXIST" for 17, etc. Uses the C library's table (strerrorname_np), so no
// hand-kept errno list.
std::string ErrnoName(int err);

}  // namespace nsnet
