#include "authsvc/cli/log_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

// What one read (or one inflate) adds to the buffer at most. A megabyte
// keeps the block in the CPU's caches while it is scanned, and a system
// call per megabyte costs nothing beside the scan.
constexpr std::size_t kBlock = std::size_t{1} << 20;
constexpr std::size_t kGzipInput = std::size_t{256} << 10;

}  // namespace

struct LogFileReader::Inflater {
  Inflater() {
    // 16 + MAX_WBITS: a gzip header and trailer, not zlib's own.
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw Error("cannot start zlib");
  }
  ~Inflater() { inflateEnd(&stream); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  z_stream stream{};
  std::unique_ptr<unsigned char[]> input{new unsigned char[kGzipInput]};
  bool in_member = true;  // inside a gzip member: its end not yet met
  bool input_ended = false;
};

LogFileReader::LogFileReader(const std::string& path) {
  if (path == "-") {
    name_ = "(standard input)";
    fd_ = STDIN_FILENO;
  } else {
    name_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot read '" + printable(path) + "': " + std::strerror(errno));
    owns_fd_ = true;
    struct stat st;
    if (fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd_);
      throw Error("cannot read '" + printable(path) + "': " + std::strerror(EISDIR));
    }
    // The kernel reads ahead further for a file read once from start to end.
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
}

LogFileReader::~LogFileReader() {
  if (owns_fd_) ::close(fd_);
}

std::string_view LogFileReader::next() {
  if (!buffer_) buffer_.reset(new char[kMaxLine + kBlock]);
  char* buffer = buffer_.get();
  // What follows the last whole line handed out goes to the front.
  std::memmove(buffer, buffer + start_, end_ - start_);
  end_ -= start_;
  start_ = 0;
  for (;;) {
    if (end_ >= kMaxLine) {
      start_ = kMaxLine;
      return {buffer, start_};
    }
    if (eof_) {
      start_ = end_;
      return {buffer, start_};
    }
    std::size_t searched = end_;
    // end_ < kMaxLine here: a block always fits.
    std::size_t got = fill(buffer + end_, kBlock);
    if (got == 0) {
      eof_ = true;
      continue;
    }
    end_ += got;
    if (const void* last = memrchr(buffer + searched, '\n', got)) {
      start_ = static_cast<std::size_t>(static_cast<const char*>(last) - buffer) + 1;
      return {buffer, start_};
    }
  }
}

std::size_t LogFileReader::fill(char* dst, std::size_t n) {
  if (gzip_) return inflate(dst, n);
  if (sniffed_) return read_raw(dst, n);
  // The first bytes say what the file is: gzip's are 1f 8b. A pipe may
  // hand them over one at a time. No more is read than the gzip input
  // buffer takes, so that they can move there.
  sniffed_ = true;
  std::size_t limit = std::min(n, kGzipInput);
  std::size_t got = 0;
  while (got < 2) {
    std::size_t more = read_raw(dst + got, limit - got);
    if (more == 0) break;
    got += more;
  }
  if (got < 2 || static_cast<unsigned char>(dst[0]) != 0x1f ||
      static_cast<unsigned char>(dst[1]) != 0x8b) {
    return got;
  }
  gzip_ = std::make_unique<Inflater>();
  std::memcpy(gzip_->input.get(), dst, got);
  gzip_->stream.next_in = gzip_->input.get();
  gzip_->stream.avail_in = static_cast<uInt>(got);
  return inflate(dst, n);
}

std::size_t LogFileReader::read_raw(char* dst, std::size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_, dst, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR)
      throw Error("cannot read '" + printable(name_) + "': " + std::strerror(errno));
  }
}

std::size_t LogFileReader::inflate(char* dst, std::size_t n) {
  z_stream& z = gzip_->stream;
  z.next_out = reinterpret_cast<Bytef*>(dst);
  z.avail_out = static_cast<uInt>(std::min<std::size_t>(n, UINT_MAX));
  uInt room = z.avail_out;
  while (z.avail_out > 0) {
    if (z.avail_in == 0) {
      if (!gzip_->input_ended) {
        std::size_t got = read_raw(reinterpret_cast<char*>(gzip_->input.get()), kGzipInput);
        if (got == 0) gzip_->input_ended = true;
        z.next_in = gzip_->input.get();
        z.avail_in = static_cast<uInt>(got);
      }
      if (z.avail_in == 0) {
        if (gzip_->in_member) {
          throw Error("cannot read '" + printable(name_) + "': gzip data cut short");
        }
        break;
      }
    }
    if (!gzip_->in_member) {
      // gzip allows members one after another (cat a.gz b.gz); each must
      // be whole.
      inflateReset(&z);
      gzip_->in_member = true;
    }
    int rc = ::inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      gzip_->in_member = false;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw Error("cannot read '" + printable(name_) + "': not valid gzip data (" +
                  (z.msg ? z.msg : "zlib error " + std::to_string(rc)) + ")");
    }
  }
  return room - z.avail_out;
}

}  // namespace authsvc
