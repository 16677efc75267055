// SqlDatabase's contract (sql_database.h), written once and run against
// every backend: each test case here is one test per backend,
// "sql database: ...<postgresql>". A backend takes part with a tag type
// whose make() gives a fresh, empty database for one test (below, beside
// Postgres), added to AUTHSVC_SQL_BACKENDS with a short name for the test
// names. What only one backend has (PostgreSQL's connection strings and
// lost connections) is tested beside it (pg_database_test.cc).
#include "authsvc/store/sql_database.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/pg_test_database.h"
#include "authsvc/store/sqlite_database.h"
#include "tests/test_support.h"

namespace authsvc::sql_contract {

// One test's database: fresh and empty when made, gone when destroyed.
class DatabaseUnderTest {
 public:
  virtual ~DatabaseUnderTest() = default;
  // A new connection to it.
  virtual std::unique_ptr<SqlDatabase> connect() = 0;
  // The backend's schema migrations (embedded_migrations...).
  virtual std::span<const EmbeddedFile> migrations() = 0;
  // Whether `db`, busy in another thread, is waiting for the write lock in
  // begin(write), as a third party sees it. Made while `db` is idle, before
  // that thread starts.
  virtual std::function<bool()> waits_for_write_lock(SqlDatabase& db) = 0;
};

struct Postgres {
  static std::unique_ptr<DatabaseUnderTest> make();
};
struct Sqlite {
  static std::unique_ptr<DatabaseUnderTest> make();
};

#define AUTHSVC_SQL_BACKENDS ::authsvc::sql_contract::Postgres, ::authsvc::sql_contract::Sqlite

namespace {

class PostgresUnderTest : public DatabaseUnderTest {
 public:
  std::unique_ptr<SqlDatabase> connect() override { return database_.connect(); }

  std::span<const EmbeddedFile> migrations() override {
    return {embedded_pg_migrations, embedded_pg_migrations_count};
  }

  // pg_locks, from a connection of its own: the server process of `db`
  // waits for an advisory lock not granted yet.
  std::function<bool()> waits_for_write_lock(SqlDatabase& db) override {
    std::int64_t pid = db.query_int64("SELECT pg_backend_pid()").value();
    std::shared_ptr<SqlDatabase> observer = database_.connect();
    return [observer, pid] {
      return observer->query_int64(
                 "SELECT COUNT(*) FROM pg_locks WHERE pid = ? AND "
                 "locktype = 'advisory' AND NOT granted",
                 {pid}) == 1;
    };
  }

 private:
  testing::PgTestDatabase database_;
};

class SqliteUnderTest : public DatabaseUnderTest {
 public:
  SqliteUnderTest() {
    SqliteDatabase(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000)
        .exec_script("PRAGMA journal_mode = WAL");
  }
  std::unique_ptr<SqlDatabase> connect() override {
    return std::make_unique<SqliteDatabase>(path_, SQLite::OPEN_READWRITE, 5000);
  }
  std::span<const EmbeddedFile> migrations() override {
    return {embedded_migrations, embedded_migrations_count};
  }
  // SQLite's busy handler sleeps between tries: a thread of this process in nanosleep.
  std::function<bool()> waits_for_write_lock(SqlDatabase&) override {
    return [] {
      for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::string wchan = testing::read_file(task.path().string() + "/wchan");
        if (wchan.find("nanosleep") != std::string::npos) return true;
      }
      return false;
    };
  }

 private:
  testing::TempDir dir_;
  std::string path_ = dir_.file("db.sqlite");
};

}  // namespace

std::unique_ptr<DatabaseUnderTest> Sqlite::make() { return std::make_unique<SqliteUnderTest>(); }

std::unique_ptr<DatabaseUnderTest> Postgres::make() {
  return std::make_unique<PostgresUnderTest>();
}

}  // namespace authsvc::sql_contract

TYPE_TO_STRING_AS("postgresql", authsvc::sql_contract::Postgres);
TYPE_TO_STRING_AS("sqlite", authsvc::sql_contract::Sqlite);

namespace authsvc::sql_contract {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh database of the backend, and a first connection to it.
template <typename Backend>
struct Fresh {
  std::unique_ptr<DatabaseUnderTest> under_test = Backend::make();
  std::unique_ptr<SqlDatabase> connection = under_test->connect();
  SqlDatabase& db = *connection;
};

const char* bytes_type(SqlDatabase& db) {
  return db.dialect() == SqlDialect::postgresql ? "BYTEA" : "BLOB";
}

// The message of the SqlError that `call` throws; a failed check if it
// throws anything else, or nothing.
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

bool is_one_line(const std::string& text) {
  return !text.empty() && text.find('\n') == std::string::npos;
}

std::int64_t count(SqlDatabase& db, const std::string& table) {
  return db.query_int64("SELECT COUNT(*) FROM " + table).value();
}

void make_numbers(SqlDatabase& db) {
  db.exec("CREATE TABLE numbers (n BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
}

void migrate(SqlDatabase& db, std::span<const EmbeddedFile> migrations) {
  SqlTransaction txn(db, SqlTransactionKind::write);
  int number = 0;
  for (const EmbeddedFile& migration : migrations) {
    db.exec_script(migration.content);
    db.set_schema_version(++number);
  }
  txn.commit();
}

TEST_CASE_TEMPLATE("sql database: every kind of parameter round-trips", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  db.exec(std::string("CREATE TABLE kinds (id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b ") +
          bytes_type(db) + ")");

  Bytes every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<std::uint8_t>(b));
  struct Row {
    std::int64_t id;
    std::optional<std::int64_t> i;
    std::optional<std::string> s;
    std::optional<Bytes> b;
  };
  const std::vector<Row> rows = {
      {1, std::nullopt, std::nullopt, std::nullopt},
      {2, std::numeric_limits<std::int64_t>::min(), "", Bytes{}},
      {3, std::numeric_limits<std::int64_t>::max(), "it's \"quoted\", a \\ and a ?",
       Bytes{0x00, 0xff, 0x27, 0x5c, 0x3f, 0x00}},
      {4, 0, "Grüße, 世界 🙂", every_byte},
      {5, -1, "-- not a comment /* nor this */ $1 $$ E'\\''", Bytes{0x5c, 0x78}},
  };
  for (const Row& r : rows) {
    SqlParams params{r.id, SqlParam::optional(r.i), SqlParam::optional(r.s)};
    params.push_back(r.b ? SqlParam(SqlBytes{*r.b}) : SqlParam());
    CHECK(db.exec("INSERT INTO kinds (id, i, s, b) VALUES (?, ?, ?, ?)", params) == 1);
  }

  std::size_t seen = 0;
  db.query("SELECT id, i, s, b FROM kinds ORDER BY id", {}, [&](const SqlRow& row) {
    REQUIRE(seen < rows.size());
    const Row& r = rows[seen++];
    INFO("row " << r.id);
    CHECK(row.int64(0) == r.id);
    CHECK(row.optional_int64(1) == r.i);
    CHECK(row.is_null(2) == !r.s);
    if (r.s) CHECK(row.text(2) == *r.s);
    CHECK(row.is_null(3) == !r.b);
    if (r.b) CHECK(row.bytes(3) == *r.b);
  });
  CHECK(seen == rows.size());

  // A parameter found by each kind of value.
  CHECK(db.query_int64("SELECT id FROM kinds WHERE i = ?",
                       {std::numeric_limits<std::int64_t>::min()}) == 2);
  CHECK(db.query_int64("SELECT id FROM kinds WHERE s = ?", {"Grüße, 世界 🙂"}) == 4);
  CHECK(db.query_int64("SELECT id FROM kinds WHERE b = ?",
                       {SqlParam::bytes(Bytes{0x00, 0xff, 0x27, 0x5c, 0x3f, 0x00})}) == 3);
  CHECK(db.query_int64("SELECT COUNT(*) FROM kinds WHERE i IS NULL AND s IS NULL") == 1);

  // A `?` in a string literal, a quoted name or a comment is not a parameter.
  db.exec("CREATE TABLE \"odd?\" (\"what?\" TEXT, n BIGINT)");
  CHECK(db.exec("INSERT INTO \"odd?\" (\"what?\", n) -- which? \n VALUES ('why? ' || ?, ?)",
                {"because", 7}) == 1);
  db.query("SELECT \"what?\", n /* is it? */ FROM \"odd?\" WHERE n = ? AND 'a?' <> ''", {7},
           [&](const SqlRow& row) {
             CHECK(row.text(0) == "why? because");
             CHECK(row.int64(1) == 7);
           });

  // A column read as what it does not hold.
  db.query("SELECT id, i, s, b FROM kinds WHERE id = 1 OR id = 4 ORDER BY id", {},
           [&](const SqlRow& row) {
             if (row.int64(0) == 1) {
               CHECK(row.text_or_empty(2).empty());
               CHECK_FALSE(row.optional_int64(1).has_value());
               CHECK(is_one_line(sql_error([&] { row.int64(1); })));
               CHECK(is_one_line(sql_error([&] { row.text(2); })));
               CHECK(is_one_line(sql_error([&] { row.bytes(3); })));
             } else {
               CHECK(is_one_line(sql_error([&] { row.int64(2); })));
               CHECK(is_one_line(sql_error([&] { row.text(1); })));
               CHECK(is_one_line(sql_error([&] { row.bytes(2); })));
               CHECK(is_one_line(sql_error([&] { row.text(3); })));
             }
           });
}

TEST_CASE_TEMPLATE("sql database: exec says how many rows it changed", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  make_numbers(db);
  CHECK(db.exec("INSERT INTO numbers (n, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')") == 3);
  CHECK(db.exec("UPDATE numbers SET name = name || '!' WHERE n >= ?", {2}) == 2);
  CHECK(db.exec("UPDATE numbers SET name = 'none' WHERE n > ?", {100}) == 0);
  CHECK(db.exec("DELETE FROM numbers WHERE name = ?", {"one"}) == 1);
  CHECK(db.exec("DELETE FROM numbers") == 2);
}

TEST_CASE_TEMPLATE(
    "sql database: query gives the rows in order, query_first and query_int64 "
    "the first",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  make_numbers(db);
  db.exec("INSERT INTO numbers (n, name) VALUES (3, 'three'), (1, 'one'), (2, 'two')");

  std::vector<std::string> names;
  db.query("SELECT name FROM numbers ORDER BY n DESC", {},
           [&](const SqlRow& row) { names.push_back(row.text(0)); });
  CHECK(names == std::vector<std::string>{"three", "two", "one"});

  int calls = 0;
  db.query("SELECT name FROM numbers WHERE n > ?", {5}, [&](const SqlRow&) { ++calls; });
  CHECK(calls == 0);

  std::string first;
  CHECK(db.query_first("SELECT name FROM numbers ORDER BY n", {}, [&](const SqlRow& row) {
    ++calls;
    first = row.text(0);
  }));
  CHECK(calls == 1);
  CHECK(first == "one");
  CHECK_FALSE(
      db.query_first("SELECT name FROM numbers WHERE n = ?", {9}, [&](const SqlRow&) { ++calls; }));
  CHECK(calls == 1);

  CHECK(db.query_int64("SELECT n FROM numbers ORDER BY n DESC") == 3);
  CHECK(db.query_int64("SELECT n FROM numbers WHERE name = ?", {"nine"}) == std::nullopt);
  CHECK(db.query_int64("SELECT NULL FROM numbers") == std::nullopt);
  CHECK(db.query_int64("SELECT COUNT(*) FROM numbers") == 3);
  CHECK(db.query_int64("SELECT MAX(n) FROM numbers WHERE n < ?", {0}) == std::nullopt);
}

TEST_CASE_TEMPLATE("sql database: a transaction not committed leaves nothing", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  make_numbers(db);
  {
    SqlTransaction txn(db, SqlTransactionKind::write);
    db.exec("INSERT INTO numbers (n, name) VALUES (1, 'one')");
    CHECK(count(db, "numbers") == 1);
  }  // out of scope uncommitted: rolled back
  CHECK(count(db, "numbers") == 0);
  // Unwound by an exception.
  try {
    SqlTransaction txn(db, SqlTransactionKind::write);
    db.exec("INSERT INTO numbers (n, name) VALUES (?, ?)", {2, "two"});
    throw std::runtime_error("something else failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(count(db, "numbers") == 0);
  // And the connection goes on as before.
  SqlTransaction txn(db, SqlTransactionKind::write);
  db.exec("INSERT INTO numbers (n, name) VALUES (?, ?)", {3, "three"});
  txn.commit();
  CHECK(count(db, "numbers") == 1);
  CHECK(count(*f.under_test->connect(), "numbers") == 1);
}

TEST_CASE_TEMPLATE(
    "sql database: a committed transaction is seen by another connection, and "
    "not before",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  make_numbers(f.db);
  std::unique_ptr<SqlDatabase> other = f.under_test->connect();
  SqlTransaction txn(f.db, SqlTransactionKind::write);
  f.db.exec("INSERT INTO numbers (n, name) VALUES (?, ?)", {1, "one"});
  f.db.exec("INSERT INTO numbers (n, name) VALUES (?, ?)", {2, "two"});
  CHECK(count(*other, "numbers") == 0);
  txn.commit();
  CHECK(count(*other, "numbers") == 2);
}

TEST_CASE_TEMPLATE(
    "sql database: a read transaction keeps one view while another connection "
    "commits",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  make_numbers(f.db);
  f.db.exec("INSERT INTO numbers (n, name) VALUES (1, 'one')");
  std::unique_ptr<SqlDatabase> writer = f.under_test->connect();
  {
    SqlTransaction read(f.db, SqlTransactionKind::read);
    CHECK(count(f.db, "numbers") == 1);
    {
      SqlTransaction write(*writer, SqlTransactionKind::write);
      writer->exec("INSERT INTO numbers (n, name) VALUES (2, 'two')");
      writer->exec("DELETE FROM numbers WHERE n = 1");
      write.commit();
    }
    CHECK(count(*writer, "numbers") == 1);
    CHECK(count(f.db, "numbers") == 1);
    CHECK(f.db.query_int64("SELECT n FROM numbers") == 1);
    read.commit();
  }
  CHECK(f.db.query_int64("SELECT n FROM numbers") == 2);
}

TEST_CASE_TEMPLATE("sql database: write transactions on two connections go one at a time", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  make_numbers(f.db);
  std::unique_ptr<SqlDatabase> second = f.under_test->connect();
  std::function<bool()> second_waits = f.under_test->waits_for_write_lock(*second);

  SqlTransaction first(f.db, SqlTransactionKind::write);
  f.db.exec("INSERT INTO numbers (n, name) VALUES (1, 'first')");

  std::atomic<bool> began{false};
  std::optional<std::int64_t> seen_by_second;
  std::string second_failed;
  std::thread thread([&] {
    try {
      SqlTransaction txn(*second, SqlTransactionKind::write);
      began = true;
      // What the first committed before this one could begin.
      seen_by_second = second->query_int64("SELECT COUNT(*) FROM numbers");
      second->exec("INSERT INTO numbers (n, name) VALUES (2, 'second')");
      txn.commit();
    } catch (const std::exception& e) {
      second_failed = e.what();
    }
  });
  // The second waits in begin() while the first is open...
  bool waited = testing::eventually(second_waits);
  CHECK(waited);
  CHECK_FALSE(began.load());
  f.db.exec("INSERT INTO numbers (n, name) VALUES (3, 'first again')");
  first.commit();
  // ...and goes on once the first committed, seeing all of it.
  thread.join();
  CHECK(second_failed == "");
  CHECK(began.load());
  CHECK(seen_by_second == 2);
  CHECK(count(f.db, "numbers") == 3);
}

TEST_CASE_TEMPLATE("sql database: scan gives every row in order, a batch at a time", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  db.exec("CREATE TABLE many (n BIGINT PRIMARY KEY, label TEXT NOT NULL)");
  const std::int64_t rows = 25000;
  db.exec(
      "INSERT INTO many (n, label) WITH RECURSIVE seq(k) AS (SELECT 1 UNION ALL SELECT k + 1 "
      "FROM seq WHERE k < ?) SELECT k, 'row ' || k FROM seq",
      {rows});
  REQUIRE(count(db, "many") == rows);

  SqlTransaction txn(db, SqlTransactionKind::read);
  std::int64_t expected = rows;
  std::int64_t lookups = 0;
  db.scan("SELECT n, label FROM many ORDER BY n DESC", [&](const SqlRow& row) {
    REQUIRE(row.int64(0) == expected);
    REQUIRE(row.text(1) == "row " + std::to_string(expected));
    // The connection answers other calls while it scans.
    if (expected % 5000 == 0) {
      CHECK(db.query_int64("SELECT n FROM many WHERE label = ?", {row.text(1)}) == expected);
      ++lookups;
    }
    --expected;
  });
  CHECK(expected == 0);
  CHECK(lookups == 5);
  // Nothing at all.
  db.scan("SELECT n FROM many WHERE n < 0", [&](const SqlRow&) { FAIL_CHECK("a row"); });
  txn.commit();
}

TEST_CASE_TEMPLATE("sql database: stream gives every row in order, each column as its type",
                   Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  db.exec(std::string("CREATE TABLE kinds (id BIGINT PRIMARY KEY, small INTEGER, s TEXT, b ") +
          bytes_type(db) + ")");
  Bytes every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<std::uint8_t>(b));
  // Enough rows that PostgreSQL sends them in many messages.
  const std::int64_t rows = 20000;
  {
    SqlTransaction txn(db, SqlTransactionKind::write);
    for (std::int64_t id = 1; id <= rows; ++id) {
      SqlParams params{id, id % 7 == 0 ? SqlParam() : SqlParam(-id)};
      params.push_back(id % 5 == 0 ? SqlParam(std::string())
                                   : SqlParam("row " + std::to_string(id)));
      params.push_back(id == 1       ? SqlParam::bytes(every_byte)
                       : id % 3 == 0 ? SqlParam()
                                     : SqlParam::bytes(Bytes{}));
      db.exec("INSERT INTO kinds (id, small, s, b) VALUES (?, ?, ?, ?)", params);
    }
    db.exec("INSERT INTO kinds (id, small, s, b) VALUES (?, ?, ?, ?)",
            {std::numeric_limits<std::int64_t>::min(), std::int64_t{-2147483648},
             "Grüße, 世界 🙂", SqlParam()});
    txn.commit();
  }

  std::optional<SqlTransaction> txn;
  txn.emplace(db, SqlTransactionKind::read);
  std::int64_t expected = rows;
  Bytes bytes;
  db.stream("SELECT id, small, s, b FROM kinds ORDER BY id DESC", [&](const SqlRow& row) {
    if (expected == 0) {
      CHECK(row.int64(0) == std::numeric_limits<std::int64_t>::min());
      CHECK(row.int64(1) == -2147483648);
      CHECK(row.text_view(2) == "Grüße, 世界 🙂");
      CHECK(row.is_null(3));
      --expected;
      return;
    }
    REQUIRE(row.int64(0) == expected);
    REQUIRE(row.is_null(1) == (expected % 7 == 0));
    if (expected % 7 != 0) REQUIRE(row.int64(1) == -expected);
    // An empty text is not NULL.
    REQUIRE_FALSE(row.is_null(2));
    REQUIRE(row.text(2) == (expected % 5 == 0 ? "" : "row " + std::to_string(expected)));
    REQUIRE(row.is_null(3) == (expected != 1 && expected % 3 == 0));
    if (!row.is_null(3)) {
      row.bytes_into(3, bytes);
      REQUIRE(bytes == (expected == 1 ? every_byte : Bytes{}));
    }
    --expected;
  });
  CHECK(expected == -1);
  // Nothing at all.
  db.stream("SELECT id FROM kinds WHERE id = 0", [&](const SqlRow&) { FAIL_CHECK("a row"); });

  // A row the caller refuses ends the stream with the caller's exception,
  // and the connection answers the next statement of the transaction.
  struct Refused {};
  std::int64_t seen = 0;
  CHECK_THROWS_AS(db.stream("SELECT id FROM kinds ORDER BY id",
                            [&](const SqlRow&) {
                              if (++seen == 100) throw Refused{};
                            }),
                  Refused);
  CHECK(seen == 100);
  CHECK(count(db, "kinds") == rows + 1);
  // A statement the database refuses is an SqlError; with it the
  // transaction failed (PostgreSQL), and is rolled back.
  CHECK(is_one_line(
      sql_error([&] { db.stream("SELECT nothing FROM nowhere", [](const SqlRow&) {}); })));
  txn.reset();  // rolled back
  CHECK(count(db, "kinds") == rows + 1);
}

TEST_CASE_TEMPLATE(
    "sql database: a failed statement throws SqlError, one line without the "
    "values",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  db.exec(
      "CREATE TABLE secrets (id BIGINT PRIMARY KEY, value TEXT NOT NULL UNIQUE "
      "CHECK (length(value) <= 20))");
  const std::string secret = "secret-value-8d0c1f";
  // PostgreSQL's DETAIL would quote the failing row, this among it.
  const std::string too_long = "too-long-secret-value-5e2a9b";
  db.exec("INSERT INTO secrets (id, value) VALUES (?, ?)", {1, secret});

  std::vector<std::string> messages = {
      sql_error([&] { db.exec("SELEKT 1"); }),
      sql_error([&] { db.query("SELECT nothing FROM nowhere", {}, [](const SqlRow&) {}); }),
      sql_error([&] {
        db.exec("INSERT INTO secrets (id, value) VALUES (?, ?)", {2, secret});
      }),
      sql_error([&] {
        db.exec("INSERT INTO secrets (id, value) VALUES (?, ?)", {1, "x"});
      }),
      sql_error([&] {
        db.exec("INSERT INTO secrets (id, value) VALUES (?, ?)", {3, SqlParam()});
      }),
      sql_error([&] {
        db.exec("INSERT INTO secrets (id, value) VALUES (?, ?)", {4, too_long});
      }),
      sql_error([&] { db.exec_script("CREATE TABLE a (x TEXT); CREATE TABLE a (x TEXT)"); }),
  };
  for (const std::string& message : messages) {
    INFO(message);
    CHECK(is_one_line(message));
    CHECK(message.find(secret) == std::string::npos);
    CHECK(message.find(too_long) == std::string::npos);
  }
  // The connection works on.
  CHECK(count(db, "secrets") == 1);
}

TEST_CASE_TEMPLATE("sql database: exec_script runs several statements", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  f.db.exec_script(
      "-- a migration\n"
      "CREATE TABLE a (x BIGINT);\n"
      "CREATE TABLE b (y TEXT NOT NULL DEFAULT 'none; really');\n"
      "INSERT INTO a (x) VALUES (1), (2);\n"
      "INSERT INTO b DEFAULT VALUES;\n");
  CHECK(count(f.db, "a") == 2);
  CHECK(f.db.query_int64("SELECT COUNT(*) FROM b WHERE y = 'none; really'") == 1);
}

TEST_CASE_TEMPLATE("sql database: transactions do not nest, and commit needs one", Backend,
                   AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  make_numbers(f.db);
  CHECK(is_one_line(sql_error([&] { f.db.commit(); })));
  SqlTransaction txn(f.db, SqlTransactionKind::write);
  f.db.exec("INSERT INTO numbers (n, name) VALUES (1, 'one')");
  CHECK(is_one_line(sql_error([&] { f.db.begin(SqlTransactionKind::read); })));
  // The open one goes on.
  txn.commit();
  CHECK(count(*f.under_test->connect(), "numbers") == 1);
}

TEST_CASE_TEMPLATE(
    "sql database: the schema version is 0, then what was recorded in a "
    "committed transaction",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  SqlDatabase& db = f.db;
  CHECK(db.schema_version() == 0);
  {
    SqlTransaction txn(db, SqlTransactionKind::write);
    db.set_schema_version(1);
    CHECK(db.schema_version() == 1);
  }
  CHECK(db.schema_version() == 0);
  for (int version : {1, 2, 7}) {
    SqlTransaction txn(db, SqlTransactionKind::write);
    db.set_schema_version(version);
    txn.commit();
    CHECK(db.schema_version() == version);
    CHECK(f.under_test->connect()->schema_version() == version);
  }
}

TEST_CASE_TEMPLATE(
    "sql database: the migrations apply, and data_version changes when another "
    "connection commits a change",
    Backend, AUTHSVC_SQL_BACKENDS) {
  Fresh<Backend> f;
  migrate(f.db, f.under_test->migrations());
  CHECK(f.db.schema_version() == static_cast<int>(f.under_test->migrations().size()));

  std::unique_ptr<SqlDatabase> other = f.under_test->connect();
  std::int64_t before = f.db.data_version();
  CHECK(f.db.data_version() == before);
  {
    SqlTransaction txn(*other, SqlTransactionKind::write);
    other->exec(
        "INSERT INTO audit_events (ts, actor, operator, action, \"user\", detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        {"2026-01-01T00:00:00.000000Z", "cli", "tester", "user add", "alice", ""});
    other->announce_change("user alice");
    txn.commit();
  }
  // PostgreSQL's notice arrives a moment after the commit.
  std::int64_t after = before;
  for (int i = 0; i < 500 && after == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = f.db.data_version();
  }
  CHECK(after != before);
  CHECK(f.db.data_version() == after);
}

}  // namespace
}  // namespace authsvc::sql_contract
