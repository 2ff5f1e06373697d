// Named network namespaces, the way `ip netns` keeps them (ip-netns(8)).
//
//   ip netns add web      netnsCreate({name: "web"})
//   ip netns del web      netnsDelete({name: "web"})
//   ip netns exec web ..  (open /run/netns/web, setns) - netnsOpen({name: "web"})
//
// A namespace lives as long as something refers to it: a process in it, an
// open fd, or a bind mount. `ip netns add` creates a thread in a new namespace
// (unshare(CLONE_NEWNET)) and bind-mounts that thread's /proc/.../ns/net onto
// an empty file /run/netns/NAME, so the namespace outlives the thread and has
// a name other tools can find.
//
// /run/netns itself is made a mount point with *shared* propagation first, so
// the bind mount also shows up in mount namespaces created later (by
// `ip netns exec`, or a container runtime) - see iproute2 ip/ipnetns.c
// netns_add and the bug it links to.
//
// Deleting is umount2(MNT_DETACH) + unlink. The kernel tears the namespace
// down asynchronously once the last reference is gone; a host-side veth whose
// peer lived there disappears with it, a moment later.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <vector>

#include "args.h"
#include "fd.h"
#include "in_netns.h"
#include "nlsock.h"
#include "sysctl.h"
#include "verbs.h"
#include "worker.h"

namespace nsnet {
namespace {

struct NsHandle {
  int fd = -1;
  int rtnlFd = -1;  // an rtnetlink socket opened inside, when asked for
  uint64_t dev = 0, ino = 0;
  std::string path;
};

Napi::Value NsToJs(Napi::Env env, NsHandle& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", h.fd);
  // dev and ino identify a namespace (as in `stat -L /proc/PID/ns/net`):
  // two fds are the same namespace exactly when both match.
  o.Set("dev", Napi::Number::New(env, static_cast<double>(h.dev)));
  o.Set("ino", Napi::Number::New(env, static_cast<double>(h.ino)));
  o.Set("path", h.path);
  if (h.rtnlFd >= 0) o.Set("rtnlFd", h.rtnlFd);
  return o;
}

// Opens `path`, checks that it is a network namespace, reads its identity.
NsHandle OpenNetns(const std::string& path, const char* op) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.Valid()) ThrowErrno("open", op, path);
  int type = ::ioctl(fd.Get(), NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) ThrowErr(EINVAL, "ioctl(NS_GET_NSTYPE)", op, path + " is not a network namespace");
  struct stat st {};
  if (::fstat(fd.Get(), &st) < 0) ThrowErrno("fstat", op, path);
  NsHandle h;
  h.dev = st.st_dev;
  h.ino = st.st_ino;
  h.path = path;
  h.fd = fd.Release();
  return h;
}

// What ip/ipnetns.c does before its first bind mount: make `dir` a mount
// point with shared propagation, bind-mounting it onto itself if it is not a
// mount point yet. Done once per directory per process.
void MakeSharedMountPoint(const std::string& dir, const char* op) {
  static std::mutex mu;
  static std::set<std::string> done;
  std::lock_guard<std::mutex> g(mu);
  if (done.count(dir)) return;
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) ThrowErrno("mkdir", op, dir);
  bool bound = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
    if (errno != EINVAL || bound) ThrowErrno("mount", op, dir);
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) < 0)
      ThrowErrno("mount", op, dir);
    bound = true;
  }
  done.insert(dir);
}

std::string ValidName(const Napi::Env& env, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.size() > 255)
    throw Napi::TypeError::New(env, "invalid namespace name: \"" + name + "\"");
  return name;
}

// {name, dir?} or {path}: the file that names the namespace.
std::string NsPath(const Napi::Object& o) {
  auto name = OptStr(o, "name");
  auto path = OptStr(o, "path");
  if (name) return OptStr(o, "dir").value_or("/run/netns") + "/" + ValidName(o.Env(), *name);
  if (path) return *path;
  throw Napi::TypeError::New(o.Env(), "give a namespace name or path");
}

}  // namespace

// netnsCreate({name, dir? = "/run/netns", rtnl? = false, sysctls? = [[key, value], ...]})
//   -> {fd, dev, ino, path, rtnlFd?}
// With rtnl, the thread that made the namespace also opens an rtnetlink
// socket in it before exiting (what rtnlOpen would do, one thread fewer);
// sysctls are written by that thread too, before anything else exists in
// the namespace but lo (`ip netns exec NAME sysctl -w KEY=VALUE`).
Napi::Value NetnsCreateVerb(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  auto name = OptStr(o, "name");
  if (!name) throw Napi::TypeError::New(info.Env(), "netnsCreate needs a name");
  std::string dir = OptStr(o, "dir").value_or("/run/netns");
  std::string path = dir + "/" + ValidName(info.Env(), *name);
  bool rtnl = OptBool(o, "rtnl").value_or(false);
  std::vector<std::pair<std::string, std::string>> sysctls;
  if (o.Has("sysctls") && !o.Get("sysctls").IsUndefined()) {
    if (!o.Get("sysctls").IsArray()) throw Napi::TypeError::New(info.Env(), "sysctls must be an array of [key, value]");
    Napi::Array a = o.Get("sysctls").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value kv = a.Get(i);
      if (!kv.IsArray() || kv.As<Napi::Array>().Length() != 2 || !kv.As<Napi::Array>().Get(0u).IsString() ||
          !kv.As<Napi::Array>().Get(1u).IsString())
        throw Napi::TypeError::New(info.Env(), "sysctls must be an array of [key, value] strings");
      sysctls.emplace_back(SysctlPath(info.Env(), kv.As<Napi::Array>().Get(0u).As<Napi::String>()),
                           kv.As<Napi::Array>().Get(1u).As<Napi::String>());
    }
  }
  return Task<NsHandle>::Queue(
      info.Env(), "netnsCreate",
      [dir, path, rtnl, sysctls] {
        const char* op = "netnsCreate";
        MakeSharedMountPoint(dir, op);
        // O_EXCL: a name in use fails here with EEXIST, before any namespace exists.
        UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
        if (!file.Valid()) ThrowErrno("open", op, path);
        file.Reset();
        try {
          // A fresh thread makes the namespace and pins it with the bind mount,
          // then exits: no Node thread ever lives in it.
          UniqueFd sock;
          RunInNetns(-1, op, [&] {
            if (::unshare(CLONE_NEWNET) < 0) ThrowErrno("unshare", op, path);
            if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0)
              ThrowErrno("mount", op, path);
            for (const auto& [key, value] : sysctls) SysctlWriteHere(key, value, op);
            if (rtnl) sock = RtnlOpen();
          });
          NsHandle h = OpenNetns(path, op);
          h.rtnlFd = sock.Release();
          return h;
        } catch (...) {
          ::umount2(path.c_str(), MNT_DETACH);
          ::unlink(path.c_str());
          throw;
        }
      },
      NsToJs);
}

// netnsDelete({name, dir?} | {path})
Napi::Value NetnsDeleteVerb(const Napi::CallbackInfo& info) {
  std::string path = NsPath(ArgObject(info, 0));
  return Task<Unit>::Queue(
      info.Env(), "netnsDelete",
      [path] {
        // EINVAL: not a mount point (a file left by a crash) - still remove the file.
        if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL)
          ThrowErrno("umount2", "netnsDelete", path);
        if (::unlink(path.c_str()) < 0) ThrowErrno("unlink", "netnsDelete", path);
        return Unit{};
      },
      Undefined);
}

// netnsOpen({name, dir?} | {path} | {pid}) -> {fd, dev, ino, path}
Napi::Value NetnsOpenVerb(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  std::string path;
  if (auto pid = OptInt(o, "pid", 1, INT32_MAX)) path = "/proc/" + std::to_string(*pid) + "/ns/net";
  else path = NsPath(o);
  return Task<NsHandle>::Queue(
      info.Env(), "netnsOpen", [path] { return OpenNetns(path, "netnsOpen"); }, NsToJs);
}

}  // namespace nsnet
