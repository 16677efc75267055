#pragma once
// The message sampler's mails to an exchange's owners: which violations
// are due one (pure), and its words. One mail per exchange per kind per
// period (a day by default), recorded in the store with the count it
// reported (ExchangeSampleStore::record_violation_mail), so that neither a
// restart nor another node taking the lead sends it twice.

#include <chrono>
#include <string>
#include <vector>

#include "authsvc/store/records.h"

namespace authsvc {

struct ViolationMailDue {
  ResourceKey exchange;
  ExchangeViolationRecord violation;
  std::int64_t inspected = 0;  // all told on the exchange
};

// The violations of `samples` seen more often than their last mail
// reported, whose last mail (if any) is at least `period` before `now`.
std::vector<ViolationMailDue> violation_mails_due(const std::vector<ExchangeSample>& samples,
                                                  std::chrono::system_clock::time_point now,
                                                  std::chrono::seconds period);

// The mail about `due` to each of `emails`, the owners of account `owner`:
// the kind in the subject, the rule it breaks quoted from the
// specification, the count since the last mail, and one example (routing
// key, content type, size, the payload's first bytes), escaped.
std::vector<OutboxMail> violation_mails(const ViolationMailDue& due, const std::string& owner,
                                        const std::vector<std::string>& emails,
                                        std::chrono::seconds period);

}  // namespace authsvc
