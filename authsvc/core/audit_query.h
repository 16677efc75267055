#pragma once
// Which audit lines `authsvc audit` selects: those that meet every
// condition given (a condition not given is met by every line).
//
//   user      the line's "user", exactly: on a decision line the account
//             that asked, on a management or web line the account acted on.
//             Not the operator.
//   decision  allow or deny, which split every line in two: deny is what
//             was refused (a decision line's deny, a web line's denied);
//             allow is everything else (a decision line's allow, and every
//             management and web action done, "ok").
//   rule      a decision line's "rule", exactly; no other line has one.
//   endpoint  a decision line's "endpoint" (user, vhost, resource, topic),
//             exactly; no other line has one.
//   node      the line's "node", exactly: the process that wrote it. A line
//             from before nodes had names has none and never matches.
//   since     "ts" at or after it,
//   until     "ts" before it: windows [since, until) follow one another
//             without a line in two of them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authsvc/core/audit_line_scan.h"

namespace authsvc {

enum class Verdict { allow, deny };

struct AuditQuery {
  std::optional<std::string> user;
  std::optional<Verdict> decision;
  std::optional<std::string> rule;
  std::optional<std::string> endpoint;
  std::optional<std::string> node;
  std::optional<std::int64_t> since_us;  // microseconds since the epoch
  std::optional<std::int64_t> until_us;

  bool matches(const AuditLineView& line) const;
};

// deny for a refusal (deny, denied), allow for the rest.
Verdict verdict_of(AuditDecision decision);

// A bound for `since` or `until` as an operator types it: an RFC 3339 time
// with a "Z" or an offset, or a date (its start in UTC), as parse_when
// reads them; or a duration meaning that long before `now` ("2h": two hours
// ago), which is what one means when looking back. In microseconds since
// the epoch; nullopt and *error (one line) for anything else.
std::optional<std::int64_t> parse_audit_time(std::string_view text,
                                             std::chrono::system_clock::time_point now,
                                             std::string* error);

}  // namespace authsvc
