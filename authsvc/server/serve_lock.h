#pragma once
// Whether an `authsvc serve` is using a database, for `authsvc restore` to
// ask. Every serve holds a shared flock(2) on a file beside the database,
// DB-serve.lock, for as long as it runs; a restore takes the same lock
// exclusively, which it gets only while no serve holds it, and a serve that
// starts meanwhile waits for the restore to end.
//
// Reliable because the kernel keeps the lock exactly as long as the process
// keeps the file open: a serve that exits, crashes or is killed with SIGKILL
// leaves no lock behind (a pid file would, and its pid may be reused); a
// serve that runs always holds it. The descriptor is close-on-exec, and
// authsvc starts no other program, so no child outlives it with the lock.
// A lock on a file of its own, never on the database file: closing any
// descriptor of the database would drop SQLite's own POSIX locks on it.
//
// What it cannot see: a serve on the same database reached by another hard
// link (a symbolic link is resolved), or one whose lock file was deleted
// under it. The file is empty and stays; leave it.

#include <optional>
#include <string>

namespace authsvc {

class ServeLock {
 public:
  enum class Holder {
    serve,    // shared: any number of serves at once
    restore,  // exclusive: no serve, no other restore
  };

  // The lock of the database at `db_path` as `holder` takes it, or nullopt
  // while another holder excludes it. Creates the lock file (0600) if
  // missing; throws authsvc::Error if it cannot.
  static std::optional<ServeLock> try_take(const std::string& db_path, Holder holder);
  // The same, waiting for as long as another holder excludes it.
  static ServeLock take(const std::string& db_path, Holder holder);
  // Where the lock of the database at `db_path` is: beside it, its path
  // with symbolic links resolved, so that every path to it finds one lock.
  static std::string path_for(const std::string& db_path);

  ServeLock(ServeLock&& other) noexcept;
  ServeLock& operator=(ServeLock&& other) noexcept;
  ~ServeLock();  // releases it

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  static std::optional<ServeLock> lock(const std::string& db_path, Holder holder, bool wait);

  int fd_ = -1;
};

}  // namespace authsvc
