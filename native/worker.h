// Task: every addon verb returns a Promise settled by one of these.
//
// The work function runs in Execute() on a libuv pool thread. It must never
// change that thread's namespace (see in_netns.h); it may block (flock,
// netlink round trips). It reports failure by throwing KernelError. The
// conversion function runs on the JS thread afterwards and builds the result.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "error.h"

namespace nsnet {

template <typename R>
class Task : public Napi::AsyncWorker {
 public:
  using Work = std::function<R()>;
  using ToJs = std::function<Napi::Value(Napi::Env, R&)>;

  static Napi::Promise Queue(Napi::Env env, const char* name, Work work, ToJs toJs) {
    auto* t = new Task(env, name, std::move(work), std::move(toJs));
    Napi::Promise p = t->deferred_.Promise();
    t->Napi::AsyncWorker::Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (const KernelError& e) {
      error_ = e;
    } catch (const std::exception& e) {
      KernelError k;
      k.op = name_;
      k.extack = e.what();  // std::bad_alloc and the like: no errno to report
      error_ = k;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(error_->ToJs(env).Value());
      return;
    }
    deferred_.Resolve(toJs_(env, *result_));
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Task(Napi::Env env, const char* name, Work work, ToJs toJs)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        name_(name),
        work_(std::move(work)),
        toJs_(std::move(toJs)) {}

  Napi::Promise::Deferred deferred_;
  const char* name_;
  Work work_;
  ToJs toJs_;
  std::optional<R> result_;
  std::optional<KernelError> error_;
};

// Verbs with nothing to return resolve to undefined.
struct Unit {};
inline Napi::Value Undefined(Napi::Env env, Unit&) { return env.Undefined(); }

}  // namespace nsnet
