// `authsvc backup` and `authsvc restore` as an operator runs them: the real
// binary, beside a running serve and a CLI that keeps writing. What the
// store checks of a backup is tested beside it (store/sqlite_backup_test.cc).
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "authsvc/store/store.h"
#include "tests/database_contents.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::Cli;
using testing::CommandResult;

bool is_one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

int schema_version_of(const std::string& db) {
  return open_store(db, Actor{"cli", "test"})->schema_version();
}

// The names of the users the database at `path` holds, sorted, and the last
// audit event of the CLI's user changes then (a backup's own event left
// out: it is written by the command being tested, not by the churn).
struct CommittedUsers {
  std::int64_t last_event = 0;
  std::vector<std::string> names;
  bool operator==(const CommittedUsers&) const = default;
};

CommittedUsers committed_users(SQLite::Database& db) {
  CommittedUsers users;
  SQLite::Transaction read(db);  // one view of both
  users.last_event =
      db.execAndGet("SELECT COALESCE(MAX(id), 0) FROM audit_events WHERE action <> 'backup'")
          .getInt64();
  SQLite::Statement q(db, "SELECT name FROM users ORDER BY name");
  while (q.executeStep()) users.names.push_back(q.getColumn(0).getString());
  read.commit();
  return users;
}

// The answer of the server at `port` to a login.
std::string login(int port, const std::string& user, const std::string& token) {
  httplib::Client http("127.0.0.1", port);
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + token,
                     "application/x-www-form-urlencoded");
  REQUIRE(r);
  return r->body;
}

}  // namespace

TEST_CASE(
    "backup writes a 0600 copy and says what it holds, and replaces a file only with --force") {
  Cli cli;
  cli.add("alice");
  cli.add("bob");
  std::string copy = cli.dir.file("copy.db");
  CommandResult r = cli({"backup", copy});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == "backed up '" + cli.db + "' to '" + copy + "': 2 users, schema version " +
                     std::to_string(schema_version_of(cli.db)) + "\n");
  CHECK(mode_of(copy) == 0600);
  CHECK(open_store(copy, Actor{"cli", "test"})->list_users().size() == 2);

  std::string before = testing::database_contents(copy);
  cli.add("carol");
  r = cli({"backup", copy});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "authsvc: '" + copy + "' exists; give --force to replace it\n");
  CHECK(testing::database_contents(copy) == before);
  r = cli({"backup", copy, "--force"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(": 3 users,") != std::string::npos);
  CHECK(mode_of(copy) == 0600);

  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"backup", cli.db, "--force", "--db", cli.db}, "is a file of the database"},
           {{"backup", cli.dir.file("no/such/dir.db"), "--db", cli.db}, "cannot create a file in"},
           {{"backup", copy, "--force", "--db", cli.dir.file("missing.db")}, "does not exist"},
       }) {
    CAPTURE(c.message);
    r = testing::run_authsvc(c.args);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(is_one_line(r.err));
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  CHECK(cli({"backup"}).exit_code == 2);
  CHECK(cli({"restore"}).exit_code == 2);
  CHECK(cli({"user", "list"}).out.find("carol") != std::string::npos);
}

TEST_CASE("a backup that fails part way leaves nothing under FILE, and no part of a copy") {
  Cli cli;
  std::string list = cli.dir.file("users.txt");
  std::string lines;
  for (int i = 0; i < 1000; ++i) lines += "user" + std::to_string(i) + " o@example.org\n";
  testing::write_file(list, lines);
  REQUIRE(cli({"user", "import", "--file", list}).exit_code == 0);
  REQUIRE(std::filesystem::file_size(cli.db) > 256 * 1024);

  // A file-size limit far below the copy's size: its writes fail part way
  // (the CLI ignores SIGXFSZ, so a write fails with EFBIG). Only the backup
  // runs under it, started in the background: this process writes its own
  // files after the limit is lifted again.
  std::string copy = cli.dir.file("copy.db");
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  std::optional<testing::ChildProcess> backup;
  try {
    backup.emplace(std::vector<std::string>{AUTHSVC_BINARY, "backup", copy, "--db", cli.db},
                   cli.dir, "backup");
  } catch (...) {
    setrlimit(RLIMIT_FSIZE, &saved);
    throw;
  }
  REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);
  CHECK(backup->wait() == 1);
  std::string err = backup->stderr_text();
  CHECK(is_one_line(err));
  CHECK(err.rfind("authsvc: cannot back up to '" + copy + "': ", 0) == 0);
  for (const auto& entry : std::filesystem::directory_iterator(cli.dir.path())) {
    CHECK(entry.path().filename().string().find("copy.db") == std::string::npos);
  }
  // And without the limit, the same backup is taken.
  CHECK(cli({"backup", copy}).exit_code == 0);
}

TEST_CASE(
    "restore refuses what is not an authsvc database, even with --force, and changes nothing") {
  Cli cli;
  cli.add("alice");
  std::string good = cli.dir.file("good.db");
  REQUIRE(cli({"backup", good}).exit_code == 0);
  auto file = [&](const std::string& name, const std::string& bytes) {
    std::string path = cli.dir.file(name);
    testing::write_file(path, bytes);
    return path;
  };
  auto sqlite = [&](const std::string& name, const std::string& sql) {
    std::string path = cli.dir.file(name);
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(sql);
    return path;
  };
  auto edited = [&](const std::string& name, const std::string& sql) {
    std::string path = cli.dir.file(name);
    std::filesystem::copy_file(good, path);
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(sql);
    return path;
  };
  // The users table's first page overwritten: the file opens, its header is
  // sound, and SQLite's integrity check finds the damage.
  std::string corrupt = cli.dir.file("corrupt.db");
  std::filesystem::copy_file(good, corrupt);
  {
    SQLite::Database db(good, SQLite::OPEN_READONLY);
    std::int64_t page = db.execAndGet("PRAGMA page_size").getInt64();
    std::int64_t root =
        db.execAndGet("SELECT rootpage FROM sqlite_schema WHERE name = 'users'").getInt64();
    std::string junk(static_cast<std::size_t>(page), '\xa5');
    std::FILE* f = std::fopen(corrupt.c_str(), "r+b");
    REQUIRE(f);
    std::fseek(f, static_cast<long>((root - 1) * page), SEEK_SET);
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  const std::string not_ours = "is not an authsvc database: ";
  struct Case {
    std::string path;
    std::string message;
  };
  const Case cases[] = {
      {cli.dir.file("missing.db"), "cannot read '" + cli.dir.file("missing.db") + "'"},
      {file("text.db", "not a database, but text long enough to fill a header..........\n"),
       not_ours + "file is not a database"},
      {file("zeros.db", std::string(16384, '\0')), not_ours + "file is not a database"},
      {file("empty.db", ""), not_ours + "it has no schema version"},
      {sqlite("other.db", "CREATE TABLE notes (x)"), not_ours + "it has no schema version"},
      {sqlite("other-versioned.db", "CREATE TABLE notes (x); PRAGMA user_version = 2"),
       not_ours + "it cannot be migrated"},
      {edited("extra.db", "CREATE TABLE notes (x)"), not_ours + "it has a table 'notes'"},
      {corrupt, not_ours},
      {edited("newer.db", "PRAGMA user_version = 999"), "is from a newer authsvc"},
  };
  const std::string before = testing::database_contents(cli.db);
  for (const Case& c : cases) {
    for (bool force : {false, true}) {
      CAPTURE(c.path);
      CAPTURE(force);
      std::vector<std::string> args{"restore", c.path};
      if (force) args.push_back("--force");
      CommandResult r = cli(args);
      CHECK(r.exit_code == 1);
      CHECK(r.out.empty());
      CHECK(is_one_line(r.err));
      CHECK(r.err.rfind("authsvc: ", 0) == 0);
      CHECK(r.err.find(c.message) != std::string::npos);
      CHECK(testing::database_contents(cli.db) == before);
    }
  }
  // And the good one is taken.
  cli.add("bob");
  CommandResult r = cli({"restore", good});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == "restored '" + cli.db + "' from '" + good +
                     "': 1 users (the backup's schema version " +
                     std::to_string(schema_version_of(good)) + ")\n");
  CHECK(cli({"user", "show", "bob"}).exit_code == 1);
}

TEST_CASE(
    "restore refuses while serve runs, and with --force serve answers per the restored users" *
    doctest::test_suite("threaded")) {
  Cli cli;
  std::string alice = cli.add("alice");
  std::string bob = cli.add("bob");
  std::string backup = cli.dir.file("backup.db");
  REQUIRE(cli({"backup", backup}).exit_code == 0);
  REQUIRE(cli({"user", "delete", "bob"}).exit_code == 0);
  std::string carol = cli.add("carol");
  CommandResult rotate = cli({"user", "rotate", "alice"});
  REQUIRE(rotate.exit_code == 0);
  std::string alice_now = testing::lines_of(rotate.out).back();

  std::string audit_path = cli.dir.file("audit.log");
  // Polling until a change shows means many refused logins: no throttling.
  testing::ServeProcess serve({"--db", cli.db, "--audit-log", audit_path, "--login-failures", "0"},
                              cli.dir);
  // What the live database says, and what the backup says.
  auto as_now = [&] {
    return login(serve.port(), "alice", alice_now) == "allow" &&
           login(serve.port(), "alice", alice) == "deny" &&
           login(serve.port(), "bob", bob) == "deny" &&
           login(serve.port(), "carol", carol) == "allow";
  };
  auto as_backed_up = [&] {
    return login(serve.port(), "alice", alice) == "allow" &&
           login(serve.port(), "alice", alice_now) == "deny" &&
           login(serve.port(), "bob", bob) == "allow" &&
           login(serve.port(), "carol", carol) == "deny";
  };
  REQUIRE(as_now());

  std::string before = testing::database_contents(cli.db);
  CommandResult r = cli({"restore", backup});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "authsvc: a running `authsvc serve` uses '" + cli.db +
                     "' (or a restore is under way); stop it first, or restore with --force "
                     "(serve then reloads the restored users)\n");
  CHECK(testing::database_contents(cli.db) == before);
  CHECK(as_now());

  r = cli({"restore", backup, "--force"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  // Within a second of the restore's end, polled.
  CHECK(testing::eventually(as_backed_up, std::chrono::seconds(1)));
  // Changes after the restore reach it as before.
  REQUIRE(cli({"user", "disable", "bob"}).exit_code == 0);
  CHECK(testing::eventually([&] { return login(serve.port(), "bob", bob) == "deny"; },
                            std::chrono::seconds(1)));

  CHECK(serve.stop() == 0);
  std::string audit = testing::read_file(audit_path);
  CHECK(audit.find("\"action\":\"restore\"") != std::string::npos);
  CHECK(audit.find("\"action\":\"backup\"") != std::string::npos);
  for (const std::string& secret : {alice, alice_now, bob, carol}) {
    CHECK(audit.find(secret) == std::string::npos);
    CHECK(serve.stderr_text().find(secret) == std::string::npos);
  }
}

TEST_CASE("restore needs no --force once serve is gone, also when it was killed with SIGKILL") {
  Cli cli;
  cli.add("alice");
  std::string backup = cli.dir.file("backup.db");
  REQUIRE(cli({"backup", backup}).exit_code == 0);
  cli.add("bob");
  {
    testing::ServeProcess serve({"--db", cli.db}, cli.dir);
    REQUIRE(cli({"restore", backup}).exit_code == 1);
    kill(serve.pid(), SIGKILL);
    CHECK(serve.stop() == 128 + SIGKILL);
  }
  CommandResult r = cli({"restore", backup});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(cli({"user", "show", "bob"}).exit_code == 1);
  CHECK(cli({"user", "show", "alice"}).exit_code == 0);
}

TEST_CASE("backups taken while the CLI churns are whole: one commit's users, each complete" *
          doctest::test_suite("threaded")) {
  Cli cli;
  for (const char* name : {"seed0", "seed1", "seed2"}) cli.add(name);

  // The churn: users added three at a time, rotated with a grace (a second
  // credential row) and deleted, each change one transaction, and after
  // each, the users it left, by its last event. It is the only writer of
  // users, so what it reads after a commit is that commit's state.
  std::map<std::int64_t, CommittedUsers> committed;
  std::vector<std::string> tokens;
  std::atomic<bool> stop{false};
  std::atomic<int> changes{0};
  std::string churn_error;
  std::thread churn([&] {
    try {
      std::unique_ptr<Store> store = open_store(cli.db, Actor{"cli", "churn"});
      SQLite::Database reader(cli.db, SQLite::OPEN_READONLY);
      reader.setBusyTimeout(5000);
      auto record = [&] {
        CommittedUsers users = committed_users(reader);
        committed[users.last_event] = users;
        ++changes;
      };
      record();
      for (int i = 0; !stop; ++i) {
        std::string batch = "churn" + std::to_string(i);
        std::vector<std::string> added = store->add_users(
            {NewUser{batch + "a", {"a@example.org"}, {}, {"/", "v2"}, ""},
             NewUser{batch + "b", {"b@example.org", "c@example.org"}, {}, {"/"}, ""},
             NewUser{batch + "c", {"c@example.org"}, {"monitoring"}, {"/"}, ""}},
            "user add");
        tokens.insert(tokens.end(), added.begin(), added.end());
        record();
        tokens.push_back(store->rotate_token(batch + "a", std::chrono::hours(1)));
        record();
        store->delete_user(batch + "b");
        record();
        if (i > 0) {
          store->delete_user("churn" + std::to_string(i - 1) + "c");
          record();
        }
      }
    } catch (const std::exception& e) {
      churn_error = e.what();
    }
  });
  CHECK(testing::eventually([&] { return changes > 20; }));
  int changes_before = changes;

  std::vector<std::string> backups;
  for (int i = 0; i < 8; ++i) {
    std::string path = cli.dir.file("churn-" + std::to_string(i) + ".db");
    CommandResult r = cli({"backup", path});
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    backups.push_back(path);
  }
  int changes_during = changes;
  stop = true;
  churn.join();
  testing::record_issued_tokens(tokens);
  REQUIRE(churn_error.empty());
  CHECK(changes_during > changes_before);

  std::set<std::int64_t> seen;
  for (const std::string& path : backups) {
    CAPTURE(path);
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
    SQLite::Statement dangling(db, "PRAGMA foreign_key_check");
    CHECK_FALSE(dangling.executeStep());
    // Every user whole: its current credential, an owner, a vhost; and a
    // previous credential exactly where a rotation left one.
    CHECK(db.execAndGet("SELECT count(*) FROM users u WHERE "
                        "(SELECT count(*) FROM credentials c WHERE c.user_id = u.id AND "
                        "c.slot = 'current') <> 1 OR "
                        "NOT EXISTS (SELECT 1 FROM user_owners o WHERE o.user_id = u.id) OR "
                        "NOT EXISTS (SELECT 1 FROM user_vhosts v WHERE v.user_id = u.id)")
              .getInt() == 0);
    CHECK(db.execAndGet("SELECT count(*) FROM credentials WHERE slot = 'previous' AND "
                        "user_id NOT IN (SELECT id FROM users WHERE name LIKE 'churn%a')")
              .getInt() == 0);
    // The users of one commit: those the churn saw after the last change
    // the backup holds.
    CommittedUsers held = committed_users(db);
    auto it = committed.find(held.last_event);
    REQUIRE_MESSAGE(it != committed.end(), "no commit ended at event " << held.last_event);
    CHECK(held == it->second);
    seen.insert(held.last_event);
  }
  // The backups were taken at different moments of the churn.
  CHECK(seen.size() > 1);
}

}  // namespace authsvc
