#include "error.h"

#include <cerrno>
#include <cstring>

namespace nsnet {

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* n = strerrorname_np(err)) return n;
#endif
  return "E" + std::to_string(err);
}

void ThrowErr(int err, const std::string& syscall, const std::string& op,
              const std::string& path) {
  KernelError e;
  e.err = err;
  e.syscall = syscall;
  e.op = op;
  e.path = path;
  throw e;
}

void ThrowErrno(const std::string& syscall, const std::string& op, const std::string& path) {
  ThrowErr(errno, syscall, op, path);
}

Napi::Error KernelError::ToJs(Napi::Env env) const {
  // "RTM_NEWLINK: EEXIST (File exists): <extack>"
  std::string code = err ? ErrnoName(err) : "EKERNEL";
  std::string msg = op.empty() ? syscall : op;
  if (!path.empty()) msg += " " + path;
  msg += ": " + code;
  if (err) msg += std::string(" (") + std::strerror(err) + ")";
  if (!extack.empty()) msg += ": " + extack;

  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, -err));
  o.Set("code", Napi::String::New(env, code));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (err) o.Set("description", Napi::String::New(env, std::strerror(err)));
  if (!op.empty()) o.Set("op", Napi::String::New(env, op));
  if (!path.empty()) o.Set("path", Napi::String::New(env, path));
  if (!extack.empty()) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("message", Napi::String::New(env, extack));
    if (extackOffset >= 0) x.Set("offset", Napi::Number::New(env, static_cast<double>(extackOffset)));
    o.Set("extack", x);
  }
  return e;
}

}  // namespace nsnet
