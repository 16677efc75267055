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

#include "authsvc/core/rules.h"
#include "authsvc/core/user_table.h"

namespace authsvc {

// A user changed since a snapshot: its new record, or nullopt once deleted.
struct UserChange {
  std::string name;
  std::optional<UserRecord> record;
};

class Snapshot {
 public:
  // A full snapshot: `users` become its big table (user_table.h).
  Snapshot(UserTable users, std::shared_ptr<const Rules> rules);
  // The same, built from records: what tests and small tools have.
  Snapshot(const std::vector<UserRecord>& users, std::shared_ptr<const Rules> rules);
  // `previous` with `changes` applied. The result shares previous's big
  // table of users and keeps only the changed users itself, so that one
  // CLI change costs in proportion to what changed, not to all users.
  Snapshot(const std::shared_ptr<const Snapshot>& previous, const std::vector<UserChange>& changes);

  // A view into this snapshot: valid as long as it is.
  std::optional<UserView> find_user(std::string_view name) const;
  const Rules& rules() const { return *rules_; }
  std::size_t user_count() const { return user_count_; }
  // How many users differ from the shared table (0 for a full snapshot).
  std::size_t changed_count() const { return changed_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::shared_ptr<const UserTable> users_;  // shared by the snapshots built on it
  std::unordered_map<std::string, std::optional<UserRecord>, Hash, std::equal_to<>> changed_;
  std::size_t user_count_ = 0;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace authsvc
