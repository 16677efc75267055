#pragma once
// The owners of imported accounts, as PulseGuardian knew them: a CSV file of
// `account,email` lines (the README gives the query that exports them from
// PulseGuardian's database). A first line `account,email` is a header; a
// UTF-8 byte order mark, blank lines, a CR before each LF and fields
// wholly in double quotes (with "" for a quote) are accepted, as
// spreadsheets write them.
//
// Every line is checked, and each problem is reported with its line
// number, so that an operator fixes a file in one pass; `authsvc import
// owners` imports nothing unless there is no problem at all.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/store/records.h"

namespace authsvc {

struct OwnerLine {
  std::size_t line = 0;  // 1-based, in the file
  OwnerGrant grant;
};

struct OwnersError {
  std::size_t line = 0;
  std::string reason;  // one line, values quoted printable
};

struct OwnersFile {
  std::vector<OwnerLine> grants;
  std::vector<OwnersError> errors;  // in line order; empty when every line is valid
};

// The lines of `text`: a line with a missing or extra column, an account
// name authsvc cannot accept, or an address check_owner_address refuses
// (no '@', a control character...) is an error.
OwnersFile parse_owners_csv(std::string_view text);

// Adds an error, with its line number, for each grant whose account
// `exists` does not know, and sorts the errors by line.
void check_owner_accounts(OwnersFile& file, const std::function<bool(const std::string&)>& exists);

inline constexpr std::uintmax_t kMaxOwnersFileBytes = 64u << 20;

}  // namespace authsvc
