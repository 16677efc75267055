#include "authsvc/server/audit_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "authsvc/core/json_line.h"
#include "authsvc/core/report_limiter.h"

namespace authsvc {
namespace {

constexpr std::size_t kWakeBatch = 4096;
constexpr auto kWriteInterval = std::chrono::milliseconds(20);

int open_log(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw AuditLogError(fmt::format("cannot open audit log '{}': {}", path, std::strerror(errno)));
  }
  return fd;
}

}  // namespace

AuditLog::AuditLog(const std::string& path, std::string_view node, std::size_t max_pending)
    : path_(path), max_pending_(max_pending) {
  JsonLine(&node_prefix_).add("node", node);  // not finished: the line's fields follow
  if (path == "-") {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = open_log(path);
    owns_fd_ = true;
  }
  writer_ = std::thread([this] { run(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
  if (owns_fd_) ::close(fd_);
  if (reopened_fd_ >= 0) ::close(reopened_fd_);
}

bool AuditLog::reopen() {
  if (!owns_fd_) return false;
  int fd = open_log(path_);
  {
    std::lock_guard lock(mutex_);
    // Two reopens before the writer switched: the later file is the one.
    if (reopened_fd_ >= 0) ::close(reopened_fd_);
    reopened_fd_ = fd;
  }
  wake_writer_.notify_one();
  return true;
}

void AuditLog::append(std::string_view line) {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return pending_lines_ < max_pending_; });
  // The first line to wait starts the clock (one clock read per batch,
  // not per line).
  if (appended_ == written_) waiting_since_ = std::chrono::steady_clock::now();
  // The node is added here, where every line of the process passes, rather
  // than as a field of each kind of record: then no writer (decisions, the
  // store's events, the guardian, the web, or one added later) can leave
  // it out, and the hot path pays one short copy, not a formatted field.
  if (!line.empty() && line.front() == '{') {
    pending_.append(node_prefix_);
    line.remove_prefix(1);
    if (!line.empty() && line.front() != '}') pending_.push_back(',');
  }
  pending_.append(line);
  pending_.push_back('\n');
  ++pending_lines_;
  ++appended_;
  // Waking the writer for every line cost a futex call and a context switch
  // per request (a third of the CPU under load); it wakes on its own every
  // kWriteInterval, or here when a batch is full.
  if (pending_lines_ == kWakeBatch) wake_writer_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = appended_;
  flush_requested_ = true;
  wake_writer_.notify_one();
  progress_.wait(lock, [&] { return written_ >= target; });
}

bool AuditLog::flush_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::uint64_t target = appended_;
  flush_requested_ = true;
  wake_writer_.notify_one();
  return progress_.wait_for(lock, timeout, [&] { return written_ >= target; });
}

bool AuditLog::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void reopen_on_sighup(AuditLog& log, const std::string& program) {
  try {
    if (log.reopen()) {
      fmt::print(stderr, "{}: SIGHUP: reopened the audit log {}\n", program, log.path());
    } else {
      fmt::print(stderr, "{}: SIGHUP: the audit log is stdout, nothing to reopen\n", program);
    }
  } catch (const AuditLogError& e) {
    fmt::print(stderr, "{}: SIGHUP: {}; still writing to the old file\n", program, e.what());
  }
}

std::uint64_t AuditLog::lines_written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

AuditLog::Figures AuditLog::figures() const {
  std::lock_guard lock(mutex_);
  Figures f;
  f.written = written_;
  f.waiting = appended_ - written_;
  f.write_errors = write_errors_;
  if (f.waiting > 0) f.oldest_wait = std::chrono::steady_clock::now() - waiting_since_;
  return f;
}

std::uint64_t AuditLog::lines_lost() const {
  std::lock_guard lock(mutex_);
  return lost_;
}

bool AuditLog::write_all(const std::string& data, std::size_t* done) {
  while (*done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + *done, data.size() - *done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    *done += static_cast<std::size_t>(n);
  }
  return true;
}

void AuditLog::run() {
  // Two buffers, swapped: appenders fill one while this writes the other,
  // and both keep their capacity, so steady state allocates nothing.
  std::string batch;
  std::size_t batch_lines = 0;
  std::chrono::steady_clock::time_point taken_at;
  ReportLimiter error_reports;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_writer_.wait_for(lock, kWriteInterval, [&] {
        return stopping_ || flush_requested_ || pending_lines_ >= kWakeBatch || reopened_fd_ >= 0;
      });
      flush_requested_ = false;
      // Between batches: the last one is wholly in the old file, and every
      // line appended since reopen() is still pending, for the new one.
      if (reopened_fd_ >= 0) {
        ::close(fd_);
        fd_ = reopened_fd_;
        reopened_fd_ = -1;
      }
      if (pending_lines_ == 0) {
        if (stopping_) return;
        continue;
      }
      batch.swap(pending_);
      batch_lines = pending_lines_;
      pending_lines_ = 0;
      taken_at = std::chrono::steady_clock::now();
    }
    // Waiting appenders may go on: their lines now fit.
    progress_.notify_all();
    std::size_t done = 0;
    bool failed = false;
    while (!write_all(batch, &done)) {
      failed = true;
      int error = errno;
      {
        std::lock_guard lock(mutex_);
        ++write_errors_;
      }
      if (stopping()) {
        // The process is exiting and the caller has had its chance to wait
        // (serve waits a few seconds): say exactly what is lost.
        std::size_t lost = batch_lines;
        {
          std::lock_guard lock(mutex_);
          lost += pending_lines_;
          pending_lines_ = 0;
          pending_.clear();
          lost_ += lost;
        }
        fmt::print(stderr, "authsvc: cannot write the audit log ({}); {} lines lost at exit\n",
                   std::strerror(error), lost);
        return;
      }
      // Keep the lines and retry: an audit line is never dropped. Say so at
      // most once a minute, so a full disk does not also flood stderr.
      if (error_reports.should_report()) {
        fmt::print(stderr, "authsvc: cannot write the audit log ({}); {} lines wait, retrying\n",
                   std::strerror(error), batch_lines);
      }
      // Retry from where the write stopped, so no line is written twice.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (failed) {
      fmt::print(stderr, "authsvc: the audit log is writable again; no line was lost\n");
      error_reports.reset();
    }
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      written_ += batch_lines;
      // What waits now came after the batch was taken.
      if (appended_ > written_) waiting_since_ = taken_at;
    }
    progress_.notify_all();
  }
}

}  // namespace authsvc
