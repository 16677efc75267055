// What only PostgreSQL's SqlDatabase has (pg_database.h): its placeholders,
// its connection strings and passwords, several hosts, lost connections,
// and its transactions as PostgreSQL runs them. The contract it shares with
// every backend is sql_database_test.cc.
#include "authsvc/store/pg_database.h"

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "authsvc/store/pg_test_database.h"
#include "authsvc/store/wake_signal.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::PgTestDatabase;

std::string sql_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const SqlError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("threw an exception that is not a SqlError: " << std::string(e.what()));
    return "";
  }
  FAIL_CHECK("threw nothing");
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("pg database: ? becomes $1, $2, ... except in literals, quoted names and comments") {
  struct Case {
    std::string in;
    std::string out;
    int count;
  };
  const std::vector<Case> cases = {
      {"SELECT 1", "SELECT 1", 0},
      {"SELECT ?, ?,?", "SELECT $1, $2,$3", 3},
      {"INSERT INTO t (a, b) VALUES (?, 'why?')", "INSERT INTO t (a, b) VALUES ($1, 'why?')", 1},
      {"SELECT 'it''s?', ?", "SELECT 'it''s?', $1", 1},
      {"SELECT '', ?, ''", "SELECT '', $1, ''", 1},
      {"SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1},
      {"SELECT e'a\\\\', ?", "SELECT e'a\\\\', $1", 1},
      // Not an E'' literal: standard strings take a backslash as it is.
      {"SELECT name'\\', ?", "SELECT name'\\', $1", 1},
      {"SELECT \"a?b\", ? FROM \"t\"\"?\"", "SELECT \"a?b\", $1 FROM \"t\"\"?\"", 1},
      {"SELECT ? -- is it?\n, ?", "SELECT $1 -- is it?\n, $2", 2},
      {"SELECT ? -- the end?", "SELECT $1 -- the end?", 1},
      {"SELECT /* a? /* nested? */ still? */ ?", "SELECT /* a? /* nested? */ still? */ $1", 1},
      {"SELECT $$what?$$, $tag$ $$ ? $tag$, ?", "SELECT $$what?$$, $tag$ $$ ? $tag$, $1", 1},
      {"SELECT a$b, ?", "SELECT a$b, $1", 1},
      {"SELECT 5 - ?", "SELECT 5 - $1", 1},
      {"SELECT '?", "SELECT '?", 0},  // unterminated: the server's error to give
      {"SELECT \"?", "SELECT \"?", 0},
      {"SELECT 'Grüße?', ?", "SELECT 'Grüße?', $1", 1},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    PgStatement s = pg_numbered_placeholders(c.in);
    CHECK(s.sql == c.out);
    CHECK(s.count == c.count);
  }
  CHECK(pg_numbered_placeholders(std::string(12, '?')).count == 12);
  CHECK(pg_numbered_placeholders(std::string(12, '?')).sql.substr(18) == "$10$11$12");
}

TEST_CASE(
    "pg database: a location becomes libpq options, quoted, with a timeout, a name, UTF-8 "
    "and keepalives") {
  std::string multi = pg_connection_string(
      "postgresql://svc@h1:5432,h2:5433/authsvc?target_session_attrs=read-write", std::nullopt);
  CHECK(contains(multi, "host='h1,h2'"));
  CHECK(contains(multi, "port='5432,5433'"));
  CHECK(contains(multi, "user='svc'"));
  CHECK(contains(multi, "dbname='authsvc'"));
  CHECK(contains(multi, "target_session_attrs='read-write'"));
  CHECK(contains(multi, "connect_timeout='5'"));
  CHECK(contains(multi, "fallback_application_name='authsvc'"));
  CHECK(contains(multi, "client_encoding='UTF8'"));
  CHECK(contains(multi, "keepalives='1'"));
  CHECK(contains(multi, "keepalives_idle='30'"));
  CHECK(contains(multi, "keepalives_interval='10'"));
  CHECK(contains(multi, "keepalives_count='3'"));
  CHECK_FALSE(contains(multi, "password"));

  std::string own = pg_connection_string(
      "host=/run/postgresql dbname='it\\'s a \\\\ db' connect_timeout=2 "
      "fallback_application_name=mine application_name=guardian keepalives_idle=5",
      "pass'word\\");
  CHECK(contains(own, "host='/run/postgresql'"));
  CHECK(contains(own, "dbname='it\\'s a \\\\ db'"));
  CHECK(contains(own, "connect_timeout='2'"));
  CHECK_FALSE(contains(own, "connect_timeout='5'"));
  CHECK(contains(own, "fallback_application_name='mine'"));
  CHECK(contains(own, "application_name='guardian'"));
  CHECK(contains(own, "keepalives_idle='5'"));
  CHECK_FALSE(contains(own, "keepalives_idle='30'"));
  CHECK(contains(own, "password='pass\\'word\\\\'"));
  // What comes out reads back the same (in libpq's order of options).
  std::string once = pg_connection_string("dbname='it\\'s a \\\\ db' port=5", std::nullopt);
  std::string twice = pg_connection_string(once, std::nullopt);
  CHECK(pg_connection_string(twice, std::nullopt) == twice);
  CHECK(contains(twice, "dbname='it\\'s a \\\\ db'"));

  // An empty location is libpq's defaults (PGHOST..., the socket).
  CHECK(pg_connection_string("", std::nullopt) ==
        "connect_timeout='5' fallback_application_name='authsvc' client_encoding='UTF8' "
        "keepalives='1' keepalives_idle='30' keepalives_interval='10' keepalives_count='3'");
}

TEST_CASE("pg database: a location that carries a password is refused, without the password") {
  testing::LoopbackSocket nobody(false);  // were it to connect, it would be refused
  std::string port = std::to_string(nobody.port());
  for (const std::string& location :
       {"postgresql://svc:hunter2-secret@127.0.0.1:" + port + "/authsvc",
        "postgresql://svc@127.0.0.1:" + port + "/authsvc?password=hunter2-secret",
        "host=127.0.0.1 port=" + port + " password=hunter2-secret",
        "host=127.0.0.1 port=" + port + " sslpassword=hunter2-secret"}) {
    INFO(location);
    std::string message = sql_error([&] { PgDatabase db(location, "from-the-file"); });
    CHECK(contains(message, "password file"));
    CHECK_FALSE(contains(message, "hunter2"));
    CHECK_FALSE(contains(message, "from-the-file"));
    CHECK_FALSE(contains(message, "refused"));
  }
  // A location libpq cannot read is refused without what libpq quotes of it.
  std::string unreadable =
      sql_error([&] { pg_connection_string("postgresql://svc:hunter2%zz@h/db", std::nullopt); });
  CHECK(contains(unreadable, "cannot read the database location"));
  CHECK_FALSE(contains(unreadable, "hunter2"));
  CHECK(contains(sql_error([&] { pg_connection_string("host", std::nullopt); }),
                 "cannot read the database location"));
}

TEST_CASE("pg database: a connection that fails says why, without the password") {
  PgTestDatabase database;
  std::string wrong =
      sql_error([&] { PgDatabase db(database.location(), "not-the-password-4f1a"); });
  CHECK(contains(wrong, "password authentication failed"));
  CHECK_FALSE(contains(wrong, "not-the-password-4f1a"));
  CHECK(wrong.find('\n') == std::string::npos);

  testing::LoopbackSocket nobody(false);
  std::string refused = sql_error(
      [&] { PgDatabase db("host=127.0.0.1 port=" + std::to_string(nobody.port()), "x"); });
  CHECK(contains(refused, "Connection refused"));
  CHECK(refused.find('\n') == std::string::npos);
}

TEST_CASE("pg database: with several hosts, the first that answers is used") {
  PgTestDatabase database;
  const testing::PgTestServer& server = testing::pg_test_server();
  testing::LoopbackSocket nobody(false);
  std::string location = "postgresql://" + server.user +
                         "@127.0.0.1:" + std::to_string(nobody.port()) + "," + server.host + ":" +
                         std::to_string(server.port) + "/" + database.name() +
                         "?target_session_attrs=read-write";
  PgDatabase db(location, database.password());
  std::string name;
  db.query("SELECT current_database()", {}, [&](const SqlRow& row) { name = row.text(0); });
  CHECK(name == database.name());
  db.query("SELECT current_setting('application_name')", {},
           [&](const SqlRow& row) { CHECK(row.text(0) == "authsvc"); });
}

TEST_CASE("pg database: a lost connection is an error, then and after, never reconnected") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  db->exec("CREATE TABLE t (n BIGINT)");
  std::int64_t pid = db->query_int64("SELECT pg_backend_pid()").value();
  std::unique_ptr<PgDatabase> admin = testing::connect_pg_maintenance();

  SqlTransaction txn(*db, SqlTransactionKind::write);
  db->exec("INSERT INTO t (n) VALUES (1)");
  CHECK(admin->query_int64("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid}) == 1);
  CHECK(admin->query_int64("SELECT CASE WHEN pg_terminate_backend(?) THEN 1 ELSE 0 END", {pid}) ==
        1);
  // Gone, so that the next call finds it gone (not racing the server).
  CHECK(testing::eventually([&] {
    return admin->query_int64("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid}) == 0;
  }));

  std::string lost = sql_error([&] { db->exec("INSERT INTO t (n) VALUES (2)"); });
  INFO(lost);
  // Idle when ended, it learns of it by its next statement's failure:
  // libpq's reason, as the server's own message is often lost with the
  // socket.
  CHECK(contains(lost, "the connection to the database was lost: "));
  CHECK_FALSE(contains(lost, "(no message)"));
  CHECK(lost.find('\n') == std::string::npos);
  // Every later call fails too: no new connection, no statement outside
  // the transaction it was meant for.
  for (int i = 0; i < 3; ++i) {
    CHECK(contains(sql_error([&] { db->exec("INSERT INTO t (n) VALUES (3)"); }),
                   "the connection to the database was lost"));
  }
  CHECK(contains(sql_error([&] { db->query_int64("SELECT 1"); }), "was lost"));
  CHECK(contains(sql_error([&] { db->begin(SqlTransactionKind::read); }), "was lost"));
  CHECK(contains(sql_error([&] { db->commit(); }), "was lost"));
  CHECK(contains(sql_error([&] { db->schema_version(); }), "was lost"));
  db->rollback();  // never throws
  CHECK(admin->query_int64("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = ?",
                           {database.name()}) == 0);
  CHECK(database.connect()->query_int64("SELECT COUNT(*) FROM t") == 0);
}

TEST_CASE("pg database: a connection lost in the middle of a statement says why") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  std::int64_t pid = db->query_int64("SELECT pg_backend_pid()").value();
  std::unique_ptr<PgDatabase> admin = testing::connect_pg_maintenance();
  std::string lost;
  std::thread waiting([&] { lost = sql_error([&] { db->exec("SELECT pg_sleep(60)"); }); });
  bool sleeping = testing::eventually([&] {
    return admin->query_int64(
               "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ? AND "
               "state = 'active' AND query LIKE 'SELECT pg_sleep%'",
               {pid}) == 1;
  });
  CHECK(sleeping);
  admin->query_int64("SELECT CASE WHEN pg_terminate_backend(?) THEN 1 ELSE 0 END", {pid});
  waiting.join();
  INFO(lost);
  CHECK(contains(lost,
                 "the connection to the database was lost: "
                 "terminating connection due to administrator command"));
  CHECK(lost.find('\n') == std::string::npos);
  CHECK(contains(sql_error([&] { db->query_int64("SELECT 1"); }), "was lost"));
}

TEST_CASE("pg database: a transaction in which a statement failed cannot be committed") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  db->exec("CREATE TABLE t (n BIGINT PRIMARY KEY)");
  {
    SqlTransaction txn(*db, SqlTransactionKind::write);
    db->exec("INSERT INTO t (n) VALUES (1)");
    sql_error([&] { db->exec("INSERT INTO t (n) VALUES (1)"); });
    // PostgreSQL refuses everything after it, and would answer COMMIT with
    // a silent ROLLBACK.
    CHECK(contains(sql_error([&] { db->exec("INSERT INTO t (n) VALUES (2)"); }), "aborted"));
    CHECK(contains(sql_error([&] { txn.commit(); }), "rolled back"));
  }
  CHECK(db->query_int64("SELECT COUNT(*) FROM t") == 0);
  // The connection goes on.
  SqlTransaction txn(*db, SqlTransactionKind::write);
  db->exec("INSERT INTO t (n) VALUES (3)");
  txn.commit();
  CHECK(database.connect()->query_int64("SELECT COUNT(*) FROM t") == 1);
}

TEST_CASE("pg database: writers hold the advisory lock, readers a read-only snapshot") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  std::unique_ptr<PgDatabase> other = database.connect();
  std::int64_t pid = db->query_int64("SELECT pg_backend_pid()").value();
  auto setting = [&](const char* name) {
    std::string value;
    db->query("SELECT current_setting(?)", {name}, [&](const SqlRow& row) { value = row.text(0); });
    return value;
  };
  auto write_locks = [&] {
    // A bigint key is classid (high 32 bits) and objid (low), objsubid 1.
    return other
        ->query_int64(
            "SELECT COUNT(*) FROM pg_locks WHERE pid = ? AND locktype = 'advisory' "
            "AND granted AND objsubid = 1 AND (classid::bigint << 32) + objid::bigint = ?",
            {pid, PgDatabase::kWriteLockKey})
        .value();
  };
  {
    SqlTransaction txn(*db, SqlTransactionKind::write);
    CHECK(write_locks() == 1);
    CHECK(setting("transaction_isolation") == "read committed");
    CHECK(setting("transaction_read_only") == "off");
    txn.commit();
  }
  CHECK(write_locks() == 0);
  {
    SqlTransaction txn(*db, SqlTransactionKind::read);
    CHECK(setting("transaction_isolation") == "repeatable read");
    CHECK(setting("transaction_read_only") == "on");
    CHECK(write_locks() == 0);
    CHECK(contains(sql_error([&] { db->exec("CREATE TABLE t (n BIGINT)"); }), "read-only"));
  }
  CHECK(write_locks() == 0);
}

TEST_CASE("pg database: what a row holds is read as its type alone") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  db->query(
      "SELECT 1 = 1, 1 = 2, CAST(7 AS SMALLINT), 7, CAST(7 AS BIGINT), CAST(42 AS NUMERIC), "
      "CAST(1.5 AS NUMERIC), 'x', CAST('x' AS VARCHAR), CAST('\\x00ff' AS BYTEA), "
      "CAST(99999999999999999999 AS NUMERIC)",
      {}, [&](const SqlRow& row) {
        CHECK(row.int64(0) == 1);
        CHECK(row.int64(1) == 0);
        CHECK(row.int64(2) == 7);
        CHECK(row.int64(3) == 7);
        CHECK(row.int64(4) == 7);
        CHECK(row.int64(5) == 42);
        CHECK(contains(sql_error([&] { row.int64(6); }), "holds a numeric, not an integer"));
        CHECK(row.text(7) == "x");
        CHECK(row.text(8) == "x");
        CHECK(row.bytes(9) == std::vector<std::uint8_t>{0x00, 0xff});
        CHECK(contains(sql_error([&] { row.int64(10); }), "not an integer"));
        CHECK(contains(sql_error([&] { row.int64(7); }), "holds text, not an integer"));
        CHECK(contains(sql_error([&] { row.text(3); }), "holds an integer, not text"));
        CHECK(contains(sql_error([&] { row.text(9); }), "holds bytes, not text"));
        CHECK(contains(sql_error([&] { row.bytes(7); }), "holds text, not bytes"));
        CHECK(contains(sql_error([&] { row.text(11); }), "no column 11"));
        CHECK(contains(sql_error([&] { row.int64(-1); }), "no column -1"));
      });
}

TEST_CASE("pg database: parameters PostgreSQL cannot take are refused before they are sent") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  db->exec("CREATE TABLE t (s TEXT)");
  std::string nul =
      sql_error([&] { db->exec("INSERT INTO t (s) VALUES (?)", {std::string("a\0secret", 8)}); });
  CHECK(contains(nul, "NUL"));
  CHECK_FALSE(contains(nul, "secret"));
  CHECK(contains(sql_error([&] {
                   db->exec("INSERT INTO t (s) VALUES (?)", {"a", "b"});
                 }),
                 "1 placeholders, and 2 parameters"));
  CHECK(contains(sql_error([&] { db->exec("INSERT INTO t (s) VALUES (?)"); }),
                 "1 placeholders, and 0 parameters"));
  CHECK(db->query_int64("SELECT COUNT(*) FROM t") == 0);
}

TEST_CASE(
    "pg database: scan outside a transaction runs in one of its own, and a scan that throws "
    "leaves the transaction usable") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  db->exec("CREATE TABLE t (n BIGINT)");
  db->exec("INSERT INTO t (n) SELECT generate_series(1, ?)", {PgDatabase::kScanBatch * 2});
  std::int64_t rows = 0;
  db->scan("SELECT n FROM t", [&](const SqlRow&) { ++rows; });
  CHECK(rows == PgDatabase::kScanBatch * 2);
  // No transaction left open: a write transaction can begin.
  SqlTransaction txn(*db, SqlTransactionKind::write);
  CHECK_THROWS_AS(db->scan("SELECT n FROM t ORDER BY n",
                           [&](const SqlRow& row) {
                             if (row.int64(0) == 3) throw std::runtime_error("on_row failed");
                           }),
                  std::runtime_error);
  db->exec("INSERT INTO t (n) VALUES (0)");
  rows = 0;
  db->scan("SELECT n FROM t", [&](const SqlRow&) { ++rows; });
  CHECK(rows == PgDatabase::kScanBatch * 2 + 1);
  txn.commit();
}

TEST_CASE("pg database: more distinct statements than are kept prepared all run") {
  PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      CHECK(db->query_int64("SELECT CAST(? AS BIGINT) + " + std::to_string(i), {round}) ==
            round + i);
    }
  }
}

}  // namespace
}  // namespace authsvc

namespace authsvc {

// The wait the watcher sleeps in (wait_for_change): a timeout of a minute,
// so that these pass only if the notice, or the wake signal, ended it.
TEST_CASE("pg database: a NOTIFY from another connection wakes a waiter before its timeout") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> waiter = database.connect();
  std::unique_ptr<PgDatabase> writer = database.connect();
  std::int64_t before = waiter->data_version();  // listens from now on
  WakeSignal wake;
  std::optional<bool> woken;
  std::thread waiting(
      [&] { woken = waiter->wait_for_change(std::chrono::seconds(60), wake.fd()); });
  writer->begin(SqlTransactionKind::write);
  writer->announce_change("user alice");
  writer->commit();
  waiting.join();
  REQUIRE(woken.has_value());
  CHECK(*woken);  // a timeout or the wake signal would have said false
  CHECK(waiter->data_version() != before);
}

TEST_CASE("pg database: a notice that came before the wait ends it at once, and is counted once") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> waiter = database.connect();
  std::unique_ptr<PgDatabase> writer = database.connect();
  std::int64_t before = waiter->data_version();
  writer->begin(SqlTransactionKind::write);
  writer->announce_change("user alice");
  writer->commit();
  WakeSignal wake;
  CHECK(waiter->wait_for_change(std::chrono::seconds(60), wake.fd()));
  std::int64_t after = waiter->data_version();
  CHECK(after == before + 1);
  // Seen by data_version(): no longer news. The wake signal ends this one.
  wake.raise();
  CHECK_FALSE(waiter->wait_for_change(std::chrono::seconds(60), wake.fd()));
  CHECK(waiter->data_version() == after);
}

TEST_CASE("pg database: raising the wake signal from another thread ends a wait, with no change") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> waiter = database.connect();
  std::int64_t before = waiter->data_version();
  WakeSignal wake;
  std::optional<bool> woken;
  std::thread waiting(
      [&] { woken = waiter->wait_for_change(std::chrono::seconds(60), wake.fd()); });
  wake.raise();
  waiting.join();
  REQUIRE(woken.has_value());
  CHECK_FALSE(*woken);
  CHECK(waiter->data_version() == before);
  // Its own changes wake no one: the connection's own notices are not news.
  waiter->begin(SqlTransactionKind::write);
  waiter->announce_change("user bob");
  waiter->commit();
  CHECK(waiter->data_version() == before);
}

TEST_CASE("pg database: a connection ended by the server ends a wait with an error") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> waiter = database.connect();
  waiter->data_version();
  std::int64_t pid = waiter->query_int64("SELECT pg_backend_pid()").value();
  WakeSignal wake;
  std::string error;
  std::thread waiting([&] {
    error = sql_error([&] { waiter->wait_for_change(std::chrono::seconds(60), wake.fd()); });
  });
  testing::connect_pg_maintenance()->query_int64("SELECT pg_terminate_backend(?)::int", {pid});
  waiting.join();
  CHECK(contains(error, "the connection to the database was lost while listening for changes"));
}

}  // namespace authsvc
