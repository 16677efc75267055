#include "authsvc/store/lead_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "authsvc/store/pg_database.h"

namespace authsvc {
namespace {

// PostgreSQL: the advisory lock, on a connection of its own.
class PgLeadLock : public LeadLock {
 public:
  PgLeadLock(const StoreLocation& location, std::int64_t key) : where_(location.where), key_(key) {
    if (!location.password.empty()) password_ = location.password;
  }

  bool hold() override {
    try {
      if (!db_) {
        held_ = false;
        db_ = std::make_unique<PgDatabase>(where_, password_);
      }
      if (held_) {
        // The lock is the session's until the session ends: this query
        // answering at all says the session, and so the lock, is there.
        // pg_locks says so outright, which costs no more.
        held_ = db_->query_int64(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                    "AND ((classid::bigint << 32) | objid::bigint) = ?::bigint",
                    {key_}) > 0;
      }
      // Taken once only: a session-level advisory lock counts how often
      // it was taken, and it is given up by closing the connection.
      if (!held_) {
        held_ = db_->query_int64(
                    "SELECT CASE WHEN pg_try_advisory_lock(?::bigint) THEN 1 "
                    "ELSE 0 END",
                    {key_}) == 1;
      }
      error_.clear();
      return held_;
    } catch (const std::exception& e) {
      // A lost connection stays lost (pg_database.h): the next call
      // connects anew, and takes the lock if no one else did meanwhile.
      error_ = e.what();
      db_.reset();
      held_ = false;
      return false;
    }
  }

  const std::string& last_error() const override { return error_; }

  void release() noexcept override {
    db_.reset();  // the server drops the session's locks with it
    held_ = false;
  }

 private:
  std::string where_;
  std::optional<std::string> password_;
  std::int64_t key_;
  std::unique_ptr<PgDatabase> db_;
  bool held_ = false;
  std::string error_;
};

// SQLite: an exclusive flock on a file of its own beside the database.
class FileLeadLock : public LeadLock {
 public:
  explicit FileLeadLock(std::string path) : path_(std::move(path)) {}
  ~FileLeadLock() override { release(); }

  bool hold() override {
    if (fd_ >= 0) return true;  // a flock stays as long as its descriptor
    // O_NOFOLLOW: the lock is this file, not wherever a link planted
    // there would lead.
    int fd = open(path_.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      error_ = fmt::format("cannot open the lock file {}: {}", path_, std::strerror(errno));
      return false;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) {
        error_.clear();
      } else {
        error_ = fmt::format("cannot lock {}: {}", path_, std::strerror(errno));
      }
      close(fd);
      return false;
    }
    error_.clear();
    fd_ = fd;
    return true;
  }

  const std::string& last_error() const override { return error_; }

  void release() noexcept override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string error_;
};

}  // namespace

const char* to_string(LeadKind kind) {
  switch (kind) {
    case LeadKind::guardian:
      return "guardian";
    case LeadKind::audit_export:
      return "audit export";
  }
  return "?";
}

std::string lead_lock_path(const std::string& db_path, LeadKind kind) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::weakly_canonical(db_path, error);
  if (error) resolved = std::filesystem::absolute(db_path, error);
  if (error) resolved = db_path;
  return resolved.string() +
         (kind == LeadKind::guardian ? "-guardian-lead.lock" : "-export-lead.lock");
}

std::unique_ptr<LeadLock> open_lead_lock(const StoreLocation& location, LeadKind kind) {
  if (location.is_postgresql()) {
    return std::make_unique<PgLeadLock>(
        location, kind == LeadKind::guardian ? kGuardianLeadKey : kAuditExportLeadKey);
  }
  return std::make_unique<FileLeadLock>(lead_lock_path(location.where, kind));
}

}  // namespace authsvc
