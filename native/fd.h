// UniqueFd: the one owner of a file descriptor inside the addon.
//
// Every fd the addon opens is O_CLOEXEC/SOCK_CLOEXEC and lives in a UniqueFd
// until it is either closed here or handed to JavaScript with Release(); then
// JavaScript owns it (and closes it with the addon's close verb or fs.close).
#pragma once

#include <unistd.h>

#include <utility>

namespace nsnet {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { Reset(); }

  int Get() const { return fd_; }
  bool Valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace nsnet
