// Reading a verb's options object on the JS thread, and writing results back.
//
// Arguments are read into plain C++ values before the work is queued: the
// pool thread must never touch a napi_value. Bad arguments throw a JS
// TypeError synchronously (the promise is never created), so a caller's typo
// is not mistaken for a kernel error.
#pragma once

#include <arpa/inet.h>
#include <napi.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nsnet {

inline Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an options object");
  return info[i].As<Napi::Object>();
}

inline int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* what = "fd") {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a file descriptor number");
  int fd = info[i].As<Napi::Number>().Int32Value();
  if (fd < -1) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be >= -1");
  return fd;
}

inline std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline std::optional<std::string> OptStr(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(k) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline std::optional<int64_t> OptInt(const Napi::Object& o, const char* k, int64_t min, int64_t max) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(k) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) || d > static_cast<double>(max))
    throw Napi::RangeError::New(o.Env(), std::string(k) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int64_t>(d);
}

inline std::optional<uint32_t> OptU32(const Napi::Object& o, const char* k) {
  auto v = OptInt(o, k, 0, UINT32_MAX);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

inline std::optional<bool> OptBool(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(k) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// An IPv4 or IPv6 address in text form.
struct IpAddr {
  int family = AF_UNSPEC;
  std::vector<uint8_t> bytes;
};

inline std::optional<IpAddr> ParseIp(const std::string& s) {
  IpAddr a;
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    a.family = AF_INET;
    a.bytes.assign(buf, buf + 4);
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    a.family = AF_INET6;
    a.bytes.assign(buf, buf + 16);
    return a;
  }
  return std::nullopt;
}

inline std::optional<IpAddr> OptIp(const Napi::Object& o, const char* k) {
  auto s = OptStr(o, k);
  if (!s) return std::nullopt;
  auto a = ParseIp(*s);
  if (!a) throw Napi::TypeError::New(o.Env(), std::string(k) + ": not an IPv4 or IPv6 address: " + *s);
  return a;
}

inline std::string FormatIp(int family, const void* p) {
  char out[INET6_ADDRSTRLEN] = {0};
  if (!inet_ntop(family, p, out, sizeof out)) return "";
  return out;
}

// "02:42:ac:11:00:02" <-> bytes. Any length (hardware addresses vary).
inline std::optional<std::vector<uint8_t>> OptMac(const Napi::Object& o, const char* k) {
  auto s = OptStr(o, k);
  if (!s) return std::nullopt;
  std::vector<uint8_t> out;
  const std::string& t = *s;
  size_t i = 0;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (i < t.size()) {
    if (i + 1 >= t.size() || hex(t[i]) < 0 || hex(t[i + 1]) < 0) break;
    out.push_back(static_cast<uint8_t>(hex(t[i]) * 16 + hex(t[i + 1])));
    i += 2;
    if (i == t.size()) return out;
    if (t[i] != ':') break;
    ++i;
  }
  throw Napi::TypeError::New(o.Env(), std::string(k) + ": not a hardware address: " + t);
}

inline std::string FormatMac(const std::vector<uint8_t>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) s += ':';
    s += digits[b[i] >> 4];
    s += digits[b[i] & 15];
  }
  return s;
}

// A JS array built from a vector, one element at a time.
template <typename T, typename F>
Napi::Array ToArray(Napi::Env env, const std::vector<T>& v, F&& each) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), each(env, v[i]));
  return a;
}

}  // namespace nsnet
