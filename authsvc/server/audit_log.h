#pragma once
// The audit log's sink: JSON lines appended to a file or stdout by a writer
// thread, so that no request waits on the disk. The writer writes what has
// gathered every 20 ms (or sooner, when 4096 lines wait), in one write.
//
// reopen() is for log rotation (logrotate renames the file, then serve gets
// SIGHUP): the writer finishes the batch it is writing in the old file, then
// writes on in a new file at the same path, so that each line is in exactly
// one of the two, whole.
//
// Lines are never dropped while the process runs. If writing fails (a full
// disk, a file-size limit), the writer reports it on stderr at most once a
// minute, keeps the lines and retries every 200 ms from the byte where the
// write stopped, so nothing is lost or written twice once space returns. If
// more than `max_pending` lines wait, append() blocks until there is room:
// requests stall, and the broker times out and refuses (fail closed), rather
// than be answered unaudited. Only at exit does the log give up: the
// destructor makes one last attempt and reports on stderr how many lines it
// could not write.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/error.h"

namespace authsvc {

// The audit log file cannot be opened; what() names it and says why.
class AuditLogError : public Error {
 public:
  using Error::Error;
};

class AuditLog : public AuditSink {
 public:
  // `path` "-" is stdout; a file is opened for appending, created 0600.
  // Every line appended gets `"node":NODE` as its first field (NODE: the
  // process's --node-name, core/node_name.h). Throws AuditLogError if the
  // file cannot be opened.
  AuditLog(const std::string& path, std::string_view node, std::size_t max_pending = 1'000'000);
  ~AuditLog() override;  // writes everything appended, then closes
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues a copy of one line, a JSON object, with the node put first in
  // it; `line` must not end with a newline. Anything but an object (only
  // tests write one) is queued as it is.
  void append(std::string_view line) override;
  // Opens the path again (created 0600 if missing) for the lines to come:
  // every line appended after the call goes to the new file; those before
  // it to the old or the new one, each once and whole. Returns false, doing
  // nothing, when the log is stdout. Throws AuditLogError if the path cannot
  // be opened; the log then goes on writing to the old file.
  bool reopen();
  const std::string& path() const { return path_; }  // "-": stdout
  // Returns once every line appended before the call is written.
  void flush();
  // The same, waiting at most `timeout`; false if lines are still unwritten.
  bool flush_for(std::chrono::milliseconds timeout);

  std::uint64_t lines_written() const;

  // For metrics and readiness, read at any time.
  struct Figures {
    std::uint64_t written = 0;
    std::uint64_t waiting = 0;       // appended, not yet on disk
    std::uint64_t write_errors = 0;  // failed write attempts (each retried)
    // How long the oldest waiting line has waited, at most; zero if none.
    std::chrono::steady_clock::duration oldest_wait{};
  };
  Figures figures() const;
  // Lines given up on at exit (a disk still full): 0 while the log runs.
  std::uint64_t lines_lost() const;

 private:
  void run();
  bool stopping() const;
  bool write_all(const std::string& data, std::size_t* done);

  std::string path_;
  // `{"node":"NODE"`, made once: what append() puts before a line's fields.
  std::string node_prefix_;
  int fd_ = -1;  // the writer's, and the destructor's once it has stopped
  bool owns_fd_ = false;
  std::size_t max_pending_;
  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable progress_;
  std::string pending_;  // lines, each ending in '\n'
  std::size_t pending_lines_ = 0;
  std::uint64_t appended_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t write_errors_ = 0;
  std::uint64_t lost_ = 0;
  // When the writer took the batch it is writing: every line waiting now
  // was appended after the one before it was written, or after this.
  std::chrono::steady_clock::time_point waiting_since_{};
  int reopened_fd_ = -1;  // from reopen(), for the writer to switch to
  bool flush_requested_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

// What SIGHUP does to a process's audit log (logrotate's postrotate): reopens
// it and says so on stderr, one line starting with `program`; that the log
// is stdout and there is nothing to reopen; or why the file could not be
// opened (the old one is still written).
void reopen_on_sighup(AuditLog& log, const std::string& program);

}  // namespace authsvc
