#include "authsvc/core/internal_users.h"

#include <algorithm>
#include <functional>

#include "authsvc/core/text.h"

namespace authsvc {

InternalUsers::InternalUsers(std::vector<std::string> names) : names_(std::move(names)) {
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
}

bool InternalUsers::contains(std::string_view name) const {
  if (names_.empty()) return false;
  return std::binary_search(names_.begin(), names_.end(), name, std::less<>{});
}

std::string internal_user_problem(std::string_view name) {
  if (name.empty()) return "a user name cannot be empty";
  // The longest AMQP short string: the broker sends no longer name.
  if (name.size() > 255) return "a user name has at most 255 bytes";
  if (has_control(name)) return "a user name cannot hold control characters";
  if (!is_valid_utf8(name)) return "a user name must be UTF-8";
  return {};
}

}  // namespace authsvc
