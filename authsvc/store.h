#pragma once
// The user store: one SQLite file, shared by `authsvc serve` and the CLI.
//
// The schema lives only in schema/*.sql, compiled in and applied in order at
// open (PRAGMA user_version records how far). WAL mode lets the server read
// while the CLI writes. Every change also inserts its audit event in the
// same transaction.
//
// Errors are thrown as StoreError with a one-line message fit for an
// operator ("no such user 'bob'"); they never contain a token.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "authsvc/snapshot.h"

namespace SQLite {
class Database;
}

namespace authsvc {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A user as the CLI shows it: everything but the token hash.
struct UserInfo {
  std::string name;
  std::string email;
  std::vector<std::string> tags;
  std::vector<std::string> vhosts;
  bool active = true;
  std::string created_at;
  std::string updated_at;
  std::string token_rotated_at;
  // The guardian's thresholds for this user's queues; nullopt: its defaults.
  std::optional<std::int64_t> queue_warn;
  std::optional<std::int64_t> queue_delete;
};

// A queue or exchange, as the broker names it.
struct ResourceKey {
  std::string vhost;
  std::string name;
  auto operator<=>(const ResourceKey&) const = default;
};

// The guardian's record of a queue it has warned about, or is deleting.
struct QueueNotice {
  ResourceKey queue;
  std::string owner;
  std::string state;  // "warned" or "deleting"
  std::int64_t messages = 0;
  std::string since;
};

// A non-compliant exchange whose owner was told.
struct ExchangeNotice {
  ResourceKey exchange;
  std::string owner;
  std::string problem;
  std::string since;
};

// An e-mail waiting in the outbox.
struct OutboxMail {
  std::int64_t id = 0;
  std::string recipient;
  std::string subject;
  std::string body;
  std::int64_t attempts = 0;
};

// A user-management action, as written to audit_events.
struct AuditEvent {
  std::int64_t id = 0;
  std::string ts;
  std::string actor;
  std::string operator_name;
  std::string action;
  std::string user;
  std::string detail;
};

// Who makes the changes through one Store, for the audit trail.
struct Actor {
  std::string actor = "cli";
  std::string operator_name;  // the OS account
};

class Store {
 public:
  // Only `authsvc init` creates a database: a mistyped --db must not give
  // a server with no users, or a CLI change that the server never sees.
  enum class Open { existing, create_if_missing };
  // Opens the database at `path` and applies any pending migration. Throws
  // StoreError, also when the file is missing and `open` is `existing`.
  Store(const std::string& path, Actor actor, Open open = Open::existing);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Closes the connection and opens the same path again. A connection that
  // once read a damaged file keeps failing after the file is repaired
  // (measured: "file is not a database" until reopened), so a long-running
  // reader reopens after an error. Throws as the constructor does; until a
  // reopen succeeds, every other call throws StoreError.
  void reopen();

  // The schema version the database is at (the last migration applied).
  int schema_version();

  struct NewUser {
    std::string name;
    std::string email;
    std::vector<std::string> tags;
    std::vector<std::string> vhosts;
  };

  // Each returns the new token, the only time it exists in clear.
  std::string add_user(const std::string& name, const std::string& email,
                       const std::vector<std::string>& tags,
                       const std::vector<std::string>& vhosts);
  // Adds all of `users` in one transaction, or none of them (a bad or
  // taken name fails the whole call). Tokens in the order of `users`; each
  // user's audit event is `action`.
  std::vector<std::string> add_users(const std::vector<NewUser>& users,
                                     const std::string& action = "user import");
  std::string rotate_token(const std::string& name);

  void set_active(const std::string& name, bool active);
  void delete_user(const std::string& name);
  // Replaces whichever of email, tags and vhosts is given.
  void update_user(const std::string& name, const std::optional<std::string>& email,
                   const std::optional<std::vector<std::string>>& tags,
                   const std::optional<std::vector<std::string>>& vhosts);

  std::optional<UserInfo> find_user(const std::string& name);
  std::vector<UserInfo> list_users();

  // Everything a Snapshot needs, read in one consistent transaction; and
  // the id of the last audit event then, where changed_users_since() goes on.
  std::vector<UserRecord> load_users(std::int64_t* last_event_id = nullptr);
  // The users named by audit events after `after` (every change through
  // this class records one), each as it is now: what changed since a
  // snapshot. nullopt if more than `limit` users changed: reload them all.
  std::optional<std::vector<UserChange>> changed_users_since(std::int64_t after, std::size_t limit,
                                                             std::int64_t* last_event_id);

  // Per-user queue thresholds (nullopt: back to the guardian's default).
  void set_queue_limits(const std::string& name, std::optional<std::int64_t> warn,
                        std::optional<std::int64_t> remove);

  // Names that have been deleted and not created again: the guardian closes
  // their connections (a name authsvc never knew is a broker-internal
  // account, left alone).
  std::vector<std::string> deleted_user_names();

  // The guardian's state. Each change that tells an owner something takes
  // the mail with it into the outbox, in the same transaction; an empty
  // recipient means no mail (the owner has no address).
  std::vector<ResourceKey> queue_exemptions();
  // Audited as "queue exempt" / "queue unexempt" (user: the queue's owner).
  void set_queue_exempt(const ResourceKey& queue, const std::string& owner, bool exempt);
  std::vector<QueueNotice> queue_notices();
  void put_queue_notice(const QueueNotice& notice, const std::optional<OutboxMail>& mail);
  void remove_queue_notice(const ResourceKey& queue, const std::optional<OutboxMail>& mail);
  std::vector<ExchangeNotice> exchange_notices();
  void put_exchange_notice(const ExchangeNotice& notice, const std::optional<OutboxMail>& mail);
  void remove_exchange_notice(const ResourceKey& exchange, const std::optional<OutboxMail>& mail);
  // Oldest first, at most `limit`.
  std::vector<OutboxMail> outbox(std::size_t limit = 100);
  void outbox_sent(std::int64_t id);
  void outbox_failed(std::int64_t id, const std::string& error);

  // Changes whenever another connection commits (PRAGMA data_version):
  // cheap enough to poll several times a second.
  std::int64_t data_version();

  // Audit events not yet copied to the audit log (and after `after_id`),
  // oldest first, at most 10,000; and marking them copied.
  std::vector<AuditEvent> unexported_audit_events(std::int64_t after_id = 0);
  void mark_audit_events_exported(std::int64_t last_id);

 private:
  void open_database(Open open);
  SQLite::Database& db();
  void migrate();
  std::int64_t user_id(const std::string& name);
  void record_event(const std::string& action, const std::string& user, const std::string& detail);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  Actor actor_;
};

}  // namespace authsvc
