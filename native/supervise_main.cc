// nsnet-supervise PID EXIT_FILE (or ""): the program a detached command's supervisor
// execs once it has forked the command (native/spawn.cc). The supervisor
// starts as a fork of nsnet's Node process, and would keep a private copy of
// its memory for as long as the command runs; exec'ing this small program
// gives that back. The command stays its child across execve, so it waits for
// it and writes the exit file, as the supervisor would have.
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <string>

#include "exit_file.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  char* end = nullptr;
  long pid = strtol(argv[1], &end, 10);
  if (!end || *end || pid <= 0) return 2;
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (!*argv[2]) return 0;  // exec -d: nobody asks for its status
  std::string tmp = std::string(argv[2]) + ".tmp";
  nsnet::WriteExitFile(argv[2], tmp.c_str(), static_cast<pid_t>(pid), status);
  return 0;
}
