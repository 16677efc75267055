#pragma once
// What changes for a user when authsvc's rules replace the broker's regex
// permissions: for every imported user and every vhost it has permissions
// on, the broker's answer (its configure/write/read regexes and topic
// permissions, broker_regex.h) is compared with the rules' over sample
// names, and each sample where they differ is reported.
//
// The samples, for user U:
//   - templates, for each resource kind: U's own names (exchange/U/x,
//     queue/U/x, and the edge cases exchange/U/ and exchange/U), another
//     user's, names without a user part (exchange/x, x), a queue named like
//     an exchange and the reverse, amq.default (the default exchange, as
//     the broker checks it), amq.topic, and a server-named amq.gen-... queue;
//   - every exchange and queue the file defines in that vhost.
// Each with configure, write and read. Topic permissions are compared where
// they matter: when both sides allow the resource check on an exchange (the
// broker asks for a topic check only after it), over routing keys from the
// file's bindings and a few others if the user has topic permissions in
// that vhost. authsvc's rules do not look at routing keys.
//
// Vhost access is not compared: an imported user gets exactly the vhosts
// it has permissions on in the broker (import_plan.h).

#include <cstddef>
#include <string>
#include <vector>

#include "authsvc/core/auth_request.h"
#include "authsvc/import/definitions.h"

namespace authsvc {

class Rules;

struct PermissionDifference {
  std::string user;
  std::string vhost;
  ResourceKind resource = ResourceKind::exchange;
  Permission permission = Permission::read;
  std::string name;         // as checked: "amq.default" for the default exchange
  std::string routing_key;  // topic only
  // The name with the user's own name shown as <user> and the other user
  // of the templates as <other>: the same for every user whose regexes
  // have the same shape, so that a report can group them.
  std::string pattern;
  bool broker_allows = false;  // and authsvc denies; false: the reverse
};

struct PermissionComparison {
  std::vector<PermissionDifference> differences;  // by user, vhost, then sample
  // Lines about what could not be compared (a regex RE2 cannot compile).
  std::vector<std::string> problems;
  std::size_t checks = 0;       // how many answers were compared
  std::size_t user_vhosts = 0;  // how many (user, vhost) pairs
};

// `users`: the names to compare (those being imported). The other user of
// the templates is a name not among them.
PermissionComparison compare_permissions(const Definitions& definitions,
                                         const std::vector<std::string>& users, const Rules& rules);

}  // namespace authsvc
