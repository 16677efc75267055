#pragma once
// The store's logic, once, on a SQL database (sql_database.h): SQLite
// (sqlite_store.h) and PostgreSQL (pg_store.h) are each a SqlStore on
// their own database, with the same statements and the same checks.
// store.h has the contract.
//
// The schema lives only in the migrations (schema/*.sql for SQLite,
// schema/postgresql/*.sql), compiled in and applied in order at open; the
// database records how far (SqlDatabase::schema_version).

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "authsvc/core/embedded_file.h"
#include "authsvc/store/sql_database.h"
#include "authsvc/store/store.h"

namespace authsvc {

// Opens a connection to the store's database: anew after a reopen().
// `mode` says whether a database that does not exist yet may be made
// (SQLite: its file); throws StoreError or SqlError.
using SqlConnect = std::function<std::unique_ptr<SqlDatabase>(OpenMode mode)>;

class SqlStore : public Store {
 public:
  // Connects, and applies any pending migration of `migrations` (in name
  // order). `location` names the database in messages: never a password.
  // With OpenMode::existing, a database without authsvc's schema is
  // refused, as a missing one is.
  SqlStore(std::string location, SqlConnect connect, std::span<const EmbeddedFile> migrations,
           Actor actor, OpenMode mode);
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  // UserStore
  std::vector<std::string> add_users(const std::vector<NewUser>& users,
                                     const std::string& action) override;
  void import_users(const std::vector<ImportedUser>& users) override;
  std::string rotate_token(const std::string& name, std::chrono::seconds grace,
                           const std::optional<std::string>& replacing) override;
  using UserStore::rotate_token;
  void set_active(const std::string& name, bool active) override;
  void delete_user(const std::string& name) override;
  void update_user(const std::string& name, const UserUpdate& update) override;
  void add_owner(const std::string& name, const std::string& address) override;
  void remove_owner(const std::string& name, const std::string& address) override;
  void add_owners(const std::vector<OwnerGrant>& grants) override;
  std::optional<UserInfo> find_user(const std::string& name) override;
  std::vector<UserInfo> list_users() override;
  std::vector<UserInfo> users_owned_by(const std::string& address) override;
  std::vector<std::string> deleted_user_names() override;
  bool was_deleted(const std::string& name) override;

  // UserFeed
  std::int64_t data_version() override;
  bool wait_for_change(std::chrono::milliseconds timeout, const WakeSignal& wake) override;
  UserTable load_users(std::int64_t* last_event_id) override;
  std::optional<std::vector<UserChange>> changed_users_since(std::int64_t after, std::size_t limit,
                                                             std::int64_t& last_event_id) override;

  // GuardianStateStore
  std::vector<ResourceKey> queue_exemptions() override;
  void set_queue_exempt(const ResourceKey& queue, const std::string& owner, bool exempt) override;
  bool record_expiry_notice(const std::string& user, const std::string& expires_at,
                            std::int64_t lead, const std::vector<OutboxMail>& mails) override;
  std::vector<QueueNotice> queue_notices() override;
  void put_queue_notice(const QueueNotice& notice, const std::vector<OutboxMail>& mails) override;
  void remove_queue_notice(const ResourceKey& queue, const std::vector<OutboxMail>& mails) override;
  void record_queue_deleted(const DeletedQueue& deleted,
                            const std::vector<OutboxMail>& mails) override;
  std::vector<DeletedQueue> deleted_queues() override;
  bool forget_deleted_queue(const ResourceKey& queue,
                            const std::vector<OutboxMail>& mails) override;
  std::vector<IdleQueue> idle_queues() override;
  void update_idle_queues(const std::vector<IdleQueue>& idle,
                          const std::vector<ResourceKey>& busy) override;
  bool record_orphan_notice(const ResourceKey& queue, const std::string& mailed_at,
                            const std::vector<OutboxMail>& mails) override;
  std::vector<ExchangeNotice> exchange_notices() override;
  void put_exchange_notice(const ExchangeNotice& notice,
                           const std::vector<OutboxMail>& mails) override;
  void remove_exchange_notice(const ResourceKey& exchange,
                              const std::vector<OutboxMail>& mails) override;
  std::vector<OutboxMail> outbox(std::size_t limit) override;
  void remove_from_outbox(std::int64_t id) override;
  void outbox_failed(std::int64_t id, const std::string& error) override;

  // ExchangeSampleStore (sql_exchange_samples.cc)
  void add_exchange_samples(const std::vector<ExchangeSample>& seen) override;
  std::vector<ExchangeSample> exchange_samples() override;
  std::optional<ExchangeSample> exchange_sample(const ResourceKey& exchange) override;
  std::vector<ExchangeSample> unmailed_violations() override;
  bool record_violation_mail(const ResourceKey& exchange, MessageViolation kind, std::int64_t count,
                             const std::string& mailed_at, const std::string& not_mailed_after,
                             const std::vector<OutboxMail>& mails) override;

  // AuditExport
  std::vector<AuditEvent> unexported_audit_events(std::int64_t after_id) override;
  void mark_audit_events_exported(std::int64_t last_id) override;

  // WebStore
  void put_sign_in(const WebSignIn& sign_in) override;
  std::optional<WebSignIn> take_sign_in(const TokenHash& state_hash) override;
  void put_session(const WebSession& session) override;
  std::optional<WebSession> find_session(const TokenHash& id_hash) override;
  void touch_session(const TokenHash& id_hash, const std::string& last_seen_at) override;
  void end_session(const TokenHash& id_hash) override;
  std::size_t purge_web_state(const std::string& sign_ins_before, const std::string& idle_before,
                              const std::string& created_before) override;
  NewApiKey add_api_key(const std::string& address, const std::string& label,
                        const std::string& expires_at) override;
  std::vector<ApiKeyInfo> api_keys_of(const std::string& address) override;
  std::optional<ApiKeyInfo> find_api_key(const TokenHash& hash) override;
  bool revoke_api_key(std::int64_t id, const std::string& address) override;
  void touch_api_key(std::int64_t id, const std::string& at) override;
  WebAccessEnded end_web_access(const std::string& address) override;
  std::size_t accounts_created_by(const std::string& address) override;

  // Store
  void set_actor(Actor actor) override;
  void limit_changes_to_owner(std::string address) override;
  int schema_version() override;
  void reopen() override;

  // Applies the migrations `db` has not had yet, in one transaction;
  // throws StoreError for a schema newer than this build's, SqlError if a
  // migration fails.
  static void migrate(SqlDatabase& db, std::span<const EmbeddedFile> migrations);
  // The number of the last of `migrations`.
  static int latest_schema_version(std::span<const EmbeddedFile> migrations);

  // The connection, for what works on the tables themselves (store_copy.h);
  // throws StoreError while it is not open.
  SqlDatabase& db();
  // Records an audit event in the caller's transaction.
  void record_event(const std::string& action, const std::string& user, const std::string& detail);
  // The audit events that replace every user at once, under one event that
  // names none of them: changed_users_since() answers them with a reload.
  static constexpr const char* kRestoreAction = "restore";
  static constexpr const char* kStoreCopyAction = "store copy";

 protected:
  // Runs `fn` and returns what it returns. The database's failures
  // (SqlError) come out as StoreError("cannot WHAT: its message"): every
  // public method runs its work through this, so that none lets one escape
  // (store.h). A StoreError passes unchanged.
  template <typename Fn>
  std::invoke_result_t<Fn&> guarded(std::string_view what, Fn&& fn) {
    using Result = std::invoke_result_t<Fn&>;
    if constexpr (std::is_void_v<Result>) {
      run_guarded(what, fn);
    } else {
      std::optional<Result> result;
      run_guarded(what, [&] { result.emplace(fn()); });
      return std::move(*result);
    }
  }
  static void run_guarded(std::string_view what, const std::function<void()>& fn);

  void open_database(OpenMode mode);
  // What the store's own messages call the database.
  const std::string& location() const { return location_; }
  std::int64_t user_id(const std::string& name);
  // user_id, for what an owner does: under limit_changes_to_owner, only an
  // account that address owns is found.
  std::int64_t owned_user_id(const std::string& name);
  // Inserts an account with its current credential and vhosts, in the
  // caller's transaction; a taken name throws. The credential's
  // `issued_at` "": unknown (an imported password). Returns its id.
  std::int64_t insert_user(const std::string& name, const std::vector<std::string>& tags,
                           const std::vector<std::string>& vhosts, const std::string& expires_at,
                           const Credential& credential, const std::string& created_at,
                           const std::string& issued_at);
  // The users `where` (a WHERE and/or ORDER BY clause over users u) selects.
  std::vector<UserInfo> user_infos(std::string_view where, const SqlParams& params);
  // Adds an owner in the caller's transaction; false if it was one already
  // (in any case).
  bool insert_owner(std::int64_t user_id, const std::string& address);
  // Queues `mails` in the outbox, in the caller's transaction; not one with
  // no recipient.
  void put_outbox(const std::vector<OutboxMail>& mails);
  // Runs `change` (to a guardian notice) and queues `mails` in one
  // transaction, so that a notice and the mails that tell the owners about
  // it are recorded together or not at all.
  void change_notice(std::string_view what, const std::vector<OutboxMail>& mails,
                     const std::function<void()>& change);
  // Deletes a notice through change_notice: `delete_sql` has two
  // parameters, the vhost and the name of `key`.
  void remove_notice(std::string_view what, const char* delete_sql, const ResourceKey& key,
                     const std::vector<OutboxMail>& mails);
  // The time a row records: RFC 3339, UTC, microseconds.
  static std::string now();

 private:
  // `column`'s values over the rows `from_where` selects (`FROM ... WHERE
  // ...`), sorted, as one text with a line each: SQLite and PostgreSQL
  // name the aggregate differently.
  std::string lines_of(std::string_view column, std::string_view from_where);

  std::string location_;
  SqlConnect connect_;
  std::span<const EmbeddedFile> migrations_;
  std::unique_ptr<SqlDatabase> db_;
  Actor actor_;
  std::string owner_limit_;
};

// The store at `location` (open_store() gives it as a Store).
std::unique_ptr<SqlStore> open_sql_store(const StoreLocation& location, Actor actor, OpenMode mode);

}  // namespace authsvc
