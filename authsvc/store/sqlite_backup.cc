// Backups of the SQLite store (store.h has the contract). SQLite's online
// backup API copies every page of one connection's database into another's
// in one step: under a read transaction of the source, so the copy is one
// commit's state while the CLI goes on writing; and as one write
// transaction of the destination.
//
// Each direction goes through a file of its own, made beside its target:
// - a backup is written to a new file beside `target`, checked, and renamed
//   to `target`;
// - a restore copies the backup into a new file beside the store, checks
//   and migrates that copy, and only then copies it into the store through
//   a connection to it: one commit, which the server's connection sees like
//   any other. Renaming a file over the store instead would leave a running
//   server reading the old, unlinked file, and mix its WAL with the new one.
#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "authsvc/core/text.h"
#include "authsvc/store/sqlite_store.h"

namespace authsvc {
namespace {

namespace fs = std::filesystem;

std::string quote_path(const std::string& path) { return "'" + printable(path) + "'"; }

// Runs `fn`; a failure of SQLite (through SQLiteCpp here, or through the
// store's SqlDatabase) comes out as StoreError("cannot WHAT: ..."), as the
// store's own calls do.
template <typename Fn>
auto sqlite_guarded(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
  } catch (const SqlError& e) {
    throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
  }
}

[[noreturn]] void fail_errno(const std::string& what) {
  throw StoreError(fmt::format("cannot {}: {}", what, std::strerror(errno)));
}

// A file of ours beside `near`: mkstemp makes it 0600, whatever the umask,
// under a name nobody else has. Removed, with what SQLite made beside it,
// unless renamed into place first: so it must outlive the connections to it.
class TempFile {
 public:
  TempFile(const std::string& near, const std::string& purpose) {
    fs::path dir = fs::path(near).parent_path();
    std::string pattern =
        (dir / (fs::path(near).filename().string() + "." + purpose + "-XXXXXX")).string();
    int fd = mkstemp(pattern.data());
    if (fd < 0) fail_errno("create a file in " + quote_path(dir.empty() ? "." : dir.string()));
    close(fd);
    path_ = pattern;
  }
  ~TempFile() {
    if (path_.empty()) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((path_ + suffix).c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void renamed() { path_.clear(); }

 private:
  std::string path_;
};

// Whether `path` is the store at `location`, or its WAL, index or journal:
// a backup written there, or restored from there, would destroy the store.
bool is_store_file(const std::string& path, const std::string& location) {
  struct stat a {};
  if (stat(path.c_str(), &a) != 0) return false;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    struct stat b {};
    if (stat((location + suffix).c_str(), &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
      return true;
    }
  }
  return false;
}

void refuse_store_file(const std::string& path, const std::string& location) {
  if (is_store_file(path, location)) {
    throw StoreError(fmt::format("{} is a file of the database {} itself", quote_path(path),
                                 quote_path(location)));
  }
}

[[noreturn]] void refuse_existing(const std::string& target) {
  throw StoreError(fmt::format("{} exists; give --force to replace it", quote_path(target)));
}

// Durably: the file's data, then the rename in its directory, so that a
// crash right after a backup leaves the backup, not an empty name.
void sync_path(const std::string& path, int flags) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) fail_errno("open " + quote_path(path));
  // Some file systems cannot sync a directory (EINVAL): nothing more to do.
  if (fsync(fd) != 0 && errno != EINVAL) {
    int error = errno;
    close(fd);
    errno = error;
    fail_errno("sync " + quote_path(path));
  }
  close(fd);
}

// Renames `from` to `to`; unless `replace`, only if `to` does not exist, in
// the same step (RENAME_NOREPLACE, or link() where the file system lacks
// it), so that a file made there meanwhile is never lost.
void rename_into_place(const std::string& from, const std::string& to, bool replace) {
  if (replace) {
    if (std::rename(from.c_str(), to.c_str()) != 0) fail_errno("replace " + quote_path(to));
    return;
  }
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno == EEXIST) refuse_existing(to);
  if (errno != EINVAL && errno != ENOSYS) fail_errno("rename to " + quote_path(to));
  if (link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) refuse_existing(to);
    fail_errno("link to " + quote_path(to));
  }
  unlink(from.c_str());
}

// Copies the bytes of the file `from` into `to`, which exists (keeping its
// mode). Not through SQLite: opening the backup would make a WAL and an
// index beside it, or change it.
void copy_bytes(const std::string& from, const std::string& to) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail_errno("read " + quote_path(from));
  struct stat st {};
  if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(in);
    throw StoreError(fmt::format("{} is not a file", quote_path(from)));
  }
  int out = open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (out < 0) {
    close(in);
    fail_errno("write " + quote_path(to));
  }
  std::vector<char> buffer(1 << 16);
  while (true) {
    ssize_t n = read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(in);
      close(out);
      fail_errno("read " + quote_path(from));
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        close(in);
        close(out);
        fail_errno("write " + quote_path(to));
      }
      done += w;
    }
  }
  close(in);
  if (close(out) != 0) fail_errno("write " + quote_path(to));
}

// Every page of `from` into `to`, in one step of the backup API; `what`
// names it in the error.
void copy_pages(SQLite::Database& to, SQLite::Database& from, const std::string& what) {
  SQLite::Backup backup(to, from);
  int rc = backup.executeStep(-1);
  // BUSY or LOCKED: the destination's busy timeout passed with another
  // writer in the way; nothing was written.
  if (rc != SQLITE_DONE) throw StoreError(fmt::format("cannot {}: {}", what, sqlite3_errstr(rc)));
}

// The first row of PRAGMA integrity_check: "ok", or the first problem.
std::string integrity_of(SQLite::Database& db) {
  return db.execAndGet("PRAGMA integrity_check").getString();
}

// A schema as what it is made of: each table, index, trigger and view by
// name (SQLite's own, sqlite_*, left out), and what it is on; for a table,
// its columns with their types and constraints instead. Not the SQL text:
// the text of an altered table is SQLite's rewrite, which may differ from
// one SQLite version to the next.
std::map<std::string, std::string> schema_of(SQLite::Database& db) {
  std::map<std::string, std::string> objects;
  SQLite::Statement q(db,
                      "SELECT type, name, tbl_name FROM sqlite_schema "
                      "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
  SQLite::Statement columns(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)");
  while (q.executeStep()) {
    std::string type = q.getColumn(0).getString();
    std::string name = q.getColumn(1).getString();
    std::string shape = "on " + q.getColumn(2).getString();
    if (type == "table") {
      shape.clear();
      columns.reset();
      columns.bind(1, name);
      while (columns.executeStep()) {
        shape += fmt::format("{} {} {} {},", columns.getColumn(0).getString(),
                             columns.getColumn(1).getString(), columns.getColumn(2).getInt(),
                             columns.getColumn(3).getInt());
      }
    }
    objects[type + " '" + printable(name) + "'"] = shape;
  }
  return objects;
}

// How the schema `found` differs from `expected`, or "" if it does not.
std::string schema_difference(const std::map<std::string, std::string>& expected,
                              const std::map<std::string, std::string>& found) {
  for (const auto& [object, shape] : expected) {
    auto it = found.find(object);
    if (it == found.end()) return "it has no " + object;
    if (it->second != shape) return "its " + object + " is not authsvc's";
  }
  for (const auto& [object, shape] : found) {
    if (!expected.contains(object)) return "it has a " + object + " that authsvc's schema has not";
  }
  return "";
}

}  // namespace

BackupContents SqliteStore::back_up(const std::string& target, bool replace) {
  refuse_store_file(target, location());
  struct stat st {};
  if (!replace && stat(target.c_str(), &st) == 0) refuse_existing(target);
  TempFile copy_file(target, "partial");
  BackupContents contents;
  sqlite_guarded(fmt::format("back up to {}", quote_path(target)), [&] {
    SQLite::Database copy(copy_file.path(), SQLite::OPEN_READWRITE);
    copy_pages(copy, sqlite(), fmt::format("back up to {}", quote_path(target)));
    // The pages say WAL, as the store's do: make the copy one file, with no
    // WAL and index beside it once opened.
    copy.exec("PRAGMA journal_mode = DELETE");
    std::string integrity = integrity_of(copy);
    if (integrity != "ok") {
      throw StoreError(
          fmt::format("the copy fails SQLite's integrity check: {}", printable(integrity)));
    }
    contents.users =
        static_cast<std::size_t>(copy.execAndGet("SELECT count(*) FROM users").getInt64());
    contents.schema_version = copy.execAndGet("PRAGMA user_version").getInt();
  });
  sync_path(copy_file.path(), 0);
  rename_into_place(copy_file.path(), target, replace);
  copy_file.renamed();
  std::string dir = fs::path(target).parent_path().string();
  sync_path(dir.empty() ? "." : dir, O_DIRECTORY);

  std::string where = fs::absolute(target).lexically_normal().string();
  try {
    sqlite_guarded("record the backup", [&] {
      SqlTransaction txn(db(), SqlTransactionKind::write);
      record_event("backup", "", "to " + quote_path(where));
      txn.commit();
    });
  } catch (const StoreError& e) {
    throw StoreError(fmt::format("wrote {}, but {}", quote_path(target), e.what()));
  }
  return contents;
}

BackupContents SqliteStore::restore(const std::string& location, const std::string& backup,
                                    const Actor& actor) {
  require_exists(location);
  refuse_store_file(backup, location);
  auto refuse = [&](const std::string& why) {
    throw StoreError(fmt::format("{} is not an authsvc database: {}", quote_path(backup), why));
  };

  TempFile staged(location, "restore");
  copy_bytes(backup, staged.path());
  // A copy made with cp next to a running server may have committed pages
  // in its WAL still: SQLite applies them when it opens the staged copy.
  struct stat wal {};
  if (stat((backup + "-wal").c_str(), &wal) == 0 && S_ISREG(wal.st_mode) && wal.st_size > 0) {
    TempFile staged_wal_name(location, "restore-wal");  // a 0600 file to copy into
    copy_bytes(backup + "-wal", staged_wal_name.path());
    if (std::rename(staged_wal_name.path().c_str(), (staged.path() + "-wal").c_str()) != 0) {
      fail_errno("stage " + quote_path(backup + "-wal"));
    }
    staged_wal_name.renamed();
  }

  BackupContents contents;
  try {
    SQLite::Database copy(staged.path(), SQLite::OPEN_READWRITE);
    std::string integrity = integrity_of(copy);
    if (integrity != "ok") refuse("it fails SQLite's integrity check: " + printable(integrity));
    contents.schema_version = copy.execAndGet("PRAGMA user_version").getInt();
    if (contents.schema_version == 0) refuse("it has no schema version");
    if (contents.schema_version > latest_schema_version()) {
      throw StoreError(fmt::format(
          "{} is from a newer authsvc (schema version {}; this one knows up to {}); refusing it",
          quote_path(backup), contents.schema_version, latest_schema_version()));
    }
    try {
      migrate(copy);
    } catch (const SqlError& e) {
      refuse(fmt::format("it cannot be migrated to schema version {}: {}", latest_schema_version(),
                         printable(e.what())));
    }
    SQLite::Database fresh(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    migrate(fresh);
    std::string difference = schema_difference(schema_of(fresh), schema_of(copy));
    if (!difference.empty()) refuse(difference);
    SQLite::Statement dangling(copy, "PRAGMA foreign_key_check");
    if (dangling.executeStep()) {
      refuse(fmt::format("it fails the foreign key check (a row of '{}' refers to a missing one)",
                         printable(dangling.getColumn(0).getString())));
    }
  } catch (const SQLite::Exception& e) {
    // "file is not a database", "database disk image is malformed"
    refuse(printable(e.what()));
  }

  // Opened as a store, it is read as the server reads it.
  SqliteStore restored(staged.path(), actor);
  std::size_t users = 0;
  try {
    users = restored.load_users(nullptr).size();
  } catch (const StoreError& e) {
    refuse(e.what());
  }
  std::size_t rows = static_cast<std::size_t>(sqlite_guarded("count the users", [&] {
    return restored.sqlite().execAndGet("SELECT count(*) FROM users").getInt64();
  }));
  if (rows != users)
    refuse(fmt::format("{} of its users have no current credential", rows - users));
  contents.users = users;

  std::string from = fs::absolute(backup).lexically_normal().string();
  sqlite_guarded(fmt::format("restore {}", quote_path(location)), [&] {
    SQLite::Database live(location, SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX,
                          kBusyTimeoutMs);
    // The replaced store's last event, so that the restore's comes after
    // it: a running server asks for the events after the last it saw. A
    // store too damaged to say is being replaced for that reason: 0.
    std::int64_t replaced_last = 0;
    try {
      replaced_last = live.execAndGet("SELECT COALESCE(MAX(id), 0) FROM audit_events").getInt64();
    } catch (const SQLite::Exception&) {
    }
    {
      SQLite::Transaction txn(restored.sqlite(), SQLite::TransactionBehavior::IMMEDIATE);
      // audit_events is AUTOINCREMENT: its next id is one past this.
      SQLite::Statement next(restored.sqlite(),
                             "UPDATE sqlite_sequence SET seq = max(seq, ?) "
                             "WHERE name = 'audit_events'");
      next.bind(1, replaced_last);
      next.exec();
      SQLite::Statement first(restored.sqlite(),
                              "INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_events', ? "
                              "WHERE NOT EXISTS "
                              "(SELECT 1 FROM sqlite_sequence WHERE name = 'audit_events')");
      first.bind(1, replaced_last);
      first.exec();
      restored.record_event(kRestoreAction, "",
                            fmt::format("from {} ({} users; its schema version {})",
                                        quote_path(from), users, contents.schema_version));
      txn.commit();
    }
    // A WAL database takes pages of its own size only.
    int page_size = live.execAndGet("PRAGMA page_size").getInt();
    if (restored.sqlite().execAndGet("PRAGMA page_size").getInt() != page_size) {
      restored.sqlite().exec("PRAGMA journal_mode = DELETE");
      restored.sqlite().exec(fmt::format("PRAGMA page_size = {}", page_size));
      restored.sqlite().exec("VACUUM");
    }
    copy_pages(live, restored.sqlite(), fmt::format("restore {}", quote_path(location)));
    live.exec("PRAGMA journal_mode = WAL");
  });
  return contents;
}

}  // namespace authsvc
