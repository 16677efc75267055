#include "authsvc/store/validation.h"

#include <fmt/format.h>

#include <set>

#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/store/store.h"

namespace authsvc {

void check_user_name(const std::string& name) {
  std::string problem = user_name_problem(name);
  if (!problem.empty()) {
    throw StoreError(fmt::format("invalid user name '{}': {}", printable(name), problem));
  }
}

std::vector<std::string> checked_tags(const std::vector<std::string>& tags) {
  std::set<std::string> unique;
  for (const std::string& tag : tags) {
    if (!is_valid_tag(tag)) {
      throw StoreError(fmt::format(
          "invalid tag '{}': 1 to 64 letters, digits, '.', '_', '-' or ':'", printable(tag)));
    }
    unique.insert(tag);
  }
  return {unique.begin(), unique.end()};
}

std::vector<std::string> checked_vhosts(const std::vector<std::string>& vhosts) {
  std::set<std::string> unique;
  for (const std::string& vhost : vhosts) {
    if (!is_valid_vhost(vhost)) {
      throw StoreError(fmt::format("invalid vhost '{}': 1 to 255 bytes, no control characters",
                                   printable(vhost)));
    }
    unique.insert(vhost);
  }
  if (unique.empty()) throw StoreError("a user needs at least one vhost");
  return {unique.begin(), unique.end()};
}

void check_queue_threshold_values(const UserUpdate& update) {
  for (const auto* limit : {&update.queue_warn, &update.queue_delete}) {
    if (*limit && **limit && ***limit <= 0) {
      throw StoreError("queue thresholds are counts of messages, above 0");
    }
  }
}

void check_queue_thresholds(std::optional<std::int64_t> warn, std::optional<std::int64_t> remove) {
  if (warn && remove && *warn >= *remove) {
    throw StoreError(fmt::format(
        "the warning threshold ({}) must be below the deletion threshold ({})", *warn, *remove));
  }
}

}  // namespace authsvc
