// nsnet-cni: nsnet's CNI plugin as runtimes run it (`nsnet cni install`
// copies this program to /opt/cni/bin/nsnet). A Node process per ADD/DEL costs
// ~190 ms of Node's own start and exit (docs/bench/cni.md); this program costs
// about a millisecond. It hands the request to the resident nsnet process (the
// embedded DNS server, `nsnet dns`, which runs the very same plugin code:
// src/cli/cni-serve.ts) over <runDir>/cni.sock, prints the answer, and exits
// with its code. The frames are src/cni/wire.ts's:
//
//   request  "NSC1" u32 envLen u32 stdinLen u32 0 | env ("K=V\0"...) | stdin
//   answer   "NSA1" i32 status u32 outLen  u32 errLen | stdout | stderr
//            (status >= 0: the exit code; -1: "not mine", another data dir)
//
// When nothing listens there, or the process says "not mine", it runs
// today's plugin instead: Node with the bundle, named by the trailer
// `nsnet cni install` appended to this file (argv, NUL-separated, then its
// u32 length and "NSNETCNI"), with the original stdin on fd 0 (a memfd) and
// the whole original environment. Runtimes give plugins no PATH: the trailer
// holds absolute paths. If the process dies after an ADD was sent, the ADD
// may have run: it is not run again, the runtime gets CNI error 11 (try again
// later); the other commands are idempotent or read-only and fall back.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr size_t kMaxStdin = 4u << 20;  // src/cni/wire.ts MAX_STDIN
constexpr size_t kMaxEnv = 64u << 10;   // src/cni/wire.ts MAX_ENV
constexpr char kTrailerMagic[8] = {'N', 'S', 'N', 'E', 'T', 'C', 'N', 'I'};
constexpr int kNotMine = -1;

bool g_trace = false;
timespec g_start;

void Trace(const char* what, const std::string& more = "") {
  if (!g_trace) return;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double ms = (now.tv_sec - g_start.tv_sec) * 1e3 + (now.tv_nsec - g_start.tv_nsec) / 1e6;
  dprintf(2, "nsnet-cni: %.1f ms %s%s\n", ms, what, more.c_str());
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// All of fd 0. A non-blocking stdin (some parents leave it so) is waited for with poll.
// false: more than `cap` bytes (the rest is read too, for the fallback) or a read error.
bool ReadStdin(std::string& out, bool& read_error) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(0, buf, sizeof buf);
    if (r > 0) {
      out.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r == 0) return out.size() <= kMaxStdin;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      pollfd p{0, POLLIN, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (errno == EBADF || errno == ENXIO) return true;  // no stdin at all: an empty one
    read_error = true;
    return false;
  }
}

// The configuration's cniVersion, for an error JSON written here ("" if none readable).
std::string CniVersionOf(const std::string& conf) {
  size_t k = conf.find("\"cniVersion\"");
  if (k == std::string::npos) return "";
  size_t q = conf.find('"', conf.find(':', k));
  if (q == std::string::npos) return "";
  size_t e = conf.find('"', q + 1);
  if (e == std::string::npos || e - q > 16) return "";
  std::string v = conf.substr(q + 1, e - q - 1);
  for (char c : v) if (!(c == '.' || (c >= '0' && c <= '9'))) return "";
  return v;
}

// The spec's error JSON on stdout, exit 1. msg holds no characters JSON must escape.
[[noreturn]] void Fail(const std::string& conf, int code, const std::string& msg) {
  std::string v = CniVersionOf(conf);
  std::string out = "{";
  if (!v.empty()) out += "\"cniVersion\":\"" + v + "\",";
  out += "\"code\":" + std::to_string(code) + ",\"msg\":\"" + msg + "\"}\n";
  WriteAll(1, out.data(), out.size());
  _exit(1);
}

// The fallback's argv from this file's trailer (empty: none).
std::vector<std::string> TrailerArgv() {
  std::vector<std::string> argv;
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return argv;
  struct stat st;
  char tail[12];
  if (::fstat(fd, &st) == 0 && st.st_size > 12 && ::pread(fd, tail, 12, st.st_size - 12) == 12 &&
      memcmp(tail + 4, kTrailerMagic, 8) == 0) {
    uint32_t len;
    memcpy(&len, tail, 4);
    if (len > 0 && len < (1u << 20) && static_cast<off_t>(len) + 12 <= st.st_size) {
      std::string payload(len, '\0');
      if (::pread(fd, payload.data(), len, st.st_size - 12 - len) == static_cast<ssize_t>(len)) {
        for (size_t i = 0; i < payload.size();) {
          size_t z = payload.find('\0', i);
          if (z == std::string::npos) z = payload.size();
          argv.push_back(payload.substr(i, z - i));
          i = z + 1;
        }
      }
    }
  }
  ::close(fd);
  return argv;
}

// Today's plugin: Node with the bundle, the original stdin on fd 0, the whole environment.
[[noreturn]] void Fallback(const std::string& conf, bool stdin_read, const char* why) {
  Trace("fallback: ", why);
  std::vector<std::string> args = TrailerArgv();
  if (args.empty()) Fail(conf, 999, "nsnet-cni: no fallback recorded in this executable (install it with: nsnet cni install)");
  if (stdin_read) {
    int m = ::memfd_create("nsnet-cni-stdin", 0);  // no MFD_CLOEXEC: it is the fallback's stdin
    if (m < 0 || !WriteAll(m, conf.data(), conf.size()) || ::lseek(m, 0, SEEK_SET) != 0 || ::dup2(m, 0) < 0) {
      Fail(conf, 5, std::string("nsnet-cni: passing stdin to the fallback: ") + strerror(errno));
    }
    if (m != 0) ::close(m);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execve(argv[0], argv.data(), environ);
  Fail(conf, 5, std::string("nsnet-cni: cannot run ") + args[0] + ": " + strerror(errno));
}

void PutU32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }  // little-endian hosts

bool ReadFull(int fd, char* p, size_t n) {
  while (n) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

int main() {
  g_trace = [] { const char* t = getenv("NSNET_CNI_TRACE"); return t && strcmp(t, "1") == 0; }();
  clock_gettime(CLOCK_MONOTONIC, &g_start);
  const char* command = getenv("CNI_COMMAND");
  const bool is_add = command && strcmp(command, "ADD") == 0;

  // stdin: a terminal (VERSION typed by hand) is not waited for, as the Node plugin does.
  std::string conf;
  bool stdin_read = !isatty(0);
  bool read_error = false;
  bool fits = !stdin_read || ReadStdin(conf, read_error);
  if (read_error) Fail(conf, 5, std::string("error reading the network configuration from stdin: ") + strerror(errno));
  if (!fits) Fallback(conf, stdin_read, "stdin larger than the socket's cap");

  std::string env;
  for (char** e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) == 0 || strncmp(*e, "NSNET_", 6) == 0) env.append(*e, strlen(*e) + 1);
  }
  if (env.size() > kMaxEnv) Fallback(conf, stdin_read, "environment larger than the socket's cap");

  const char* run = getenv("NSNET_RUN_DIR");
  std::string sock = std::string(run && *run ? run : "/run/nsnet") + "/cni.sock";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (sock.size() >= sizeof sa.sun_path) Fallback(conf, stdin_read, "socket path too long");
  memcpy(sa.sun_path, sock.c_str(), sock.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    Fallback(conf, stdin_read, (sock + ": " + strerror(errno)).c_str());
  }
  Trace("connected to ", sock);

  std::string head = "NSC1";
  PutU32(head, static_cast<uint32_t>(env.size()));
  PutU32(head, static_cast<uint32_t>(conf.size()));
  PutU32(head, 0);
  iovec iov[3] = {{head.data(), head.size()}, {env.data(), env.size()}, {conf.data(), conf.size()}};
  msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = 3;
  // Until the whole request is written the process cannot have run it (it runs complete requests only).
  while (mh.msg_iovlen) {
    ssize_t w = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) Fallback(conf, stdin_read, (std::string("sending the request: ") + strerror(errno)).c_str());
    size_t n = static_cast<size_t>(w);
    while (mh.msg_iovlen && n >= mh.msg_iov[0].iov_len) {
      n -= mh.msg_iov[0].iov_len;
      mh.msg_iov++;
      mh.msg_iovlen--;
    }
    if (mh.msg_iovlen) {
      mh.msg_iov[0].iov_base = static_cast<char*>(mh.msg_iov[0].iov_base) + n;
      mh.msg_iov[0].iov_len -= n;
    }
  }
  Trace("request sent");

  char ah[16];
  int32_t status = 0;
  uint32_t out_len = 0, err_len = 0;
  std::string out, err;
  bool ok = ReadFull(fd, ah, 16) && memcmp(ah, "NSA1", 4) == 0;
  if (ok) {
    memcpy(&status, ah + 4, 4);
    memcpy(&out_len, ah + 8, 4);
    memcpy(&err_len, ah + 12, 4);
    ok = out_len <= (64u << 20) && err_len <= (64u << 20);
  }
  if (ok) {
    out.resize(out_len);
    err.resize(err_len);
    ok = ReadFull(fd, out.data(), out_len) && ReadFull(fd, err.data(), err_len);
  }
  ::close(fd);
  if (!ok) {
    // The ADD may have run (an address taken, a veth made): running it again could make a second one.
    if (is_add) Fail(conf, 11, "nsnet-cni: the resident nsnet process ended before answering; try again later");
    Fallback(conf, stdin_read, "the resident nsnet process ended before answering");
  }
  if (status == kNotMine) Fallback(conf, stdin_read, "the resident nsnet process serves another data directory");
  Trace("answered, exit ", std::to_string(status));
  WriteAll(2, err.data(), err.size());
  WriteAll(1, out.data(), out.size());
  return status;
}
