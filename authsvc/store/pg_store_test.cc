// PostgreSQL's store: what the contract tests (store_contract_test.cc) and
// the copy tests run against, each test on a database of its own
// (pg_test_database.h), and what is PostgreSQL's own.
#include "authsvc/store/pg_store.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "authsvc/store/pg_test_database.h"
#include "authsvc/store/store_contract.h"
#include "tests/test_support.h"

namespace authsvc {

namespace store_contract {
namespace {

// A fresh database, given authsvc's schema as `authsvc init` gives it.
class PostgresUnderTest : public StoreUnderTest {
 public:
  PostgresUnderTest() { open_store(location(), Actor{"init", ""}, OpenMode::create_if_missing); }

  std::unique_ptr<Store> connect(const Actor& actor) override {
    return open_store(location(), actor);
  }

  // As an operator writes it: a URI, the password beside it.
  StoreLocation location() override { return database_.store_location(); }

  // Every row of every table, as PostgreSQL's text output shows it (bytes
  // as hex: a token kept in clear would show as itself).
  std::string stored_bytes() override {
    std::unique_ptr<PgDatabase> db = database_.connect();
    std::string bytes;
    for (const std::string& table : db->table_names()) {
      db->query(fmt::format("SELECT t::text FROM \"{}\" t", table), {},
                [&](const SqlRow& row) { bytes += row.text(0) + "\n"; });
    }
    return bytes;
  }

  // Its tables gone under the open connections, the schema version's too.
  void damage() override {
    std::unique_ptr<PgDatabase> db = database_.connect();
    for (const std::string& table : db->table_names()) {
      db->exec(fmt::format("DROP TABLE \"{}\" CASCADE", table));
    }
    db->exec("DROP TABLE schema_version");
    // And every connection to it ended, as a server that went away ends
    // them: the next call of each fails.
    testing::connect_pg_maintenance()->query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?",
        {database_.name()}, [](const SqlRow&) {});
  }

 private:
  testing::PgTestDatabase database_;
};

}  // namespace

std::unique_ptr<StoreUnderTest> Postgres::make() { return std::make_unique<PostgresUnderTest>(); }

}  // namespace store_contract

TEST_CASE("a PostgreSQL database without authsvc's schema is refused, and init gives it one") {
  testing::PgTestDatabase database;
  StoreLocation where = database.store_location();
  CHECK_THROWS_WITH_AS(open_store(where, Actor{"cli", "tester"}),
                       doctest::Contains("has no authsvc data (create it with: authsvc init"),
                       StoreError);
  std::unique_ptr<Store> store =
      open_store(where, Actor{"cli", "tester"}, OpenMode::create_if_missing);
  CHECK(store->schema_version() == SqlStore::latest_schema_version(std::span<const EmbeddedFile>(
                                       embedded_pg_migrations, embedded_pg_migrations_count)));
  CHECK(open_store(where, Actor{"cli", "tester"})->list_users().empty());
}

TEST_CASE("a PostgreSQL location with a password in it is refused, the password never shown") {
  CHECK_THROWS_WITH_AS(
      open_store("postgresql://authsvc:hunter2@127.0.0.1:1/authsvc", Actor{"cli", "tester"}),
      doctest::Contains("password"), StoreError);
  for (const char* where :
       {"postgresql://authsvc:hunter2@127.0.0.1:1/authsvc",
        "postgresql://127.0.0.1:1/authsvc?user=a&password=hunter2&sslmode=disable",
        "postgres://a:hunter2@h1:1,h2:2/authsvc?password=hunter2"}) {
    CAPTURE(where);
    try {
      open_store(where, Actor{"cli", "tester"});
      FAIL("a password in the location was not refused");
    } catch (const StoreError& e) {
      std::string message = e.what();
      CHECK(message.find("password") != std::string::npos);
      CHECK(message.find("hunter2") == std::string::npos);
    }
  }
}

}  // namespace authsvc
