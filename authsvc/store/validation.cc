#include "authsvc/store/validation.h"

#include <fmt/format.h>

#include <set>

#include "authsvc/core/duration.h"
#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
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

void check_owner_address(const std::string& address) {
  auto refuse = [&](std::string_view why) {
    throw StoreError(fmt::format("invalid owner address '{}': {}", printable(address), why));
  };
  if (address.size() < 3 || address.size() > 254) refuse("3 to 254 characters");
  for (unsigned char c : address) {
    if (c <= 0x20 || c >= 0x7f) refuse("printable ASCII only, no spaces or control characters");
    if (std::string_view("\"<>,;()[]\\").find(static_cast<char>(c)) != std::string_view::npos) {
      refuse("no quotes, brackets, commas or semicolons");
    }
  }
  std::size_t at = address.find('@');
  if (at == std::string::npos) refuse("no '@'");
  if (address.find('@', at + 1) != std::string::npos) refuse("more than one '@'");
  if (at == 0 || at + 1 == address.size()) refuse("nothing before or after the '@'");
}

std::vector<std::string> checked_owners(const std::vector<std::string>& owners) {
  std::vector<std::string> result;
  std::set<std::string> seen;
  for (const std::string& owner : owners) {
    check_owner_address(owner);
    if (seen.insert(ascii_lower(owner)).second) result.push_back(owner);
  }
  if (result.empty()) throw StoreError("an account needs at least one owner (--owner ADDRESS)");
  return result;
}

void check_expiry(const std::string& expires_at, const std::string& now) {
  if (expires_at.empty()) return;
  if (!rfc3339_to_unix_ms(expires_at)) {
    throw StoreError(
        fmt::format("invalid expiry '{}': not an RFC 3339 UTC time", printable(expires_at)));
  }
  if (*rfc3339_to_unix_ms(expires_at) <= *rfc3339_to_unix_ms(now)) {
    throw StoreError(fmt::format("the expiry {} is not in the future", expires_at));
  }
}

void check_rotation_grace(std::chrono::seconds grace) {
  // The longest a previous credential may go on logging in.
  constexpr std::chrono::seconds kMaxGrace = std::chrono::days(7);
  if (grace < std::chrono::seconds(0) || grace > kMaxGrace) {
    throw StoreError(
        fmt::format("a grace is 0 to {}; got {}", format_duration(kMaxGrace),
                    grace < std::chrono::seconds(0) ? "a negative one" : format_duration(grace)));
  }
}

void check_api_key_label(const std::string& label) {
  if (label.size() > 100 || has_control(label) || !is_valid_utf8(label)) {
    throw StoreError(fmt::format(
        "invalid label '{}': at most 100 bytes of UTF-8, no control characters", printable(label)));
  }
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
