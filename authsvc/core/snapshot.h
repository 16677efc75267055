#pragma once
// An immutable view of everything a decision needs: the users and the
// compiled rules. Built once, then shared by all request threads without
// locks (like leveldb's Snapshot); a change makes a new one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authsvc/core/credential.h"
#include "authsvc/core/rules.h"

namespace authsvc {

struct UserRecord {
  std::string name;
  Credential credential;  // the current one
  // During a rotation's grace: the credential before, valid until then.
  std::optional<Credential> previous;
  std::chrono::system_clock::time_point previous_valid_until{};
  // After this, the account neither logs in nor is allowed anything.
  std::optional<std::chrono::system_clock::time_point> expires_at;
  bool active = false;
  std::string tags;                 // space-joined, as the broker wants them
  std::vector<std::string> vhosts;  // granted vhosts

  bool has_vhost(std::string_view vhost) const;
};

// A user changed since a snapshot: its new record, or nullopt once deleted.
struct UserChange {
  std::string name;
  std::optional<UserRecord> record;
};

class Snapshot {
 public:
  Snapshot(std::vector<UserRecord> users, std::shared_ptr<const Rules> rules);
  // `previous` with `changes` applied. The result shares previous's big
  // table of users and keeps only the changed users itself, so that one
  // CLI change costs in proportion to what changed, not to all users.
  Snapshot(const std::shared_ptr<const Snapshot>& previous, const std::vector<UserChange>& changes);

  const UserRecord* find_user(std::string_view name) const;
  const Rules& rules() const { return *rules_; }
  std::size_t user_count() const { return user_count_; }
  // How many users differ from the shared table (0 for a full snapshot).
  std::size_t changed_count() const { return changed_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using UserTable = std::unordered_map<std::string, UserRecord, Hash, std::equal_to<>>;

  std::shared_ptr<const UserTable> users_;  // shared by the snapshots built on it
  std::unordered_map<std::string, std::optional<UserRecord>, Hash, std::equal_to<>> changed_;
  std::size_t user_count_ = 0;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace authsvc
