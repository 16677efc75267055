#include "authsvc/cli/password_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace authsvc {
namespace {

PasswordFileError failure(const std::string& what, const std::string& path) {
  return PasswordFileError(what + " password file " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string read_password_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw failure("cannot open", path);
  std::string content;
  // fstat on the file we read, so that the mode checked is that file's.
  struct stat st {};
  bool ok = fstat(fd, &st) == 0;
  char chunk[4096];
  while (ok) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    content.append(chunk, static_cast<std::size_t>(n));
    if (content.find('\n') != std::string::npos) break;
  }
  int saved_errno = errno;
  close(fd);
  errno = saved_errno;
  if (!ok) throw failure("cannot read", path);
  if ((st.st_mode & S_IROTH) != 0) {
    throw PasswordFileError("password file " + path +
                            " is readable by everyone; chmod o-r it first");
  }
  std::string line = content.substr(0, content.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw PasswordFileError("password file " + path + " has an empty first line");
  return line;
}

}  // namespace authsvc
