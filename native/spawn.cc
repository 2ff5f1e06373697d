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
// A PID namespace applies to the *children* of whoever enters it
// (pid_for_children), so whoever forks the command enters it first (a
// throwaway thread, in_netns.h's rule, or the supervisor below); the command's
// own process, once forked, does the rest: setns into the network namespace,
// the UTS and mount namespaces, the mounts, stdio, execve. It is the child of
// a multi-threaded process, so it makes system calls only (nothing allocates
// after fork). Failures come back on a CLOEXEC pipe as {step, errno}, so "no
// such file" is an error of spawn(), not exit code 127.
//
// Detached (`run -d`, `start`), the command gets a supervisor, as
// conmon/containerd-shim give a container: the caller forks an intermediate
// process that setsid()s and forks the supervisor and exits (so nobody has to
// reap the supervisor: it is orphaned at once); the supervisor closes every fd
// but the ones the command needs (the state lock's fd among them: flock locks
// belong to the open file, so a copy would keep it held), ignores SIGHUP and
// SIGINT, enters only the PID namespace (for its children) and forks the
// command; it then execs `superviseExe` (nsnet-supervise: a fork of Node
// would keep a copy of Node's memory for as long as the command runs), which
// waits for it and writes its status to `exitFile` (exit_file.h): the exit
// code, or 128+signal as Docker reports a killed one (137, 143). Without
// `superviseExe` the fork waits itself. It never enters the sandbox's
// network, UTS or mount namespace.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "exit_file.h"
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
  bool detach = false;              // under a supervisor, in a session of its own: survives the caller
  std::string exitFile;             // detached: where the supervisor writes the exit status
  std::string superviseExe;         // detached: nsnet-supervise, which the supervisor execs to wait (optional)
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

// What the processes after fork report on the pipe: one write each (atomic, < PIPE_BUF).
enum Kind : int32_t { kError = 1, kPid = 2, kSupervisor = 3 };
// The step that failed, for the error's syscall name.
enum StepId : int32_t {
  kSetnsPid, kUnsharePid, kFork, kSetsid, kSetnsNet, kUnshareUts, kSethostname, kUnshareMnt, kMountSlave,
  kMountSys, kMountBind, kMountProc, kStdio, kChdir, kExecve,
};
struct Report {
  int32_t kind;
  int32_t value;  // kError: errno; kPid, kSupervisor: the pid
  int32_t step;
  int32_t index;  // kMountBind: which bind
};

void Send(int fd, Report m) { (void)!::write(fd, &m, sizeof m); }

[[noreturn]] void Fail(int fd, StepId step, int index = 0) {
  Send(fd, {kError, errno, step, index});
  ::_exit(127);
}

// Everything the forked processes need, as C strings built before fork.
struct Prepared {
  std::vector<char*> argv, envp;
  bool mountns = false;
  bool procMount = false;
  std::string exitTmp;
};

Prepared Prepare(const SpawnReq& r) {
  Prepared p;
  for (auto& s : r.argv) p.argv.push_back(const_cast<char*>(s.c_str()));
  p.argv.push_back(nullptr);
  for (auto& s : r.env) p.envp.push_back(const_cast<char*>(s.c_str()));
  p.envp.push_back(nullptr);
  p.mountns = !r.binds.empty() || r.newPidns || !r.joinPidns.empty() || r.netnsFd >= 0;
  p.procMount = r.newPidns || !r.joinPidns.empty();
  if (!r.exitFile.empty()) p.exitTmp = r.exitFile + ".tmp";
  return p;
}

// The PID namespace the next fork is born in (the caller's own is unchanged).
bool EnterPidns(const SpawnReq& r, int pidnsFd, StepId* failed) {
  if (pidnsFd >= 0 && ::setns(pidnsFd, CLONE_NEWPID) < 0) return *failed = kSetnsPid, false;
  if (r.newPidns && ::unshare(CLONE_NEWPID) < 0) return *failed = kUnsharePid, false;
  return true;
}

// The command's process: its namespaces, mounts and stdio, then execve.
// `stdio`: the fds to make 0, 1 and 2. System calls only.
[[noreturn]] void ExecCommand(const SpawnReq& r, const Prepared& p, const int stdio[3], int report) {
  if (r.netnsFd >= 0 && ::setns(r.netnsFd, CLONE_NEWNET) < 0) Fail(report, kSetnsNet);
  if (!r.hostname.empty()) {
    if (::unshare(CLONE_NEWUTS) < 0) Fail(report, kUnshareUts);
    if (::sethostname(r.hostname.data(), r.hostname.size()) < 0) Fail(report, kSethostname);
  }
  if (p.mountns) {
    if (::unshare(CLONE_NEWNS) < 0) Fail(report, kUnshareMnt);
    // Nothing we mount here may propagate back to the host.
    if (::mount("none", "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) Fail(report, kMountSlave);
    if (r.netnsFd >= 0) {
      // /sys/class/net lists the network namespace of whoever mounted sysfs.
      ::umount2("/sys", MNT_DETACH);
      if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) < 0) Fail(report, kMountSys);
    }
    for (size_t i = 0; i < r.binds.size(); ++i)
      if (::mount(r.binds[i].first.c_str(), r.binds[i].second.c_str(), nullptr, MS_BIND, nullptr) < 0)
        Fail(report, kMountBind, static_cast<int>(i));
  }
  if (p.procMount && ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) Fail(report, kMountProc);
  // Node marks its own stdio close-on-exec; dup2 clears the flag, and for
  // an fd passed through unchanged we clear it by hand.
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] != i ? ::dup2(stdio[i], i) < 0 : ::fcntl(i, F_SETFD, 0) < 0) Fail(report, kStdio);
  }
  if (!r.cwd.empty() && ::chdir(r.cwd.c_str()) < 0) Fail(report, kChdir);
  // Node ignores SIGPIPE, the supervisor SIGHUP and SIGINT: give the command the defaults back.
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.argv[0], p.argv.data(), p.envp.data());
  Fail(report, kExecve);
}

// Closes every fd but the n in `keep` (-1 entries ignored): close_range over
// the gaps. No allocation: it runs after fork.
void CloseAllBut(int* keep, int n) {
  for (int i = 1; i < n; ++i)  // insertion sort: n <= 6
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) std::swap(keep[j - 1], keep[j]);
  unsigned first = 0;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < 0) continue;
    unsigned k = static_cast<unsigned>(keep[i]);
    if (k > first) ::syscall(SYS_close_range, first, k - 1, 0);
    first = k + 1;
  }
  ::syscall(SYS_close_range, first, ~0U, 0);
}

// The supervisor: forks the command, reports its pid, waits, writes its status.
[[noreturn]] void Supervise(const SpawnReq& r, const Prepared& p, int pidnsFd, int report) {
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The command's stdio becomes 0, 1, 2 here (through copies above 2, in case they overlap).
  int copies[3];
  for (int i = 0; i < 3; ++i)
    if ((copies[i] = ::fcntl(r.stdio[i], F_DUPFD_CLOEXEC, 3)) < 0) Fail(report, kStdio);
  for (int i = 0; i < 3; ++i)
    if (::dup2(copies[i], i) < 0) Fail(report, kStdio);
  int keep[] = {0, 1, 2, report, r.netnsFd, pidnsFd};
  CloseAllBut(keep, 6);
  StepId failed;
  if (!EnterPidns(r, pidnsFd, &failed)) Fail(report, failed);
  Send(report, {kSupervisor, static_cast<int32_t>(::getpid()), 0, 0});
  pid_t pid = ::fork();
  if (pid < 0) Fail(report, kFork);
  if (pid == 0) {
    static const int kStd[3] = {0, 1, 2};
    ExecCommand(r, p, kStd, report);
  }
  Send(report, {kPid, static_cast<int32_t>(pid), 0, 0});
  // Hold nothing of the command's or the caller's: the pipe (its reader waits
  // for EOF), stdio, the namespaces' fds, the working directory.
  CloseAllBut(nullptr, 0);
  (void)!::chdir("/");
  if (!r.superviseExe.empty()) {
    // Give back the copy of Node's memory: wait in a small program (the command stays our child).
    char pidText[24];
    *Decimal(pidText, pid) = '\0';
    char* args[] = {const_cast<char*>(r.superviseExe.c_str()), pidText, const_cast<char*>(r.exitFile.c_str()), nullptr};
    char* noEnv[] = {nullptr};
    ::execve(args[0], args, noEnv);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) ::_exit(1);
  }
  if (!r.exitFile.empty()) WriteExitFile(r.exitFile.c_str(), p.exitTmp.c_str(), pid, status);
  ::_exit(0);
}

const char* StepSyscall(int32_t step) {
  switch (step) {
    case kSetnsPid: return "setns(CLONE_NEWPID)";
    case kUnsharePid: return "unshare(CLONE_NEWPID)";
    case kFork: return "fork";
    case kSetsid: return "setsid";
    case kSetnsNet: return "setns(CLONE_NEWNET)";
    case kUnshareUts: return "unshare(CLONE_NEWUTS)";
    case kSethostname: return "sethostname";
    case kUnshareMnt: return "unshare(CLONE_NEWNS)";
    case kMountSlave: case kMountSys: case kMountBind: case kMountProc: return "mount";
    case kStdio: return "dup2";
    case kChdir: return "chdir";
    default: return "execve";
  }
}

std::string StepPath(const SpawnReq& r, const Report& m) {
  switch (m.step) {
    case kSetnsPid: return r.joinPidns;
    case kMountSlave: return "/ (make slave)";
    case kMountSys: return "/sys";
    case kMountProc: return "/proc";
    case kMountBind:
      return m.index >= 0 && static_cast<size_t>(m.index) < r.binds.size() ? r.binds[m.index].first + " on " + r.binds[m.index].second : "";
    case kChdir: return r.cwd;
    case kExecve: return r.argv[0];
    default: return "";
  }
}

struct Started {
  pid_t pid = 0;
  pid_t supervisor = 0;
};

// Reads the reports until every writer is gone (the command exec'd or failed); throws its failure.
// `pid`: the command's, when the caller forked it itself.
Started ReadReports(const SpawnReq& r, int rd, pid_t pid = 0) {
  Started out;
  out.pid = pid;
  Report m;
  std::optional<Report> err;
  for (;;) {
    ssize_t n = ::read(rd, &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n != sizeof m) break;
    if (m.kind == kError && !err) err = m;
    if (m.kind == kPid) out.pid = m.value;
    if (m.kind == kSupervisor) out.supervisor = m.value;
  }
  if (err) {
    // Reap what we forked ourselves; a detached one's supervisor reaps it.
    if (out.pid > 0 && !r.detach) ::waitpid(out.pid, nullptr, 0);
    ThrowErr(err->value, StepSyscall(err->step), "spawn", StepPath(r, *err));
  }
  if (out.pid <= 0) ThrowErr(EIO, "read", "spawn", "(no pid reported)");
  return out;
}

Started Spawn(const SpawnReq& r) {
  const char* op = "spawn";
  // Everything the child needs is built before fork: no allocation after it.
  Prepared p = Prepare(r);
  UniqueFd pidns;
  if (!r.joinPidns.empty()) {
    pidns.Reset(::open(r.joinPidns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pidns.Valid()) ThrowErrno("open", op, r.joinPidns);
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) ThrowErrno("pipe2", op);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);

  if (r.detach) {
    // Caller -> intermediate (setsid, fork, exit) -> supervisor -> command.
    pid_t mid = ::fork();
    if (mid < 0) ThrowErrno("fork", op);
    if (mid == 0) {
      if (::setsid() < 0) Fail(wr.Get(), kSetsid);
      pid_t sup = ::fork();
      if (sup < 0) Fail(wr.Get(), kFork);
      if (sup == 0) Supervise(r, p, pidns.Get(), wr.Get());
      ::_exit(0);
    }
    wr.Reset();
    while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ReadReports(r, rd.Get());
  }

  // Attached: a throwaway thread enters the PID namespace (for its children) and forks the command.
  pid_t pid = RunInNetns(-1, op, [&]() -> pid_t {
    StepId failed;
    if (!EnterPidns(r, pidns.Get(), &failed)) ThrowErrno(StepSyscall(failed), op, failed == kSetnsPid ? r.joinPidns : "");
    pid_t child = ::fork();
    if (child < 0) ThrowErrno("fork", op);
    if (child == 0) ExecCommand(r, p, r.stdio, wr.Get());
    return child;
  });
  wr.Reset();
  return ReadReports(r, rd.Get(), pid);
}

struct ExitStatus {
  int code = 0;
  int signal = 0;
};

}  // namespace

// spawn({argv, env?, cwd?, netnsFd?, hostname?, newPidns?, joinPidns?, binds?: [[src, dst]], detach?, exitFile?,
//        stdio?: [in, out, err]}) -> {pid, supervisor?}
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
  r->exitFile = OptStr(o, "exitFile").value_or("");
  r->superviseExe = OptStr(o, "superviseExe").value_or("");
  if (!r->superviseExe.empty() && (!r->detach || r->superviseExe[0] != '/'))
    throw Napi::TypeError::New(info.Env(), "superviseExe must be an absolute path, for a detached spawn");
  if (!r->exitFile.empty() && (!r->detach || r->exitFile[0] != '/'))
    throw Napi::TypeError::New(info.Env(), "exitFile must be an absolute path, for a detached spawn");
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
  return Task<Started>::Queue(
      info.Env(), "spawn", [r] { return Spawn(*r); },
      [](Napi::Env env, Started& s) {
        Napi::Object res = Napi::Object::New(env);
        res.Set("pid", s.pid);
        if (s.supervisor) res.Set("supervisor", s.supervisor);
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
