// Starting a process inside a sandbox's namespaces.
//
//   ip netns exec web hostname web-1 ...    roughly; precisely, for `nsnet run`:
//   unshare --uts --pid --mount --fork: new UTS namespace with the hostname,
//   new PID namespace (the command is PID 1 there, `ps` sees only the sandbox),
//   new mount namespace where /etc/resolv.conf, /etc/hosts and /etc/hostname
//   are bind-mounted from /etc/netns/NAME (iproute2's convention, so
//   `ip netns exec` shows the same files), /sys and /proc remounted for the
//   sandbox's network and PID namespaces; joined to the sandbox's network
//   namespace; then exec.
//
// All namespace changes happen on a throwaway thread (in_netns.h's rule), which
// then fork()s: the child inherits the thread's namespaces and does only
// async-signal-safe work (mount /proc, dup2, chdir, setsid, execve) - it is the
// child of a multi-threaded process. A CLOEXEC pipe tells the parent whether
// execve worked, so "no such file" is an error of spawn(), not exit code 127.
//
// A PID namespace applies to the *children* of whoever enters it
// (pid_for_children), which is why the thread enters and the child is born in it.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "fd.h"
#include "in_netns.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct SpawnReq {
  std::vector<std::string> argv;  // argv[0] resolved to a path by the caller
  std::vector<std::string> env;
  std::string cwd;
  int netnsFd = -1;
  std::string hostname;             // non-empty: new UTS namespace with this name
  bool newPidns = false;
  std::string joinPidns;            // path of a PID namespace to join
  std::vector<std::pair<std::string, std::string>> binds;  // source -> target
  bool detach = false;              // setsid: survive the caller
  int stdio[3] = {0, 1, 2};
};

std::vector<std::string> StrList(const Napi::Object& o, const char* k) {
  std::vector<std::string> out;
  Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string(k) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) throw Napi::TypeError::New(o.Env(), std::string(k) + " must be an array of strings");
    std::string s = e.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(o.Env(), std::string(k) + ": NUL in string");
    out.push_back(std::move(s));
  }
  return out;
}

[[noreturn]] void ChildFail(int pipefd) {
  int e = errno;
  (void)!::write(pipefd, &e, sizeof e);
  ::_exit(127);
}

pid_t Spawn(const SpawnReq& r) {
  const char* op = "spawn";
  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> argv, envp;
  for (auto& s : r.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (auto& s : r.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  bool mountns = !r.binds.empty() || r.newPidns || !r.joinPidns.empty() || r.netnsFd >= 0;
  bool procMount = r.newPidns || !r.joinPidns.empty();

  UniqueFd pidns;
  if (!r.joinPidns.empty()) {
    pidns.Reset(::open(r.joinPidns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pidns.Valid()) ThrowErrno("open", op, r.joinPidns);
  }

  return RunInNetns(r.netnsFd, op, [&]() -> pid_t {
    if (!r.hostname.empty()) {
      if (::unshare(CLONE_NEWUTS) < 0) ThrowErrno("unshare(CLONE_NEWUTS)", op);
      if (::sethostname(r.hostname.data(), r.hostname.size()) < 0) ThrowErrno("sethostname", op);
    }
    if (pidns.Valid() && ::setns(pidns.Get(), CLONE_NEWPID) < 0) ThrowErrno("setns(CLONE_NEWPID)", op, r.joinPidns);
    if (r.newPidns && ::unshare(CLONE_NEWPID) < 0) ThrowErrno("unshare(CLONE_NEWPID)", op);
    if (mountns) {
      if (::unshare(CLONE_NEWNS) < 0) ThrowErrno("unshare(CLONE_NEWNS)", op);
      // Nothing we mount here may propagate back to the host.
      if (::mount("none", "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) ThrowErrno("mount", op, "/ (make slave)");
      if (r.netnsFd >= 0) {
        // /sys/class/net lists the network namespace of whoever mounted sysfs.
        ::umount2("/sys", MNT_DETACH);
        if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) < 0) ThrowErrno("mount", op, "/sys");
      }
      for (auto& [src, dst] : r.binds)
        if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) < 0) ThrowErrno("mount", op, src + " on " + dst);
    }
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) ThrowErrno("pipe2", op);
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);

    pid_t pid = ::fork();
    if (pid < 0) ThrowErrno("fork", op);
    if (pid == 0) {
      // The child: async-signal-safe calls only.
      if (procMount && ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) ChildFail(wr.Get());
      // Node marks its own stdio close-on-exec; dup2 clears the flag, and for
      // an fd passed through unchanged we clear it by hand.
      for (int i = 0; i < 3; ++i) {
        if (r.stdio[i] != i ? ::dup2(r.stdio[i], i) < 0 : ::fcntl(i, F_SETFD, 0) < 0) ChildFail(wr.Get());
      }
      if (r.detach && ::setsid() < 0) ChildFail(wr.Get());
      if (!r.cwd.empty() && ::chdir(r.cwd.c_str()) < 0) ChildFail(wr.Get());
      // Node ignores SIGPIPE; give the command the defaults back.
      ::signal(SIGPIPE, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(argv[0], argv.data(), envp.data());
      ChildFail(wr.Get());
    }
    wr.Reset();
    int childErr = 0;
    ssize_t n;
    do {
      n = ::read(rd.Get(), &childErr, sizeof childErr);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof childErr) {
      ::waitpid(pid, nullptr, 0);
      ThrowErr(childErr, "execve", op, r.argv[0]);
    }
    return pid;
  });
}

struct ExitStatus {
  int code = 0;
  int signal = 0;
};

}  // namespace

// spawn({argv, env?, cwd?, netnsFd?, hostname?, newPidns?, joinPidns?, binds?: [[src, dst]], detach?, stdio?: [in, out, err]})
//   -> {pid}
Napi::Value SpawnVerb(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  auto r = std::make_shared<SpawnReq>();
  r->argv = StrList(o, "argv");
  if (r->argv.empty() || r->argv[0].empty() || r->argv[0][0] != '/')
    throw Napi::TypeError::New(info.Env(), "argv[0] must be an absolute path");
  r->env = StrList(o, "env");
  r->cwd = OptStr(o, "cwd").value_or("");
  if (auto fd = OptInt(o, "netnsFd", 0, INT32_MAX)) r->netnsFd = static_cast<int>(*fd);
  r->hostname = OptStr(o, "hostname").value_or("");
  if (r->hostname.size() > 64) throw Napi::TypeError::New(info.Env(), "hostname longer than 64 characters");
  r->newPidns = OptBool(o, "newPidns").value_or(false);
  r->joinPidns = OptStr(o, "joinPidns").value_or("");
  if (r->newPidns && !r->joinPidns.empty()) throw Napi::TypeError::New(info.Env(), "newPidns and joinPidns exclude each other");
  r->detach = OptBool(o, "detach").value_or(false);
  Napi::Value binds = o.Get("binds");
  if (binds.IsArray()) {
    Napi::Array a = binds.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value pair = a.Get(i);
      if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2)
        throw Napi::TypeError::New(info.Env(), "binds must be [source, target] pairs");
      Napi::Array p = pair.As<Napi::Array>();
      r->binds.emplace_back(p.Get(0u).ToString().Utf8Value(), p.Get(1u).ToString().Utf8Value());
    }
  }
  Napi::Value stdio = o.Get("stdio");
  if (stdio.IsArray()) {
    Napi::Array a = stdio.As<Napi::Array>();
    for (uint32_t i = 0; i < 3 && i < a.Length(); ++i) r->stdio[i] = a.Get(i).As<Napi::Number>().Int32Value();
  }
  return Task<pid_t>::Queue(
      info.Env(), "spawn", [r] { return Spawn(*r); },
      [](Napi::Env env, pid_t& pid) {
        Napi::Object res = Napi::Object::New(env);
        res.Set("pid", pid);
        return res;
      });
}

// waitpid(pid) -> {code, signal}: waits on a pool thread for a child started by spawn.
Napi::Value WaitpidVerb(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "pid must be a number");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  return Task<ExitStatus>::Queue(
      info.Env(), "waitpid",
      [pid] {
        int status = 0;
        pid_t got;
        do {
          got = ::waitpid(pid, &status, 0);
        } while (got < 0 && errno == EINTR);
        if (got < 0) ThrowErrno("waitpid", "waitpid");
        ExitStatus s;
        if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) {
          s.signal = WTERMSIG(status);
          s.code = 128 + s.signal;
        }
        return s;
      },
      [](Napi::Env env, ExitStatus& s) {
        Napi::Object res = Napi::Object::New(env);
        res.Set("code", s.code);
        if (s.signal) res.Set("signal", s.signal);
        return res;
      });
}

}  // namespace nsnet
