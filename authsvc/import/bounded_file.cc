#include "authsvc/import/bounded_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"

namespace authsvc {

std::string read_bounded_file(const std::string& path, std::uintmax_t max_bytes,
                              const std::string& what) {
  auto too_big = [&](const std::string& size) {
    return Error(fmt::format("'{}' holds {} bytes; {} is refused above {} bytes", printable(path),
                             size, what, max_bytes));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(fmt::format("cannot read '{}': {}", printable(path), std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode))
    throw Error(fmt::format("cannot read '{}': a directory", printable(path)));
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    throw too_big(std::to_string(st.st_size));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}'", printable(path)));
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) throw too_big("more than " + std::to_string(max_bytes));
  }
  if (in.bad()) throw Error(fmt::format("cannot read '{}'", printable(path)));
  return text;
}

}  // namespace authsvc
