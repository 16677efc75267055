#pragma once
// Reading an input file whose size an operator does not control (an
// export, a CSV): refused by its size before it is read, and again while
// reading, so that a pipe or a file that grows cannot exhaust memory.

#include <cstdint>
#include <string>

namespace authsvc {

// The whole file. Throws Error with one line naming `path` if it cannot be
// read, is a directory, or holds more than `max_bytes`; `what` names the
// kind of file in that line ("a definitions file").
std::string read_bounded_file(const std::string& path, std::uintmax_t max_bytes,
                              const std::string& what);

}  // namespace authsvc
