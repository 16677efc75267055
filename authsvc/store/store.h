#pragma once
// The store: users, the change feed the server follows, the guardian's
// state, the audit events of changes, and the web's sessions and API keys,
// shared by `serve`, the guardian, the web and the CLI. One interface per concern, so that each
// user of the store depends on what it uses, and one Store that is all of them, which open_store()
// returns. One implementation of the logic (sql_store.h) runs on SQLite (sqlite_store.h) and on
// PostgreSQL (pg_store.h); the contract every implementation keeps is tested once, for all of
// them, by store_contract_test.cc (store_contract.h says how one takes part).
//
// The contract, for every implementation:
// - Every change is one transaction, and records its audit event (actor,
//   operator, action, user, detail) in the same transaction: no change
//   without its record, no record without its change.
// - Failures throw StoreError (an authsvc::Error, see core/error.h) with a
//   one-line message fit for an operator ("no such user 'bob'"), never the
//   underlying library's exception, and never a token.
// - A token exists in clear only in the return value of the call that made
//   it; only its SHA-256 is stored.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/core/audit_records.h"
#include "authsvc/core/error.h"
#include "authsvc/core/snapshot.h"
#include "authsvc/store/records.h"
#include "authsvc/store/wake_signal.h"

namespace authsvc {

class StoreError : public Error {
 public:
  using Error::Error;
};

// Users and their tokens, as the CLI manages them.
class UserStore {
 public:
  virtual ~UserStore() = default;

  // Adds all of `users` in one transaction, or none of them (a bad or taken
  // name fails the whole call). Returns their new tokens, in order; each
  // user's audit event is `action`.
  virtual std::vector<std::string> add_users(const std::vector<NewUser>& users,
                                             const std::string& action) = 0;
  std::string add_user(const NewUser& user) { return add_users({user}, "user add").front(); }
  // Adds users imported from RabbitMQ, keeping their password hashes, all in
  // one transaction or none (a bad or taken name fails the whole call).
  // Audited as "import definitions", one event a user.
  virtual void import_users(const std::vector<ImportedUser>& users) = 0;
  // A new token, returned. The credential that was current stays valid for
  // `grace` more (0: it stops at once); a previous credential still in its
  // grace stops at once: never more than two are valid. Audited as
  // "user rotate", with the grace's end.
  // With `replacing`, only if the current credential is still the one
  // issued then ("" for an imported password), checked in the rotation's
  // own transaction; otherwise nothing changes and it throws StoreError:
  // two rotations sent at once (a double click, two tabs) make one.
  virtual std::string rotate_token(const std::string& name, std::chrono::seconds grace,
                                   const std::optional<std::string>& replacing) = 0;
  std::string rotate_token(const std::string& name, std::chrono::seconds grace) {
    return rotate_token(name, grace, std::nullopt);
  }
  std::string rotate_token(const std::string& name) {
    return rotate_token(name, std::chrono::seconds(0));
  }
  virtual void set_active(const std::string& name, bool active) = 0;
  virtual void delete_user(const std::string& name) = 0;
  // Applies every field `update` sets, in one transaction: all or nothing.
  // A queue warning threshold must stay below the deletion threshold, each
  // as it will be after the update.
  virtual void update_user(const std::string& name, const UserUpdate& update) = 0;
  // Owners ("user owner add/remove"). Adding one the account has (in any
  // case) changes nothing and is not an error; removing one it does not
  // have, or its last one, is.
  virtual void add_owner(const std::string& name, const std::string& address) = 0;
  virtual void remove_owner(const std::string& name, const std::string& address) = 0;
  // Each grant's owner added to its account, in one transaction: all or
  // nothing (an unknown account fails the call). Audited as
  // "import owners", one event an added owner.
  virtual void add_owners(const std::vector<OwnerGrant>& grants) = 0;

  virtual std::optional<UserInfo> find_user(const std::string& name) = 0;
  virtual std::vector<UserInfo> list_users() = 0;
  // The accounts `address` owns (compared case-insensitively), by name.
  virtual std::vector<UserInfo> users_owned_by(const std::string& address) = 0;
  // Names that have been deleted and not created again: the guardian closes
  // their connections (a name authsvc never knew is a broker-internal
  // account, left alone).
  virtual std::vector<std::string> deleted_user_names() = 0;
  // Whether an account of this name (exactly) was ever deleted, created
  // again since or not: its queues and exchanges may still be on the broker,
  // and its old owners' scripts may still try its name.
  virtual bool was_deleted(const std::string& name) = 0;
};

// What `serve` follows to keep its snapshot current.
class UserFeed {
 public:
  virtual ~UserFeed() = default;

  // Changes whenever another process has committed something: cheap enough
  // to poll several times a second.
  virtual std::int64_t data_version() = 0;
  // Returns once another process has announced a change (true: then
  // data_version() has moved), `timeout` has passed, or `wake` is raised
  // (false, at once; it stays raised). A store told of every change as it
  // commits (PostgreSQL's NOTIFY) returns within a moment of it; one that
  // is not (SQLite) waits for the timeout or the wake, and the caller polls
  // data_version() after it. Throws StoreError if the connection is lost.
  virtual bool wait_for_change(std::chrono::milliseconds timeout, const WakeSignal& wake) = 0;
  // Every user, as the table a Snapshot is built on, read in one consistent
  // transaction and streamed into the table row by row (no copy of all the
  // users is held on the way); and,
  // unless last_event_id is null, the id of the last audit event then, where
  // changed_users_since() goes on.
  virtual UserTable load_users(std::int64_t* last_event_id) = 0;
  // The users named by audit events after `after`, each as it is now: what
  // changed since a snapshot; and in last_event_id, the id to go on from.
  // nullopt if more than `limit` users changed, or if the store was
  // restored from a backup since (restore_store): reload them all.
  virtual std::optional<std::vector<UserChange>> changed_users_since(
      std::int64_t after, std::size_t limit, std::int64_t& last_event_id) = 0;
};

// The guardian's memory: what it exempts, whom it told what, and the mail
// it still has to send. A change that tells an account's owners something
// takes its mails into the outbox in the same transaction: one mail an
// owner, so that each is sent, retried and dropped on its own; none for an
// account without owners. A mail with an empty recipient is not queued.
class GuardianStateStore {
 public:
  virtual ~GuardianStateStore() = default;

  virtual std::vector<ResourceKey> queue_exemptions() = 0;
  // Audited as "queue exempt" / "queue unexempt" (user: the queue's owner).
  virtual void set_queue_exempt(const ResourceKey& queue, const std::string& owner,
                                bool exempt) = 0;
  // Records that the expiry notice `lead` seconds before `expires_at` went
  // to the owners of `user`, with its mails, in one transaction; returns
  // false (and changes nothing) if the user's expiry is no longer
  // `expires_at` (renewed meanwhile) or a notice with this lead or a
  // shorter one was already recorded for it. Like the notices below, it is
  // audited by the guardian's own line (with the recipients), not here.
  virtual bool record_expiry_notice(const std::string& user, const std::string& expires_at,
                                    std::int64_t lead, const std::vector<OutboxMail>& mails) = 0;
  virtual std::vector<QueueNotice> queue_notices() = 0;
  virtual void put_queue_notice(const QueueNotice& notice,
                                const std::vector<OutboxMail>& mails) = 0;
  virtual void remove_queue_notice(const ResourceKey& queue,
                                   const std::vector<OutboxMail>& mails) = 0;
  virtual std::vector<ExchangeNotice> exchange_notices() = 0;
  virtual void put_exchange_notice(const ExchangeNotice& notice,
                                   const std::vector<OutboxMail>& mails) = 0;
  virtual void remove_exchange_notice(const ResourceKey& exchange,
                                      const std::vector<OutboxMail>& mails) = 0;
  // A deletion done: the queue's notice goes and a record of the deletion
  // is kept (the queue may be declared again), with its mails, in one
  // transaction.
  virtual void record_queue_deleted(const DeletedQueue& deleted,
                                    const std::vector<OutboxMail>& mails) = 0;
  virtual std::vector<DeletedQueue> deleted_queues() = 0;
  // Forgets a deletion, with its mails (the queue is back, or the record
  // is old): false, and no mail queued, if another guardian did it first.
  virtual bool forget_deleted_queue(const ResourceKey& queue,
                                    const std::vector<OutboxMail>& mails) = 0;
  virtual std::vector<IdleQueue> idle_queues() = 0;
  // In one transaction: `idle` recorded as seen without consumers (one
  // already recorded keeps its time), `busy` forgotten (a consumer again,
  // or gone).
  virtual void update_idle_queues(const std::vector<IdleQueue>& idle,
                                  const std::vector<ResourceKey>& busy) = 0;
  // Records that the owners of idle `queue` were told it is an orphan, at
  // `mailed_at`, with its mails: false (nothing queued) if they were
  // already, or the queue is no longer recorded idle.
  virtual bool record_orphan_notice(const ResourceKey& queue, const std::string& mailed_at,
                                    const std::vector<OutboxMail>& mails) = 0;
  // Oldest first, at most `limit`.
  virtual std::vector<OutboxMail> outbox(std::size_t limit) = 0;
  // A mail leaves the outbox once the server took it, or once the guardian
  // gave up on it (its audit line says which).
  virtual void remove_from_outbox(std::int64_t id) = 0;
  // A failed try: one more attempt counted, and the error kept.
  virtual void outbox_failed(std::int64_t id, const std::string& error) = 0;
};

// What the guardian's message sampler saw on the Pulse exchanges
// (schema/007_exchange_samples.sql), and its mails about violations.
class ExchangeSampleStore {
 public:
  virtual ~ExchangeSampleStore() = default;

  // Adds what the sampler saw since its last call, in one transaction:
  // the counts are added, the last message, each kind's example and the
  // last times replaced, the JSON keys merged (first seen first, at most
  // ExchangeSample::kMaxJsonKeys), the field counts widened. A sample
  // that inspected nothing is ignored.
  virtual void add_exchange_samples(const std::vector<ExchangeSample>& seen) = 0;
  // Every exchange sampled, by vhost and name.
  virtual std::vector<ExchangeSample> exchange_samples() = 0;
  virtual std::optional<ExchangeSample> exchange_sample(const ResourceKey& exchange) = 0;
  // The exchanges with a kind of violation seen more often than its last
  // mail reported: each with its count of messages inspected and those
  // kinds alone (not its last message).
  virtual std::vector<ExchangeSample> unmailed_violations() = 0;
  // Records a mail about `kind` on `exchange` reporting the count up to
  // `count`, sent `mailed_at`, with its mails, in one transaction; returns
  // false (and changes nothing) if the kind was mailed after
  // `not_mailed_after` (another guardian did it meanwhile) or was never
  // seen there. Times are RFC 3339 text (core/timestamp.h).
  virtual bool record_violation_mail(const ResourceKey& exchange, MessageViolation kind,
                                     std::int64_t count, const std::string& mailed_at,
                                     const std::string& not_mailed_after,
                                     const std::vector<OutboxMail>& mails) = 0;
};

// The audit events of changes, until a server has copied them into its
// audit log. With several servers on one store, one copies them: the one
// holding the audit export lead (lead_lock.h).
class AuditExport {
 public:
  virtual ~AuditExport() = default;

  // Events not yet copied (and after `after_id`), oldest first, at most
  // 10,000.
  virtual std::vector<AuditEvent> unexported_audit_events(std::int64_t after_id) = 0;
  // Moves the mark forward to `last_id`; never back (a mark already past
  // it stays).
  virtual void mark_audit_events_exported(std::int64_t last_id) = 0;
};

// What `authsvc web` keeps besides accounts: sign-ins under way, sessions,
// and personal API keys. A sign-in and a session are not changes to
// anything the broker sees, and the web audits them in its own log; an API
// key's creation and revocation are audited here too ("apikey create",
// "apikey revoke", the user field empty, the key's id in the detail).
// Times are RFC 3339 text (core/timestamp.h), compared as text.
class WebStore {
 public:
  virtual ~WebStore() = default;

  virtual void put_sign_in(const WebSignIn& sign_in) = 0;
  // The sign-in begun with this state, removed in the same transaction: a
  // state finishes at most one sign-in, however many callbacks race.
  virtual std::optional<WebSignIn> take_sign_in(const TokenHash& state_hash) = 0;

  virtual void put_session(const WebSession& session) = 0;
  virtual std::optional<WebSession> find_session(const TokenHash& id_hash) = 0;
  virtual void touch_session(const TokenHash& id_hash, const std::string& last_seen_at) = 0;
  // Ends one session (sign-out); ending one that is gone is not an error.
  virtual void end_session(const TokenHash& id_hash) = 0;
  // Removes sign-ins begun before `sign_ins_before`, and sessions last seen
  // before `idle_before` or created before `created_before`. Returns how
  // many rows went.
  virtual std::size_t purge_web_state(const std::string& sign_ins_before,
                                      const std::string& idle_before,
                                      const std::string& created_before) = 0;

  // A new key acting as `address` (a verified address), labelled `label`
  // (printable, at most 100 characters), valid until `expires_at` ("":
  // until revoked). Only the key's SHA-256 is kept.
  virtual NewApiKey add_api_key(const std::string& address, const std::string& label,
                                const std::string& expires_at) = 0;
  // `address`'s keys, revoked ones included, newest first.
  virtual std::vector<ApiKeyInfo> api_keys_of(const std::string& address) = 0;
  // The key whose SHA-256 is `hash`, revoked or expired or not: the caller
  // decides, and says why in its audit line.
  virtual std::optional<ApiKeyInfo> find_api_key(const TokenHash& hash) = 0;
  // Revokes key `id` if it acts as `address` and is not revoked yet;
  // false (and nothing changes) otherwise, so that a key of another person
  // looks like no key at all.
  virtual bool revoke_api_key(std::int64_t id, const std::string& address) = 0;
  // Records `at` as its last use.
  virtual void touch_api_key(std::int64_t id, const std::string& at) = 0;
  // How many accounts `address` created on the web (compared without case)
  // that exist now: the ones created since each name was last deleted.
  virtual std::size_t accounts_created_by(const std::string& address) = 0;
  // Ends every session of `address` and revokes every live key acting as
  // it, in one transaction, audited as "web revoke" (an operator's answer
  // to a person who left, or whose provider stopped vouching for them).
  virtual WebAccessEnded end_web_access(const std::string& address) = 0;
};

class Store : public UserStore,
              public UserFeed,
              public GuardianStateStore,
              public ExchangeSampleStore,
              public AuditExport,
              public WebStore {
 public:
  // From now on, the changes made through this connection are audited as
  // `actor`'s: the web signs in a different person on every request.
  virtual void set_actor(Actor actor) = 0;
  // From now on, what an owner does through this connection (rotate_token,
  // update_user, delete_user, add_owner, remove_owner) changes an account
  // only if `address` owns it (without regard to case) when the change's
  // own transaction runs; otherwise the call fails as for no such user.
  // The web checks ownership first, for its answer; this closes the moment
  // between that check and the change. "" lifts the limit. set_active is an
  // operator's or admin's, never limited.
  virtual void limit_changes_to_owner(std::string address) = 0;
  // The schema version the data is at (the last migration applied).
  virtual int schema_version() = 0;
  // Drops the connection and opens it again. A connection that once read a
  // damaged database may keep failing after the damage is repaired, so a
  // long-running reader reopens after an error. Until a reopen succeeds,
  // every other call throws StoreError.
  virtual void reopen() = 0;
};

// Only `authsvc init` creates a database: a mistyped --db must not give a
// server with no users, or a CLI change that the server never sees.
enum class OpenMode { existing, create_if_missing };

// Where the store is, as --db names it: the path of a SQLite file, or a
// PostgreSQL URI (postgresql://..., libpq's multi-host form too). For
// PostgreSQL, the password --db-password-file holds ("": none given, and
// libpq's own PGPASSFILE may still give one); a URI that carries a password
// itself is refused, since command lines and configuration files are read
// by more eyes than a password file. The password is never printed.
struct StoreLocation {
  StoreLocation() = default;
  // Implicit: a path is the common case, and what the tests give.
  StoreLocation(std::string path_or_uri) : where(std::move(path_or_uri)) {}
  StoreLocation(const char* path_or_uri) : where(path_or_uri) {}

  bool is_postgresql() const;

  std::string where;
  std::string password;
};

// The store at `location`, migrated to this build's schema. Throws
// StoreError, also when it does not exist (or holds no authsvc schema)
// and `mode` is `existing`.
std::unique_ptr<Store> open_store(const StoreLocation& location, Actor actor,
                                  OpenMode mode = OpenMode::existing);

// Backups (`authsvc backup`, `authsvc restore`): of the whole store, so
// functions of its location, as open_store() is. A SQLite store's only: a
// PostgreSQL one is PostgreSQL's to back up (pg_dump, a standby), or
// copied to a SQLite file with `authsvc store copy`; both refuse it, saying
// so.

// What a backup holds.
struct BackupContents {
  std::size_t users = 0;
  // The backup's own schema version (a restored one is migrated from it).
  int schema_version = 0;
};

// Copies the store at `location`, as one commit left it, to the file
// `target`, while the server reads and the CLI writes. The copy is one
// file, mode 0600 whatever the umask, written beside `target` under
// another name and renamed to `target` only once complete and through
// SQLite's integrity check: a failed backup leaves nothing under `target`.
// An existing `target` is refused unless `replace`, and so is one of the
// store's own files. Audited in the store as "backup" (the detail: the
// target's absolute path) once the copy is in place, so the copy does not
// hold that event; if it cannot be recorded, the copy stays and StoreError
// says so. Throws StoreError.
BackupContents back_up_store(const StoreLocation& location, const std::string& target,
                             const Actor& actor, bool replace);

// Puts the backup at `backup` in place of the store at `location` (which
// must exist, as for open_store), in one commit: a running server sees an
// ordinary change, and reloads every user (changed_users_since).
//
// It is checked first, on a private copy (the file itself is only read):
// it must pass SQLite's integrity and foreign key checks, have a schema
// version this build knows (older ones are migrated, newer ones refused),
// then have exactly this build's schema (its tables with their columns, its
// indexes, no trigger or view of its own), and users a server can load.
// Otherwise StoreError says why, and the store is left as it was.
//
// The restored store has the backup's audit trail and one more event,
// "restore", numbered after every event the replaced store had: events
// never go back, so a running server misses none made after the restore.
BackupContents restore_store(const StoreLocation& location, const std::string& backup,
                             const Actor& actor);

}  // namespace authsvc
