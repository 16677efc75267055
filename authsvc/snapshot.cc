#include "authsvc/snapshot.h"

#include <algorithm>

namespace authsvc {

bool UserRecord::has_vhost(std::string_view vhost) const {
  return std::find(vhosts.begin(), vhosts.end(), vhost) != vhosts.end();
}

Snapshot::Snapshot(std::vector<UserRecord> users, std::shared_ptr<const Rules> rules)
    : rules_(std::move(rules)) {
  users_.reserve(users.size());
  for (UserRecord& user : users) {
    std::string key = user.name;
    users_.emplace(std::move(key), std::move(user));
  }
}

const UserRecord* Snapshot::find_user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

}  // namespace authsvc
