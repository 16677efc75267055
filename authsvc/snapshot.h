#pragma once
// An immutable view of everything a decision needs: the users and the
// compiled rules. Built once, then shared by all request threads without
// locks (like leveldb's Snapshot); a change makes a new one.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authsvc/rules.h"
#include "authsvc/token.h"

namespace authsvc {

struct UserRecord {
  std::string name;
  TokenHash token_hash{};
  bool active = false;
  std::string tags;                 // space-joined, as the broker wants them
  std::vector<std::string> vhosts;  // granted vhosts

  bool has_vhost(std::string_view vhost) const;
};

class Snapshot {
 public:
  Snapshot(std::vector<UserRecord> users, std::shared_ptr<const Rules> rules);

  const UserRecord* find_user(std::string_view name) const;
  const Rules& rules() const { return *rules_; }
  std::size_t user_count() const { return users_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, UserRecord, Hash, std::equal_to<>> users_;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace authsvc
