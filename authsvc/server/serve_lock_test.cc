#include "authsvc/server/serve_lock.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include "authsvc/core/error.h"
#include "tests/test_support.h"

namespace authsvc {

using Holder = ServeLock::Holder;

namespace {

// Whether /proc/locks lists a process blocked in flock(2) on the file at
// `path`: a waiter's line is marked "->" and names the file as
// MAJOR:MINOR:INODE. Matched on the inode alone: the kernel names the
// device of the inode's super block, which on stacked file systems
// (overlayfs) need not be the st_dev that stat() reports.
bool flock_waiter_on(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  const std::string inode = fmt::format(":{}", st.st_ino);
  std::istringstream locks(testing::read_file("/proc/locks"));
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, arrow, kind, advisory, mode, pid, id;
    fields >> number >> arrow >> kind >> advisory >> mode >> pid >> id;
    if (arrow == "->" && kind == "FLOCK" && id.size() > inode.size() &&
        id.compare(id.size() - inode.size(), inode.size(), inode) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("serves share the lock, and a restore gets it only when no serve holds it") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  std::optional<ServeLock> first = ServeLock::try_take(db, Holder::serve);
  std::optional<ServeLock> second = ServeLock::try_take(db, Holder::serve);
  REQUIRE(first);
  REQUIRE(second);
  CHECK_FALSE(ServeLock::try_take(db, Holder::restore));
  first.reset();
  CHECK_FALSE(ServeLock::try_take(db, Holder::restore));
  second.reset();
  std::optional<ServeLock> restore = ServeLock::try_take(db, Holder::restore);
  REQUIRE(restore);
  CHECK_FALSE(ServeLock::try_take(db, Holder::restore));
  CHECK_FALSE(ServeLock::try_take(db, Holder::serve));

  struct stat st {};
  REQUIRE(stat(ServeLock::path_for(db).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(ServeLock::path_for(db) == db + "-serve.lock");
}

TEST_CASE("a serve that starts during a restore waits for it" * doctest::test_suite("threaded")) {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  std::optional<ServeLock> restore = ServeLock::try_take(db, Holder::restore);
  REQUIRE(restore);
  std::atomic<bool> serving{false};
  std::thread serve([&] {
    ServeLock lock = ServeLock::take(db, Holder::serve);
    serving = true;
  });
  // Not serving proves nothing until the serve has tried: wait until the
  // kernel lists it as waiting for the lock, or until it got it, which a
  // lock that does not exclude would give it.
  CHECK(testing::eventually(
      [&] { return serving.load() || flock_waiter_on(ServeLock::path_for(db)); }));
  CHECK_FALSE(serving);
  restore.reset();
  CHECK(testing::eventually([&] { return serving.load(); }));
  serve.join();
}

TEST_CASE("a lock goes with the process that held it, killed or not") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  std::optional<ServeLock> lock = ServeLock::try_take(db, Holder::serve);
  REQUIRE(lock);
  // The child shares the parent's open lock file, as a process that took it
  // itself would hold it, and does nothing until killed.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  lock.reset();
  CHECK_FALSE(ServeLock::try_take(db, Holder::restore));
  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(ServeLock::try_take(db, Holder::restore));
}

TEST_CASE("every path to the database finds the same lock") {
  testing::TempDir dir;
  std::string db = dir.file("a.db");
  testing::write_file(db, "");
  std::filesystem::create_directory(dir.file("sub"));
  std::filesystem::create_symlink(db, dir.file("sub/link.db"));
  CHECK(ServeLock::path_for(dir.file("sub/link.db")) == db + "-serve.lock");
  CHECK(ServeLock::path_for(dir.file("sub/../a.db")) == db + "-serve.lock");
  std::optional<ServeLock> serve = ServeLock::try_take(dir.file("sub/link.db"), Holder::serve);
  REQUIRE(serve);
  CHECK_FALSE(ServeLock::try_take(db, Holder::restore));

  CHECK_THROWS_WITH_AS(ServeLock::try_take(dir.file("missing/a.db"), Holder::serve),
                       doctest::Contains("cannot open the lock file"), Error);
}

}  // namespace authsvc
