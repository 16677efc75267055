#pragma once
// One account against the Pulse specification: each MUST and SHOULD that
// can be seen from outside, from the broker's listings and what the
// guardian's message sampler recorded, with whether it is met and the
// evidence. Pure: the listings in, the items out (samples_of, below, is
// the store's part). `authsvc report ACCOUNT` prints it, and the account's
// page on the web shows it.
//
// Left out, because nothing outside the client can see them: messages MUST
// NOT contain private information; deliver-at-least-once semantics; and
// the documentation a publisher owes when its messages are not durable.
// Open channels and consumers are all the broker lists: a client that is
// not connected has nothing to show there ("not seen", never "met").

#include <string>
#include <string_view>
#include <vector>

#include "authsvc/guardian/broker_records.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/store/records.h"
#include "authsvc/store/store.h"

namespace authsvc {

enum class Obligation { must, should };

enum class Standing {
  met,
  not_met,
  not_seen,  // nothing to judge by: no exchange, no message sampled, no consumer...
};

std::string_view to_string(Obligation obligation);  // "MUST", "SHOULD"
std::string_view to_string(Standing standing);      // "met", "NOT MET", "not seen"

struct ReportItem {
  std::string subject;  // "Exchanges", "Messages", "Publishers", "Queues", "Consumers"
  Obligation obligation = Obligation::must;
  std::string rule;  // the specification's words, after the subject
  Standing standing = Standing::not_seen;
  // Why: counts and the names that fail it, each line one fact.
  std::vector<std::string> evidence;
};

struct ReportCardInput {
  std::string account;
  std::vector<ExchangeInfo> exchanges;
  std::vector<ExchangeSample> samples;
  std::vector<ChannelInfo> channels;
  std::vector<ConsumerInfo> consumers;
  // The broker's queues as the guardian classifies them (queue_statuses).
  std::vector<QueueStatus> queues;
};

// The items, in the specification's order; only `account`'s exchanges,
// queues, channels and consumers count.
std::vector<ReportItem> report_card(const ReportCardInput& input);

// Whether any MUST is not met.
bool breaks_a_must(const std::vector<ReportItem>& card);

// What the sampler recorded of `account`'s exchanges among `exchanges`:
// the samples ReportCardInput needs, read one exchange at a time rather
// than every exchange's (an account has few; the bus, thousands). The one
// function here that reads: the store.
std::vector<ExchangeSample> samples_of(const std::string& account,
                                       const std::vector<ExchangeInfo>& exchanges,
                                       ExchangeSampleStore& store);

}  // namespace authsvc
