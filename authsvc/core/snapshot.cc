#include "authsvc/core/snapshot.h"

#include <utility>

namespace authsvc {

Snapshot::Snapshot(UserTable users, std::shared_ptr<const Rules> rules)
    : users_(std::make_shared<const UserTable>(std::move(users))),
      user_count_(users_->size()),
      rules_(std::move(rules)) {}

namespace {

UserTable table_of(const std::vector<UserRecord>& users) {
  UserTableBuilder builder;
  for (const UserRecord& user : users) builder.add(user.view());
  return builder.build();
}

}  // namespace

Snapshot::Snapshot(const std::vector<UserRecord>& users, std::shared_ptr<const Rules> rules)
    : Snapshot(table_of(users), std::move(rules)) {}

Snapshot::Snapshot(const std::shared_ptr<const Snapshot>& previous,
                   const std::vector<UserChange>& changes)
    : users_(previous->users_),
      changed_(previous->changed_),
      user_count_(previous->user_count_),
      rules_(previous->rules_) {
  for (const UserChange& change : changes) {
    bool was = previous->find_user(change.name).has_value();
    bool is = change.record.has_value();
    user_count_ = user_count_ + (is ? 1 : 0) - (was ? 1 : 0);
    changed_.insert_or_assign(change.name, change.record);
  }
}

std::optional<UserView> Snapshot::find_user(std::string_view name) const {
  if (!changed_.empty()) {
    auto it = changed_.find(name);
    if (it != changed_.end()) {
      if (!it->second) return std::nullopt;
      return it->second->view();
    }
  }
  return users_->find(name);
}

}  // namespace authsvc
