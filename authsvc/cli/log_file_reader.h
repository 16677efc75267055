#pragma once
// A log file's lines, read in large blocks: a plain file, or one compressed
// with gzip as logrotate leaves rotated logs (told by its first two bytes,
// not by its name; several gzip members one after another read as one
// file); or standard input, either way.
//
//   LogFileReader reader("audit.log.2.gz");
//   for (std::string_view lines = reader.next(); !lines.empty(); lines = reader.next()) ...

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace authsvc {

class LogFileReader {
 public:
  // Lines shorter than this come whole; a longer one may come cut (see
  // next()).
  static constexpr std::size_t kMaxLine = std::size_t{1} << 20;

  // Opens `path`, "-" for standard input. Throws Error naming the file if it
  // cannot be opened, or is a directory. Reads nothing yet.
  explicit LogFileReader(const std::string& path);
  ~LogFileReader();
  LogFileReader(const LogFileReader&) = delete;
  LogFileReader& operator=(const LogFileReader&) = delete;

  // The next whole lines, each with its '\n', valid until the next call;
  // empty at the end of the file. A block may end without '\n' twice over:
  // with the file's last line, when the file does not end with a newline
  // (at_end() is then true), and with the first kMaxLine bytes of a line
  // longer than that, which the buffer cannot hold whole (at_end() false),
  // where the caller stops. Throws Error naming the file if reading fails,
  // or if gzip data is corrupt or cut short.
  std::string_view next();
  // Whether next() has handed out the whole file.
  bool at_end() const { return eof_ && start_ == end_; }
  // The file as messages name it: its path, or "(standard input)".
  const std::string& name() const { return name_; }

 private:
  struct Inflater;
  // Up to n bytes of the file's content (inflated, for gzip) at dst; 0 at
  // its end.
  std::size_t fill(char* dst, std::size_t n);
  std::size_t read_raw(char* dst, std::size_t n);
  std::size_t inflate(char* dst, std::size_t n);

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool sniffed_ = false;  // whether the first bytes have been looked at
  std::unique_ptr<Inflater> gzip_;
  std::unique_ptr<char[]> buffer_;
  std::size_t start_ = 0;  // buffer_[start_, end_): read but not handed out
  std::size_t end_ = 0;
  bool eof_ = false;
};

}  // namespace authsvc
