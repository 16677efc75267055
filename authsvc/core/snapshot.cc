#include "authsvc/core/snapshot.h"

#include <algorithm>

namespace authsvc {

bool UserRecord::has_vhost(std::string_view vhost) const {
  return std::find(vhosts.begin(), vhosts.end(), vhost) != vhosts.end();
}

Snapshot::Snapshot(std::vector<UserRecord> users, std::shared_ptr<const Rules> rules)
    : rules_(std::move(rules)) {
  auto table = std::make_shared<UserTable>();
  table->reserve(users.size());
  for (UserRecord& user : users) {
    std::string key = user.name;
    table->emplace(std::move(key), std::move(user));
  }
  user_count_ = table->size();
  users_ = std::move(table);
}

Snapshot::Snapshot(const std::shared_ptr<const Snapshot>& previous,
                   const std::vector<UserChange>& changes)
    : users_(previous->users_),
      changed_(previous->changed_),
      user_count_(previous->user_count_),
      rules_(previous->rules_) {
  for (const UserChange& change : changes) {
    bool was = previous->find_user(change.name) != nullptr;
    bool is = change.record.has_value();
    user_count_ = user_count_ + (is ? 1 : 0) - (was ? 1 : 0);
    changed_.insert_or_assign(change.name, change.record);
  }
}

const UserRecord* Snapshot::find_user(std::string_view name) const {
  if (!changed_.empty()) {
    auto it = changed_.find(name);
    if (it != changed_.end()) return it->second ? &*it->second : nullptr;
  }
  auto it = users_->find(name);
  return it == users_->end() ? nullptr : &it->second;
}

}  // namespace authsvc
