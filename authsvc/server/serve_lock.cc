#include "authsvc/server/serve_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"

namespace authsvc {

std::string ServeLock::path_for(const std::string& db_path) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::weakly_canonical(db_path, error);
  if (error) resolved = std::filesystem::absolute(db_path, error);
  if (error) resolved = db_path;
  return resolved.string() + "-serve.lock";
}

std::optional<ServeLock> ServeLock::lock(const std::string& db_path, Holder holder, bool wait) {
  std::string path = path_for(db_path);
  // O_NOFOLLOW: the lock is this file, not wherever a link planted there
  // would lead.
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    throw Error(
        fmt::format("cannot open the lock file '{}': {}", printable(path), std::strerror(errno)));
  }
  ServeLock held(fd);
  int operation = (holder == Holder::serve ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  while (flock(fd, operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::nullopt;
    throw Error(fmt::format("cannot lock '{}': {}", printable(path), std::strerror(errno)));
  }
  return held;
}

std::optional<ServeLock> ServeLock::try_take(const std::string& db_path, Holder holder) {
  return lock(db_path, holder, false);
}

ServeLock ServeLock::take(const std::string& db_path, Holder holder) {
  return std::move(*lock(db_path, holder, true));
}

ServeLock::ServeLock(ServeLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

ServeLock& ServeLock::operator=(ServeLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) close(fd_);  // the lock goes with the last descriptor
}

}  // namespace authsvc
