#include "authsvc/store/sql_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "authsvc/core/embedded_file.h"
#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/core/words.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

// The leading number of a migration's file name: "002_x.sql" -> 2.
int migration_number(std::string_view name) {
  int n = 0;
  std::size_t i = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) n = n * 10 + (name[i] - '0');
  if (i == 0) throw std::logic_error("migration without a number: " + std::string(name));
  return n;
}

}  // namespace

SqlStore::SqlStore(std::string location, SqlConnect connect,
                   std::span<const EmbeddedFile> migrations, Actor actor, OpenMode mode)
    : location_(std::move(location)),
      connect_(std::move(connect)),
      migrations_(migrations),
      actor_(std::move(actor)) {
  open_database(mode);
}

void SqlStore::open_database(OpenMode mode) {
  try {
    guarded(fmt::format("open database '{}'", printable(location_)), [&] {
      db_ = connect_(mode);
      if (mode == OpenMode::existing && db_->schema_version() == 0) {
        throw StoreError(
            fmt::format("database '{}' has no authsvc data (create it with: authsvc init --db {})",
                        printable(location_), printable(location_)));
      }
      migrate(*db_, migrations_);
    });
  } catch (...) {
    // Whatever failed (the database, or migrate() refusing a newer schema),
    // no connection is left open: until a reopen succeeds, every call fails.
    db_.reset();
    throw;
  }
}

SqlDatabase& SqlStore::db() {
  if (!db_)
    throw StoreError(
        fmt::format("database '{}' is not open (an earlier reopen failed)", printable(location_)));
  return *db_;
}

void SqlStore::reopen() {
  db_.reset();
  open_database(OpenMode::existing);
}

SqlStore::~SqlStore() = default;

void SqlStore::run_guarded(std::string_view what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const SqlError& e) {
    throw StoreError(fmt::format("cannot {}: {}", what, e.what()));
  }
}

int SqlStore::latest_schema_version(std::span<const EmbeddedFile> migrations) {
  int latest = 0;
  for (const EmbeddedFile& migration : migrations) {
    latest = std::max(latest, migration_number(migration.name));
  }
  return latest;
}

void SqlStore::migrate(SqlDatabase& db, std::span<const EmbeddedFile> migrations) {
  SqlTransaction txn(db, SqlTransactionKind::write);
  int version = db.schema_version();
  int latest = latest_schema_version(migrations);
  if (version > latest) {
    throw StoreError(fmt::format(
        "database schema version {} is newer than this authsvc knows ({}); refusing to use it",
        version, latest));
  }
  if (version == latest) return;  // nothing to apply: the transaction rolls back
  for (const EmbeddedFile& migration : migrations) {
    int number = migration_number(migration.name);
    if (number <= version) continue;
    db.exec_script(migration.content);
    db.set_schema_version(number);
  }
  txn.commit();
}

int SqlStore::schema_version() {
  int version = guarded("read the schema version", [&] { return db().schema_version(); });
  // An open store had a schema: none now means its tables were dropped.
  if (version == 0) {
    throw StoreError(
        fmt::format("database '{}' no longer has authsvc's schema", printable(location_)));
  }
  return version;
}

std::int64_t SqlStore::user_id(const std::string& name) {
  std::optional<std::int64_t> id = db().query_int64("SELECT id FROM users WHERE name = ?", {name});
  if (!id) throw StoreError(fmt::format("no such user '{}'", printable(name)));
  return *id;
}

std::int64_t SqlStore::owned_user_id(const std::string& name) {
  if (owner_limit_.empty()) return user_id(name);
  // user_owners.address compares without case (COLLATE NOCASE).
  std::optional<std::int64_t> id = db().query_int64(
      "SELECT u.id FROM users u WHERE u.name = ? AND EXISTS "
      "(SELECT 1 FROM user_owners o WHERE o.user_id = u.id AND o.address = ?)",
      {name, owner_limit_});
  if (!id) throw StoreError(fmt::format("no such user '{}'", printable(name)));
  return *id;
}

std::string SqlStore::now() { return rfc3339_utc(std::chrono::system_clock::now()); }

void SqlStore::record_event(const std::string& action, const std::string& user,
                            const std::string& detail) {
  db().exec(
      "INSERT INTO audit_events (ts, actor, operator, action, \"user\", detail) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {now(), actor_.actor, actor_.operator_name, action, user, detail});
  db().announce_change(user.empty() ? action : "user " + user);
}

std::string SqlStore::lines_of(std::string_view column, std::string_view from_where) {
  if (db().dialect() == SqlDialect::postgresql) {
    return fmt::format("(SELECT string_agg({0}, E'\\n' ORDER BY {0}) {1})", column, from_where);
  }
  return fmt::format("(SELECT group_concat({0}, char(10)) FROM (SELECT {0} {1} ORDER BY {0}))",
                     column, from_where);
}

namespace {

// A guess at each user's share of the table's byte arena: a name of a dozen
// bytes and a token's 32-byte hash. Only what is written is resident, so a
// guess too large costs address space, not memory.
constexpr std::size_t kArenaBytesPerUser = 64;

// A row per user, credential and vhost (users without a vhost have one, with
// NULL), each user's rows together when ordered by u.id. Both credentials
// in one join: PostgreSQL joined a second one, limited to slot 'previous',
// by sorting what a scan of every credential found, and sent no row before
// that sort had ended.
constexpr const char* kUserRecordQuery =
    "SELECT u.id, u.name, u.status, u.tags, u.expires_at, c.slot, c.scheme, c.hash, "
    "       c.valid_until, v.vhost "
    "FROM users u "
    "JOIN credentials c ON c.user_id = u.id "
    "LEFT JOIN user_vhosts v ON v.user_id = u.id ";

std::chrono::system_clock::time_point time_column(const SqlRow& row, int column,
                                                  std::string_view user, const char* name) {
  std::optional<std::int64_t> ms = rfc3339_to_unix_ms(row.text_view(column));
  if (!ms) {
    throw StoreError(
        fmt::format("user '{}' has a malformed time in column {}", printable(user), name));
  }
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
}

CredentialView credential_columns(const SqlRow& row, int scheme_column, int hash_column,
                                  std::string_view user, std::vector<std::uint8_t>& hash) {
  std::optional<CredentialScheme> scheme =
      credential_scheme_from_string(row.text_view(scheme_column));
  if (scheme) row.bytes_into(hash_column, hash);
  if (!scheme || hash.size() != stored_hash_size(*scheme)) {
    throw StoreError(fmt::format("user '{}' has a malformed credential", printable(user)));
  }
  return CredentialView{*scheme, hash};
}

// Rows of kUserRecordQuery, grouped by user, into one UserView a user,
// passed to on_user. Its buffers are reused from user to user: a million
// users cost no allocation each. A user's rows are its credentials times
// its vhosts; each vhost is kept once, and the list is sorted here, as
// merge_user_scans() reads it (ordering the query by vhost too would sort
// every user's rows again on the server). As merge_user_scans() does, a
// user without a current credential is left out (it cannot log in).
template <typename OnUser>
class UserRowReader {
 public:
  explicit UserRowReader(OnUser on_user) : on_user_(std::move(on_user)) {}

  void operator()(const SqlRow& row) {
    std::int64_t id = row.int64(0);
    if (id != last_id_) {
      finish();
      last_id_ = id;
      name_ = row.text_view(1);
      user_ = UserView{};
      user_.name = name_;
      user_.active = row.text_view(2) == "active";
      tags_ = row.text_view(3);
      user_.tags = tags_;
      if (!row.is_null(4)) user_.expires_at = time_column(row, 4, name_, "expires_at");
      has_current_ = false;
      vhost_count_ = 0;
    }
    if (row.text_view(5) == "current") {
      if (!has_current_) user_.credential = credential_columns(row, 6, 7, name_, hash_);
      has_current_ = true;
    } else if (!user_.previous) {
      user_.previous = credential_columns(row, 6, 7, name_, previous_hash_);
      user_.previous_valid_until = time_column(row, 8, name_, "valid_until");
    }
    if (!row.is_null(9)) {
      std::string_view vhost = row.text_view(9);
      auto end = vhosts_.begin() + static_cast<std::ptrdiff_t>(vhost_count_);
      if (std::find(vhosts_.begin(), end, vhost) != end) return;
      if (vhost_count_ == vhosts_.size()) vhosts_.emplace_back();
      vhosts_[vhost_count_++] = vhost;
    }
  }

  // Passes the last user on: after the last row.
  void finish() {
    if (last_id_ < 0) return;
    last_id_ = -1;
    if (!has_current_) return;
    auto vhosts = vhosts_.begin() + static_cast<std::ptrdiff_t>(vhost_count_);
    std::sort(vhosts_.begin(), vhosts);
    user_.vhosts = std::span<const std::string>(vhosts_.data(), vhost_count_);
    on_user_(static_cast<const UserView&>(user_));
  }

 private:
  OnUser on_user_;
  std::int64_t last_id_ = -1;
  UserView user_;
  bool has_current_ = false;
  std::string name_;
  std::string tags_;
  std::vector<std::uint8_t> hash_;
  std::vector<std::uint8_t> previous_hash_;
  std::vector<std::string> vhosts_;
  std::size_t vhost_count_ = 0;
};

// Every user of a SQLite store, from three scans ordered by user id, merged:
// the users, their credentials, their vhosts. SQLite joins by nested loops:
// kUserRecordQuery ordered by user looked up each user's credentials and
// vhosts in their indexes, three lookups a user; these read each table
// once, in the order of its primary key. As the join does, a user without a
// current credential is left out (it cannot log in). Each user is passed to
// on_user as a view of buffers reused from user to user. (PostgreSQL merges
// the same three index scans itself: SqlStore::load_users.)
template <typename OnUser>
void merge_user_scans(SqlDatabase& db, OnUser on_user) {
  std::unique_ptr<SqlCursor> users =
      db.open_cursor("SELECT id, name, status, tags, expires_at FROM users ORDER BY id");
  std::unique_ptr<SqlCursor> credentials = db.open_cursor(
      "SELECT user_id, slot, scheme, hash, valid_until FROM credentials ORDER BY user_id, slot");
  std::unique_ptr<SqlCursor> vhosts =
      db.open_cursor("SELECT user_id, vhost FROM user_vhosts ORDER BY user_id, vhost");
  const SqlRow* credential = credentials->next();
  const SqlRow* vhost = vhosts->next();
  std::string name;
  std::string tags;
  std::vector<std::uint8_t> hash;
  std::vector<std::uint8_t> previous_hash;
  std::vector<std::string> vhost_names;
  while (const SqlRow* row = users->next()) {
    std::int64_t id = row->int64(0);
    name = row->text_view(1);
    tags = row->text_view(3);
    UserView user;
    user.name = name;
    user.active = row->text_view(2) == "active";
    user.tags = tags;
    if (!row->is_null(4)) user.expires_at = time_column(*row, 4, name, "expires_at");
    bool has_current = false;
    // Rows of users that are not there (none: the foreign keys) are skipped.
    while (credential && credential->int64(0) < id) credential = credentials->next();
    for (; credential && credential->int64(0) == id; credential = credentials->next()) {
      if (credential->text_view(1) == "current") {
        user.credential = credential_columns(*credential, 2, 3, name, hash);
        has_current = true;
      } else {
        user.previous = credential_columns(*credential, 2, 3, name, previous_hash);
        user.previous_valid_until = time_column(*credential, 4, name, "valid_until");
      }
    }
    std::size_t count = 0;
    while (vhost && vhost->int64(0) < id) vhost = vhosts->next();
    for (; vhost && vhost->int64(0) == id; vhost = vhosts->next()) {
      if (count == vhost_names.size()) vhost_names.emplace_back();
      vhost_names[count++] = vhost->text_view(1);
    }
    user.vhosts = std::span<const std::string>(vhost_names.data(), count);
    if (has_current) on_user(static_cast<const UserView&>(user));
  }
}

std::int64_t last_event_id_of(SqlDatabase& db) {
  return db.query_int64("SELECT COALESCE(MAX(id), 0) FROM audit_events").value_or(0);
}

}  // namespace

UserTable SqlStore::load_users(std::int64_t* last_event_id) {
  return guarded("load users", [&] {
    SqlTransaction txn(db(), SqlTransactionKind::read);  // one consistent view
    UserTableBuilder builder;
    // Arrays of the right size from the start: grown by doubling, each
    // regrowth would copy them while the old one is still held. SQLite
    // counts a million users in 15 ms; PostgreSQL in 100, before the first
    // row is read, so its planner's estimate (kept by autovacuum; -1 when
    // the table never was analyzed) does: a wrong one costs a regrowth.
    const char* count = db().dialect() == SqlDialect::postgresql
                            ? "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class "
                              "WHERE oid = 'users'::regclass"
                            : "SELECT COUNT(*) FROM users";
    auto users = static_cast<std::size_t>(db().query_int64(count).value_or(0));
    builder.reserve(users, users * kArenaBytesPerUser);
    auto add = [&](const UserView& user) { builder.add(user); };
    if (db().dialect() == SqlDialect::postgresql) {
      // One query, the server's merge join of the three tables' index
      // scans, streamed as it runs: its work and the table's building
      // overlap, on two cores. Three cursors on one connection would take
      // turns, a batch at a time.
      UserRowReader reader(add);
      db().stream(std::string(kUserRecordQuery) + "ORDER BY u.id", std::ref(reader));
      reader.finish();
    } else {
      merge_user_scans(db(), add);
    }
    if (last_event_id) *last_event_id = last_event_id_of(db());
    txn.commit();
    return builder.build();
  });
}

std::optional<std::vector<UserChange>> SqlStore::changed_users_since(std::int64_t after,
                                                                     std::size_t limit,
                                                                     std::int64_t& last_event_id) {
  return guarded("read the changed users", [&]() -> std::optional<std::vector<UserChange>> {
    SqlTransaction txn(db(), SqlTransactionKind::read);
    std::set<std::string> names;
    std::int64_t last = after;
    bool reload_all = false;
    db().query(
        "SELECT id, \"user\", action FROM audit_events WHERE id > ? ORDER BY id", {after},
        [&](const SqlRow& row) {
          if (reload_all) return;
          last = row.int64(0);
          names.insert(row.text(1));
          // A restore or a copy replaced every user at once.
          std::string action = row.text(2);
          if (names.size() > limit || action == kRestoreAction || action == kStoreCopyAction) {
            reload_all = true;
          }
        });
    if (reload_all) return std::nullopt;
    std::vector<UserChange> changes;
    for (const std::string& name : names) {
      std::optional<UserRecord> found;
      UserRowReader reader([&](const UserView& user) { found = to_record(user); });
      db().query(std::string(kUserRecordQuery) + "WHERE u.name = ?", {name}, std::ref(reader));
      reader.finish();
      changes.push_back(UserChange{name, std::move(found)});
    }
    last_event_id = last;
    txn.commit();
    return changes;
  });
}

std::int64_t SqlStore::data_version() {
  return guarded("read the data version", [&] { return db().data_version(); });
}

bool SqlStore::wait_for_change(std::chrono::milliseconds timeout, const WakeSignal& wake) {
  return guarded("wait for changes", [&] { return db().wait_for_change(timeout, wake.fd()); });
}

std::vector<AuditEvent> SqlStore::unexported_audit_events(std::int64_t after_id) {
  return guarded("read the audit events", [&] {
    std::vector<AuditEvent> events;
    db().query(
        "SELECT id, ts, actor, operator, action, \"user\", detail FROM audit_events "
        "WHERE id > ? AND id > (SELECT last_event_id FROM audit_export WHERE id = 1) "
        "ORDER BY id LIMIT 10000",
        {after_id}, [&](const SqlRow& row) {
          events.push_back(AuditEvent{row.int64(0), row.text(1), row.text(2), row.text(3),
                                      row.text(4), row.text(5), row.text(6)});
        });
    return events;
  });
}

void SqlStore::mark_audit_events_exported(std::int64_t last_id) {
  // Only ever forward: on several nodes, one that was the exporter and
  // lost the lead may mark what it wrote after the new exporter marked
  // more (lead_lock.h); a mark moved back would copy events again.
  guarded("mark the audit events exported", [&] {
    db().exec("UPDATE audit_export SET last_event_id = ? WHERE id = 1 AND last_event_id < ?",
              {last_id, last_id});
  });
}

}  // namespace authsvc
