// PostgreSQL's migrations (schema/postgresql/) against SQLite's (schema/):
// the same numbers and names, and the same tables, columns, types,
// nullability and named indexes once applied, so that a schema version
// means the same in both stores and the two cannot drift apart silently.
// Then what PostgreSQL's idiom must keep of SQLite's: NOCASE addresses, and
// migration 004 moving the data of an older database.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/pg_database.h"
#include "authsvc/store/pg_test_database.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

std::span<const EmbeddedFile> sqlite_migrations() {
  return {embedded_migrations, embedded_migrations_count};
}

std::span<const EmbeddedFile> pg_migrations() {
  return {embedded_pg_migrations, embedded_pg_migrations_count};
}

int number_of(const EmbeddedFile& migration) { return std::stoi(std::string(migration.name)); }

// Applies the migrations numbered up to `last` not applied yet, as the
// store does: in one write transaction, recording each one's number.
void migrate(SqlDatabase& db, int last = 1000) {
  SqlTransaction txn(db, SqlTransactionKind::write);
  int version = db.schema_version();
  for (const EmbeddedFile& migration : pg_migrations()) {
    int number = number_of(migration);
    if (number <= version || number > last) continue;
    db.exec_script(migration.content);
    db.set_schema_version(number);
  }
  txn.commit();
}

// A column as both schemas can say it.
struct Column {
  std::string name;
  std::string type;  // PostgreSQL's name for it
  bool not_null;
};

// As text, for doctest to show what differs.
std::string describe(const std::vector<Column>& columns) {
  std::string out;
  for (const Column& c : columns) {
    out += (out.empty() ? "" : ", ") + c.name + " " + c.type + (c.not_null ? " NOT NULL" : "");
  }
  return out;
}
std::string describe(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

struct Schema {
  std::map<std::string, std::vector<Column>> tables;
  std::set<std::string> indexes;  // "table.index", those made by CREATE INDEX
};

Schema sqlite_schema() {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  for (const EmbeddedFile& migration : sqlite_migrations()) db.exec(std::string(migration.content));
  const std::map<std::string, std::string> types = {
      {"INTEGER", "bigint"}, {"TEXT", "text"}, {"BLOB", "bytea"}};
  Schema schema;
  SQLite::Statement tables(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                           "'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  while (tables.executeStep()) {
    std::string table = tables.getColumn(0).getString();
    SQLite::Statement columns(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)");
    columns.bind(1, table);
    while (columns.executeStep()) {
      std::string type = columns.getColumn(1).getString();
      auto mapped = types.find(type);
      schema.tables[table].push_back(
          Column{columns.getColumn(0).getString(),
                 mapped == types.end() ? "unmapped SQLite type " + type : mapped->second,
                 // A key's columns are never NULL: WITHOUT ROWID tables and
                 // INTEGER PRIMARY KEYs refuse NULL without saying NOT NULL.
                 columns.getColumn(2).getInt() != 0 || columns.getColumn(3).getInt() != 0});
    }
  }
  SQLite::Statement indexes(
      db, "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
  while (indexes.executeStep()) {
    schema.indexes.insert(indexes.getColumn(0).getString() + "." +
                          indexes.getColumn(1).getString());
  }
  return schema;
}

Schema pg_schema(SqlDatabase& db) {
  Schema schema;
  db.query(
      "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), "
      "a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
      "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
      "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
      {}, [&](const SqlRow& row) {
        schema.tables[row.text(0)].push_back(Column{row.text(1), row.text(2), row.int64(3) != 0});
      });
  // Not those that back a constraint (primary keys, UNIQUE).
  db.query(
      "SELECT t.relname::text, i.relname::text FROM pg_index x "
      "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
      "WHERE t.relnamespace = current_schema()::regnamespace "
      "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
      {}, [&](const SqlRow& row) { schema.indexes.insert(row.text(0) + "." + row.text(1)); });
  return schema;
}

TEST_CASE("postgresql migrations: the same numbers and names as SQLite's") {
  REQUIRE(embedded_pg_migrations_count > 0);
  std::vector<std::string> sqlite, pg;
  for (const EmbeddedFile& m : sqlite_migrations()) sqlite.emplace_back(m.name);
  for (const EmbeddedFile& m : pg_migrations()) pg.emplace_back(m.name);
  CHECK(pg == sqlite);
}

TEST_CASE("postgresql migrations make SQLite's tables and columns") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  CHECK(db->schema_version() == 0);
  migrate(*db);
  CHECK(db->schema_version() == number_of(pg_migrations().back()));

  Schema pg = pg_schema(*db);
  // PgDatabase's own record of the version (no migration's): SQLite keeps
  // it outside its tables.
  REQUIRE(pg.tables.count("schema_version") == 1);
  CHECK(describe(pg.tables["schema_version"]) == "version integer NOT NULL");
  pg.tables.erase("schema_version");

  Schema sqlite = sqlite_schema();
  std::set<std::string> pg_tables, sqlite_tables;
  for (const auto& [table, columns] : pg.tables) pg_tables.insert(table);
  for (const auto& [table, columns] : sqlite.tables) sqlite_tables.insert(table);
  CHECK(describe(pg_tables) == describe(sqlite_tables));
  for (const auto& [table, columns] : sqlite.tables) {
    INFO("table " << table);
    CHECK(describe(pg.tables[table]) == describe(columns));
  }
  CHECK(describe(pg.indexes) == describe(sqlite.indexes));
}

TEST_CASE(
    "postgresql migrations: addresses compare without case, in keys, indexes and plain "
    "comparisons") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  migrate(*db);
  CHECK(db->query_int64("SELECT CASE WHEN 'Alice@X' = 'alice@x' COLLATE NOCASE THEN 1 ELSE 0 "
                        "END") == 1);
  CHECK(db->query_int64("SELECT CASE WHEN 'Alice@X' = 'alice@x' THEN 1 ELSE 0 END") == 0);

  db->exec(
      "INSERT INTO users (name, tags, status, created_at, updated_at) "
      "VALUES ('svc', '', 'active', 't', 't')");
  std::int64_t id = db->query_int64("SELECT id FROM users WHERE name = 'svc'").value();
  db->exec("INSERT INTO user_owners (user_id, address, added_at) VALUES (?, ?, 't')",
           {id, "Alice@X.example"});
  // The primary key (user_id, address) takes another case for the same.
  CHECK_THROWS_AS(
      db->exec("INSERT INTO user_owners (user_id, address, added_at) VALUES (?, ?, 't')",
               {id, "alice@x.EXAMPLE"}),
      SqlError);
  db->exec("INSERT INTO user_owners (user_id, address, added_at) VALUES (?, ?, 't')",
           {id, "bob@x.example"});
  // Found by a plain comparison and by COLLATE NOCASE; the case kept.
  std::string kept;
  db->query("SELECT address FROM user_owners WHERE address = ?", {"ALICE@X.EXAMPLE"},
            [&](const SqlRow& row) { kept = row.text(0); });
  CHECK(kept == "Alice@X.example");
  CHECK(db->query_int64("SELECT COUNT(*) FROM user_owners WHERE address = ? COLLATE NOCASE",
                        {"alice@x.example"}) == 1);

  db->exec(
      "INSERT INTO web_sessions (id_hash, address, created_at, last_seen_at) "
      "VALUES (?, ?, 't', 't')",
      {SqlParam::bytes(std::vector<std::uint8_t>(32, 1)), "Carol@Y.example"});
  db->exec("INSERT INTO api_keys (address, label, hash, created_at) VALUES (?, 'k', ?, 't')",
           {"Dave@Z.example", SqlParam::bytes(std::vector<std::uint8_t>(32, 2))});
  CHECK(db->query_int64("SELECT COUNT(*) FROM web_sessions WHERE address = ?",
                        {"carol@y.EXAMPLE"}) == 1);
  CHECK(db->query_int64("SELECT COUNT(*) FROM api_keys WHERE address = ?", {"DAVE@z.example"}) ==
        1);

  // The indexes over them serve such comparisons.
  db->exec_script("SET enable_seqscan = off");
  for (const auto& [query, index] : std::vector<std::pair<std::string, std::string>>{
           {"SELECT user_id FROM user_owners WHERE address = 'ALICE@x.example'",
            "user_owners_by_address"},
           {"SELECT id_hash FROM web_sessions WHERE address = 'carol@Y.EXAMPLE' COLLATE NOCASE",
            "web_sessions_by_address"},
           {"SELECT id FROM api_keys WHERE address = 'dave@z.example'", "api_keys_by_address"}}) {
    std::string plan;
    db->query("EXPLAIN " + query, {}, [&](const SqlRow& row) { plan += row.text(0) + "\n"; });
    INFO(plan);
    CHECK(plan.find(index) != std::string::npos);
  }
}

TEST_CASE("postgresql migration 004 moves what a version 3 database held") {
  testing::PgTestDatabase database;
  std::unique_ptr<PgDatabase> db = database.connect();
  migrate(*db, 3);
  CHECK(db->schema_version() == 3);
  std::vector<std::uint8_t> alice_hash(32, 0xa1), bob_hash(32, 0xb0);
  db->exec(
      "INSERT INTO users (name, email, tags, status, token_hash, created_at, updated_at, "
      "token_rotated_at, queue_warn) VALUES (?, ?, '', 'active', ?, ?, ?, ?, ?), "
      "(?, '', '', 'disabled', ?, ?, ?, ?, NULL)",
      {"alice", "Alice@Example.org", SqlParam::bytes(alice_hash), "2024-01-01", "2024-02-01",
       "2024-03-01", 100, "bob", SqlParam::bytes(bob_hash), "2024-01-02", "2024-02-02",
       "2024-03-02"});
  db->exec(
      "INSERT INTO audit_events (ts, actor, operator, action, \"user\", detail) "
      "VALUES ('2024-01-01', 'cli', 'root', 'user add', 'alice', '')");
  migrate(*db);
  CHECK(db->schema_version() == number_of(pg_migrations().back()));

  std::vector<std::string> owners;
  db->query(
      "SELECT u.name, o.address, o.added_at FROM user_owners o JOIN users u "
      "ON u.id = o.user_id ORDER BY u.name",
      {}, [&](const SqlRow& row) {
        owners.push_back(row.text(0) + " " + row.text(1) + " " + row.text(2));
      });
  CHECK(owners == std::vector<std::string>{"alice Alice@Example.org 2024-02-01"});

  std::map<std::string, std::vector<std::uint8_t>> hashes;
  db->query(
      "SELECT u.name, c.slot, c.scheme, c.hash, c.issued_at, c.valid_until "
      "FROM credentials c JOIN users u ON u.id = c.user_id",
      {}, [&](const SqlRow& row) {
        CHECK(row.text(1) == "current");
        CHECK(row.text(2) == "token");
        CHECK(row.text(4) == (row.text(0) == "alice" ? "2024-03-01" : "2024-03-02"));
        CHECK(row.is_null(5));
        hashes[row.text(0)] = row.bytes(3);
      });
  CHECK(hashes ==
        std::map<std::string, std::vector<std::uint8_t>>{{"alice", alice_hash}, {"bob", bob_hash}});
  CHECK(db->query_int64("SELECT queue_warn FROM users WHERE name = 'alice'") == 100);
  CHECK(db->query_int64("SELECT COUNT(*) FROM audit_events WHERE \"user\" = 'alice'") == 1);
  CHECK(db->query_int64("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = "
                        "'users' AND column_name IN ('email', 'token_hash', "
                        "'token_rotated_at')") == 0);
}

}  // namespace
}  // namespace authsvc
