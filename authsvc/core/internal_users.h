#pragma once
// The accounts of the broker's internal database that authsvc is asked
// about first (`serve --internal-user NAME`): the operator accounts the
// guardian and the web log in to the management API with, and any other
// account an operator keeps in the broker. With `auth_backends.1 = http`,
// every management API request is a login the broker asks authsvc about
// before its internal backend. authsvc denies these names at once, so that
// the broker goes on to the next backend:
//
//   - without checking a token: an authsvc account of the same name never
//     logs in, so the name means one account, the broker's;
//   - without the login throttle: each of those requests is a login, and
//     counted as failures they would throttle the name every few seconds
//     and bury real token guessing in the throttle's figures.
//
// Immutable once built, so request threads read it without a lock. It
// holds a handful of names: a sorted vector searched in place is cheaper
// than hashing the name, and an empty one costs a size check.

#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

class InternalUsers {
 public:
  InternalUsers() = default;  // none
  // Each name once; the names are not checked here (internal_user_problem).
  explicit InternalUsers(std::vector<std::string> names);

  bool contains(std::string_view name) const;
  bool empty() const { return names_.empty(); }
  // Sorted, each once.
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// Why `name` cannot be an internal user: empty if it can be. Not
// user_name_problem's pattern: the broker's internal database takes names
// an authsvc account may not have (`ops@example.org`), and those logins
// reach authsvc too. What the broker can send: 1 to 255 bytes of UTF-8
// without control characters.
std::string internal_user_problem(std::string_view name);

}  // namespace authsvc
