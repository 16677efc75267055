#include "authsvc/server/lead.h"

#include <fmt/format.h>

#include "authsvc/core/audit_line.h"
#include "authsvc/core/timestamp.h"

namespace authsvc {

LeadChange lead_change(std::optional<bool> before, bool holds_now) {
  if (!before) return holds_now ? LeadChange::taken : LeadChange::standing_by;
  if (*before == holds_now) return LeadChange::none;
  return holds_now ? LeadChange::taken : LeadChange::lost;
}

Lead::Lead(std::unique_ptr<LeadLock> lock, LeadKind kind, std::string actor, std::string program,
           AuditSink& audit)
    : lock_(std::move(lock)),
      kind_(kind),
      actor_(std::move(actor)),
      program_(std::move(program)),
      audit_(audit) {}

bool Lead::check() {
  const bool holds = lock_->hold();
  const LeadChange change = lead_change(before_, holds);
  before_ = holds;
  held_.store(holds, std::memory_order_relaxed);
  if (change == LeadChange::none) return holds;
  const std::string& error = lock_->last_error();
  if (change == LeadChange::standing_by) {
    fmt::print(stderr, "{}: standing by: {}\n", program_,
               error.empty()
                   ? fmt::format("another node holds the {} lead", to_string(kind_))
                   : fmt::format("cannot take the {} lead ({})", to_string(kind_), error));
    return holds;
  }
  AuditEvent event;
  event.ts = rfc3339_utc(std::chrono::system_clock::now());
  event.actor = actor_;
  if (change == LeadChange::taken) {
    taken_.fetch_add(1, std::memory_order_relaxed);
    event.action = "lead taken";
    event.detail = fmt::format("{} lead: this node acts, the others stand by", to_string(kind_));
    fmt::print(stderr, "{}: took the {} lead: this node acts now\n", program_, to_string(kind_));
  } else {
    event.action = "lead lost";
    event.detail = error.empty() ? fmt::format("{} lead: another node holds it", to_string(kind_))
                                 : fmt::format("{} lead: {}", to_string(kind_), error);
    fmt::print(stderr, "{}: lost the {} lead ({}); standing by\n", program_, to_string(kind_),
               error.empty() ? "another node holds it" : error);
  }
  audit_.append(to_json_line(event));
  return holds;
}

}  // namespace authsvc
