#pragma once
// What `authsvc import definitions` does with each user of a RabbitMQ
// definitions file: import it with its password hash, tags and vhosts, or
// skip it with a reason. Nobody is dropped silently: every user of the file
// is either imported or named among the skipped.
//
// Skipped, and the import goes on:
//   - a name authsvc does not accept (core/names.h);
//   - the broker's operator accounts (tag `administrator`): they stay in
//     the broker's internal database (auth_backends.2 = internal);
//   - a hashing algorithm authsvc does not know, or no password at all:
//     imported, such a user could never log in;
//   - a user authsvc already has: left as it is;
//   - a user with permissions on no vhost: the broker lets it into none,
//     and an authsvc user has at least one.
// Refused as a whole (Error): a hash that is not base64 or has the wrong
// length for its algorithm, or a name given twice. The file is damaged, and
// importing the rest of it would trust it.

#include <functional>
#include <string>
#include <vector>

#include "authsvc/import/definitions.h"
#include "authsvc/store/records.h"

namespace authsvc {

struct SkippedUser {
  std::string name;
  std::string reason;
};

// Something the import changes or leaves out for a user it imports, e.g.
// a tag authsvc cannot keep.
struct ImportNote {
  std::string name;
  std::string text;
};

struct ImportPlan {
  std::vector<ImportedUser> users;   // sorted by name
  std::vector<SkippedUser> skipped;  // sorted by name
  std::vector<ImportNote> notes;     // by name, then as found
};

// `exists` says whether authsvc already has a user of that name. Throws
// Error with one line naming the user if the file is damaged.
ImportPlan plan_import(const Definitions& definitions,
                       const std::function<bool(const std::string&)>& exists);

// The algorithm RabbitMQ assumes for a user without `hashing_algorithm`:
// MD5 in exports of 3.0 to 3.5, SHA-256 otherwise (the default module).
std::string default_hashing_algorithm(const std::string& rabbit_version);

}  // namespace authsvc
