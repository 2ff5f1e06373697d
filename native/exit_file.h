// The exit file a detached command's supervisor writes (native/spawn.cc, and
// native/supervise_main.cc after the supervisor has exec'd it):
//   {"pid":1234,"exitCode":143,"signal":15}
// written whole or not at all (a tmp file renamed over it), mode 0600; a
// command killed by signal N has exitCode 128+N, as Docker reports it.
// System calls only and no allocation: it runs in a process forked from a
// multi-threaded one.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nsnet {

// Writes n in decimal at out; returns the end.
inline char* Decimal(char* out, long n) {
  char tmp[24];
  int len = 0;
  bool neg = n < 0;
  unsigned long u = neg ? -static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
  do {
    tmp[len++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) *out++ = '-';
  while (len) *out++ = tmp[--len];
  return out;
}

inline char* Text(char* out, const char* s) {
  while (*s) *out++ = *s++;
  return out;
}

// `tmp`: a path beside `file` (same directory, so rename is atomic).
inline void WriteExitFile(const char* file, const char* tmp, pid_t pid, int status) {
  char buf[128];
  char* e = Text(buf, "{\"pid\":");
  e = Decimal(e, pid);
  e = Text(e, ",\"exitCode\":");
  if (WIFSIGNALED(status)) {
    e = Decimal(e, 128 + WTERMSIG(status));
    e = Text(e, ",\"signal\":");
    e = Decimal(e, WTERMSIG(status));
  } else {
    e = Decimal(e, WEXITSTATUS(status));
  }
  e = Text(e, "}\n");
  int fd = ::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = ::write(fd, buf, e - buf) == e - buf;
  ::close(fd);
  if (ok) ::rename(tmp, file);
  else ::unlink(tmp);
}

}  // namespace nsnet
