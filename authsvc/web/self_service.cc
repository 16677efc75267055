#include "authsvc/web/self_service.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>

#include "authsvc/core/duration.h"
#include "authsvc/core/names.h"
#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/words.h"
#include "authsvc/store/validation.h"
#include "authsvc/web/sign_in_policy.h"
#include "authsvc/web/web_error.h"

namespace authsvc {
namespace {

// The store's checks say what is wrong with a value someone typed: a 400.
template <typename Check>
void as_bad_request(Check&& check) {
  try {
    check();
  } catch (const StoreError& e) {
    throw WebError(400, e.what());
  }
}

// Names differ by case (the broker's do), but "Taskcluster-x" is meant by
// "taskcluster-.*" as much as "taskcluster-x" is.
RE2::Options reserve_options() {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  return options;
}

WebError no_such_account(const std::string& name) {
  return WebError(404, fmt::format("no such account '{}'", printable(name)));
}

}  // namespace

std::string reserve_pattern_problem(const std::string& pattern) {
  RE2 re(pattern, reserve_options());
  return re.ok() ? "" : re.error();
}

bool is_reserved(const std::string& name, const std::vector<std::string>& patterns) {
  for (const std::string& pattern : patterns) {
    RE2 re(pattern, reserve_options());
    // A pattern that does not compile reserves everything: fail closed.
    if (!re.ok() || RE2::FullMatch(name, re)) return true;
  }
  return false;
}

bool outlived(const ApiKeyInfo& key, std::chrono::seconds lifetime,
              std::chrono::system_clock::time_point now) {
  std::optional<std::int64_t> created_ms = rfc3339_to_unix_ms(key.created_at);
  return !created_ms ||
         std::chrono::system_clock::time_point(std::chrono::milliseconds(*created_ms)) + lifetime <=
             now;
}

bool owned_by(const UserInfo& info, const std::string& address) {
  std::string wanted = ascii_lower(address);
  return std::any_of(info.owners.begin(), info.owners.end(),
                     [&](const std::string& owner) { return ascii_lower(owner) == wanted; });
}

SelfService::SelfService(Store& store, Person person, const WebOptions& options,
                         std::chrono::system_clock::time_point now)
    : store_(store), person_(std::move(person)), options_(options), now_(now) {}

std::vector<UserInfo> SelfService::my_accounts() { return store_.users_owned_by(person_.address); }

UserInfo SelfService::my_account(const std::string& name) {
  std::optional<UserInfo> info = store_.find_user(name);
  if (!info || !owned_by(*info, person_.address)) throw no_such_account(name);
  return *info;
}

std::string SelfService::create(const std::string& name, const std::string& expires) {
  std::string problem = user_name_problem(name);
  if (!problem.empty()) {
    throw WebError(400, fmt::format("the name '{}' cannot be used: {}", printable(name), problem));
  }
  if (name == "new") {
    throw WebError(400,
                   "the name 'new' cannot be used here: /accounts/new is the form for a new "
                   "account");
  }
  if (!person_.admin && is_reserved(name, options_.reserve)) {
    throw WebError(403, fmt::format("the name '{}' is reserved: only an admin may create it",
                                    printable(name)));
  }
  std::string expires_at = expiry_from(expires);
  if (store_.find_user(name)) {
    throw WebError(409, fmt::format("the name '{}' is taken", printable(name)));
  }
  if (!person_.admin && store_.was_deleted(name)) {
    throw WebError(409, fmt::format("the name '{}' belonged to an account that was deleted: its "
                                    "queues and old scripts may still be about, so only an admin "
                                    "may create it again",
                                    printable(name)));
  }
  // Counted by who made them, not who owns them now: handing accounts to
  // another owner makes no room, and nobody fills another's quota.
  if (!person_.admin &&
      store_.accounts_created_by(person_.address) >= options_.accounts_per_person) {
    throw WebError(403, fmt::format("you have made {} accounts that still exist, the most one "
                                    "person may make here: delete one, or ask an admin",
                                    options_.accounts_per_person));
  }
  NewUser user{name, {person_.address}, {}, options_.vhosts, expires_at};
  try {
    return store_.add_user(user);
  } catch (const StoreError&) {
    // Checked above; taken in between by someone else.
    if (store_.find_user(name)) {
      throw WebError(409, fmt::format("the name '{}' is taken", printable(name)));
    }
    throw;
  }
}

std::string SelfService::rotate(const std::string& name, const std::string& grace,
                                const std::optional<std::string>& replacing) {
  WebError replaced(409,
                    "The token was rotated already, after the form you sent was shown (a reload "
                    "of the new token's page, or a second click?): nothing was changed. The "
                    "newest token is the one shown then.");
  // Not mine: 404, before anything else is said about it.
  const UserInfo account = my_account(name);
  if (replacing && account.credential_issued_at != *replacing) throw replaced;
  std::optional<std::chrono::seconds> parsed = parse_duration(grace.empty() ? "0" : grace);
  if (!parsed) {
    throw WebError(
        400, fmt::format("grace: '{}' is not a duration (0, 90s, 30m, 2h, 7d)", printable(grace)));
  }
  as_bad_request([&] { check_rotation_grace(*parsed); });
  return on_mine(name, [&] {
    try {
      return store_.rotate_token(name, *parsed, replacing);
    } catch (const StoreError&) {
      // Another rotation got in first, in the moment since the check.
      if (replacing && my_account(name).credential_issued_at != *replacing) throw replaced;
      throw;
    }
  });
}

void SelfService::add_owner(const std::string& name, const std::string& address) {
  my_account(name);
  as_bad_request([&] { check_owner_address(address); });
  // An owner is someone who could sign in here and see the account.
  if (!domain_allowed(address, options_)) {
    throw WebError(400, fmt::format("'{}' cannot be an owner: owners' addresses are in {}",
                                    printable(address), join_words(options_.allow_domains, ", ")));
  }
  on_mine(name, [&] { store_.add_owner(name, address); });
}

void SelfService::remove_owner(const std::string& name, const std::string& address) {
  UserInfo info = my_account(name);
  if (!owned_by(info, address)) {
    throw WebError(
        404, fmt::format("'{}' is not an owner of '{}'", printable(address), printable(name)));
  }
  if (info.owners.size() == 1) {
    throw WebError(409, fmt::format("'{}' is the last owner of '{}': add another owner first",
                                    printable(address), printable(name)));
  }
  on_mine(name, [&] {
    try {
      store_.remove_owner(name, address);
    } catch (const StoreError&) {
      // Another owner was removed meanwhile: this one is the last now.
      if (my_account(name).owners.size() == 1) {
        throw WebError(409, fmt::format("'{}' is the last owner of '{}': add another owner first",
                                        printable(address), printable(name)));
      }
      throw;
    }
  });
}

void SelfService::remove(const std::string& name) {
  my_account(name);
  on_mine(name, [&] { store_.delete_user(name); });
}

NewApiKey SelfService::create_api_key(const std::string& label, const std::string& expires,
                                      std::optional<std::int64_t> newest_seen) {
  const std::chrono::system_clock::time_point longest = now_ + options_.api_key_lifetime;
  std::string expires_at = expiry_from(expires);
  if (expires_at.empty() && !expires.empty()) {
    throw WebError(400, fmt::format("expires: an API key must end, within {}",
                                    format_duration(options_.api_key_lifetime)));
  }
  if (expires_at.empty()) {
    expires_at = rfc3339_utc(longest);
  } else if (!has_passed(expires_at, longest)) {
    throw WebError(400, fmt::format("expires: an API key lives at most {}",
                                    format_duration(options_.api_key_lifetime)));
  }
  std::vector<ApiKeyInfo> keys = store_.api_keys_of(person_.address);  // newest first
  if (newest_seen && (keys.empty() ? 0 : keys.front().id) != *newest_seen) {
    throw WebError(409,
                   "A key was made after the form you sent was shown (a reload of the new key's "
                   "page, or a second click?): no other key was made.");
  }
  std::size_t live_keys = 0;
  for (const ApiKeyInfo& key : keys) {
    bool live = key.revoked_at.empty() && !has_passed(key.expires_at, now_) &&
                !outlived(key, options_.api_key_lifetime, now_);
    if (live) ++live_keys;
  }
  if (live_keys >= options_.api_keys_per_person) {
    throw WebError(403, fmt::format("you have {} live API keys, the most one person may have: "
                                    "revoke one first",
                                    options_.api_keys_per_person));
  }
  as_bad_request([&] { check_api_key_label(label); });
  return store_.add_api_key(person_.address, label, expires_at);
}

WebAccessEnded SelfService::end_web_access(const std::string& address) {
  require_admin();
  as_bad_request([&] { check_owner_address(address); });
  return store_.end_web_access(address);
}

std::string SelfService::expiry_from(const std::string& expires) {
  if (expires.empty()) return "";
  std::string error;
  std::optional<When> when = parse_when(expires, now_, &error);
  if (!when) throw WebError(400, "expires: " + error);
  std::string expires_at;
  if (const auto* at = std::get_if<std::chrono::system_clock::time_point>(&*when)) {
    expires_at = rfc3339_utc(*at);
  }
  as_bad_request([&] { check_expiry(expires_at, rfc3339_utc(now_)); });
  return expires_at;
}

void SelfService::require_admin() {
  if (!person_.admin) throw WebError(404, "no such page");
}

std::vector<UserInfo> SelfService::all_accounts() {
  require_admin();
  return store_.list_users();
}

void SelfService::set_active(const std::string& name, bool active) {
  require_admin();
  if (!store_.find_user(name)) throw no_such_account(name);
  store_.set_active(name, active);
}

}  // namespace authsvc
