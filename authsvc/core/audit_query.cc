#include "authsvc/core/audit_query.h"

#include <variant>

#include "authsvc/core/duration.h"
#include "authsvc/core/text.h"

namespace authsvc {

Verdict verdict_of(AuditDecision decision) {
  return decision == AuditDecision::deny || decision == AuditDecision::denied ? Verdict::deny
                                                                              : Verdict::allow;
}

bool AuditQuery::matches(const AuditLineView& line) const {
  // The cheap tests first: most lines fail one of them.
  if (since_us && line.ts_us < *since_us) return false;
  if (until_us && line.ts_us >= *until_us) return false;
  if (decision && verdict_of(line.decision) != *decision) return false;
  if (user && !line.user.equals(*user)) return false;
  if (rule && !(line.has_rule && line.rule.equals(*rule))) return false;
  if (endpoint && !(line.kind == AuditLineKind::decision && line.endpoint.equals(*endpoint))) {
    return false;
  }
  if (node && !(line.has_node && line.node.equals(*node))) return false;
  return true;
}

std::optional<std::int64_t> parse_audit_time(std::string_view text,
                                             std::chrono::system_clock::time_point now,
                                             std::string* error) {
  using std::chrono::microseconds;
  std::chrono::system_clock::time_point when;
  if (std::optional<std::chrono::seconds> ago = parse_duration(text)) {
    when = now - *ago;
  } else {
    std::optional<When> parsed = text == "never" ? std::nullopt : parse_when(text, now, error);
    if (!parsed) {
      *error = "'" + printable(text) +
               "' is not a time: give an RFC 3339 time (2027-01-31T12:00:00Z), a date "
               "(2027-01-31, its start in UTC) or a duration before now (90m, 12h, 7d)";
      return std::nullopt;
    }
    when = std::get<std::chrono::system_clock::time_point>(*parsed);
  }
  return std::chrono::floor<microseconds>(when.time_since_epoch()).count();
}

}  // namespace authsvc
