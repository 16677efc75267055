#pragma once
// A lead: at most one holder at a time among every process that uses one
// store, for the work only one node may do (the guardian's actions and
// mail; copying the store's audit events into an audit log). Everyone
// else stands by and asks again later; whoever asks first after the
// holder is gone takes it.
//
// PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on a
// connection of the lock's own. The server keeps it exactly as long as
// that connection lives: a holder that exits, is killed (SIGKILL) or whose
// connection is lost no longer holds it, and the server gives it to the
// next to ask. Locks are per database, so stores in other databases of the
// same server do not share a lead.
//
// SQLite: an exclusive flock(2) on a file beside the database,
// DB-<kind>-lead.lock, held while the process keeps it open. A SQLite
// store is one file on one host, and several processes may still use it
// at once (two guardians started by mistake): the file lock gives them one
// lead as the advisory lock does, and a process alone on its file always
// holds it. (serve asks for the audit export lead on PostgreSQL only.)
//
// The holder asks again before each thing it does as the lead (hold()):
// that confirms the lock is still there (PostgreSQL: one query on the
// lock's connection), so a holder that lost its connection stops before
// its next action rather than after another node began.

#include <cstdint>
#include <memory>
#include <string>

#include "authsvc/store/store.h"

namespace authsvc {

enum class LeadKind {
  guardian,      // the guardian's looks, actions and mail
  audit_export,  // serve's copy of the store's audit events
};
const char* to_string(LeadKind kind);

class LeadLock {
 public:
  virtual ~LeadLock() = default;
  // Whether this process holds the lead now: takes it if it is free,
  // confirms it if held. Never throws: a database that cannot be reached
  // means the lead is not held (the reason in last_error()), and the next
  // call connects again.
  virtual bool hold() = 0;
  // Why the last hold() that failed did, "" if none did since.
  virtual const std::string& last_error() const = 0;
  // Gives the lead up, if held: the next hold() takes it again if free.
  // PostgreSQL lets go as the lock's session ends, a moment after this
  // closes it.
  virtual void release() noexcept = 0;
};

// The lock of `kind` for the store at `location`. Connects on the first
// hold(), not here.
std::unique_ptr<LeadLock> open_lead_lock(const StoreLocation& location, LeadKind kind);

// The advisory lock key of each lead on PostgreSQL: "authsv" and a
// letter, apart from PgDatabase::kWriteLockKey ("authsvc\0").
inline constexpr std::int64_t kGuardianLeadKey = 0x6175746873760047;     // "authsv\0G"
inline constexpr std::int64_t kAuditExportLeadKey = 0x6175746873760045;  // "authsv\0E"

// Where the SQLite lock file of `kind` is for the database at `db_path`:
// beside it, with symbolic links resolved.
std::string lead_lock_path(const std::string& db_path, LeadKind kind);

}  // namespace authsvc
