#pragma once
// What a signed-in person may do with accounts, for the pages and the JSON
// API alike: one set of rules, each action checked here.
//
// - A person sees and changes only the accounts they own. Another's account
//   is "no such account" (404), as one that does not exist, so that what
//   an account holds cannot be probed. Admins see every account on the admin page, and
//   disable and enable any; they own no more than anyone else.
// - A new account's only owner is its creator; its vhosts are the web's.
//   Its name follows the naming rules (400, saying why), is not "new" (the
//   form's path), is not taken (409: creating tells whether a name exists,
//   limited per person by the app), and is not reserved (--reserve, any
//   case) unless an admin creates it. Nor, unless an admin creates it, is
//   it the name of an account that was deleted: the broker may still hold
//   its queues and exchanges, and its old owners' scripts may still log in
//   as it. A person makes at most accounts_per_person accounts (that still
//   exist; counted by who made them, whoever owns them now). A co-owner's
//   address is in --allow-domain, as a person's who signs in is.
// - API keys act as the person who made them; each ends (at most
//   api_key_lifetime, which is also the default), and a person holds at
//   most api_keys_per_person live ones.
// - Times come in as people type them: an expiry as "30d" or an RFC 3339
//   time, a grace as "0", "30m", "2h" (at most 7 days).
//
// Every change goes through the store, in one transaction with its audit
// event, as the person (Actor "web", their address). Errors are WebErrors
// with the status to answer.

#include <chrono>
#include <string>
#include <vector>

#include "authsvc/store/store.h"
#include "authsvc/web/web_options.h"

namespace authsvc {

struct Person {
  std::string address;  // verified
  bool admin = false;
};

class SelfService {
 public:
  SelfService(Store& store, Person person, const WebOptions& options,
              std::chrono::system_clock::time_point now);

  std::vector<UserInfo> my_accounts();
  // One of mine; 404 otherwise.
  UserInfo my_account(const std::string& name);
  // The new account's token.
  std::string create(const std::string& name, const std::string& expires);
  // The new token; the old one logs in for `grace` more. With `replacing`
  // (the credential_issued_at the person saw), a 409 if the credential was
  // replaced since: a form sent twice rotates once.
  std::string rotate(const std::string& name, const std::string& grace,
                     const std::optional<std::string>& replacing = std::nullopt);
  void add_owner(const std::string& name, const std::string& address);
  // Removing the last owner is a 409: an account always has someone to tell.
  void remove_owner(const std::string& name, const std::string& address);
  void remove(const std::string& name);

  // A new key acting as me; `expires` as for an account ("": the longest
  // life allowed). With `newest_seen` (the id of my newest key when the
  // form was shown, 0 for none), a 409 if a key was made since: a form sent
  // twice makes one key.
  NewApiKey create_api_key(const std::string& label, const std::string& expires,
                           std::optional<std::int64_t> newest_seen = std::nullopt);

  // Admins only (404 for anyone else, as if there were no such thing).
  std::vector<UserInfo> all_accounts();
  void set_active(const std::string& name, bool active);
  // Ends the sessions and revokes the keys of `address`.
  WebAccessEnded end_web_access(const std::string& address);

 private:
  void require_admin();
  // An expiry as typed, as RFC 3339 ("" for "never"), in the future.
  std::string expiry_from(const std::string& expires);
  // Runs a change to one of my accounts, checked as mine just before. The
  // check and the change are two transactions: if the change fails because
  // the account went, or stopped being mine, in between, that is the 404 it
  // would have been a moment later, not a failure of the store.
  template <typename Change>
  auto on_mine(const std::string& name, Change&& change) {
    try {
      return change();
    } catch (const StoreError&) {
      my_account(name);
      throw;
    }
  }

  Store& store_;
  Person person_;
  const WebOptions& options_;
  std::chrono::system_clock::time_point now_;
};

// Whether `key` is older than `lifetime` (--api-key-lifetime), whatever its
// own expiry says; a key whose creation time does not read is.
bool outlived(const ApiKeyInfo& key, std::chrono::seconds lifetime,
              std::chrono::system_clock::time_point now);

// Whether `info` lists `address` among its owners (compared without case).
bool owned_by(const UserInfo& info, const std::string& address);

// --reserve: whether `name` matches one of `patterns` (RE2, the whole name,
// without regard to case); a pattern that does not compile matches every
// name. Why a pattern does not compile, or "" (checked at start-up).
bool is_reserved(const std::string& name, const std::vector<std::string>& patterns);
std::string reserve_pattern_problem(const std::string& pattern);

}  // namespace authsvc
