#pragma once
// An account's report card as its page shows it (guardian/report_card.h):
// the account's exchanges, messages, channels, consumers and queues
// against the Pulse specification, from the broker's listings through the
// web's caches and what the guardian's message sampler recorded.

#include <string>
#include <vector>

#include "authsvc/web/pages.h"
#include "authsvc/web/web_request.h"

namespace authsvc {

struct ReportListing {
  std::vector<ReportRow> rows;
  std::string unavailable;  // why there is no card to show, if so
};

ReportListing report_card_of(Request& request, const UserInfo& account);

}  // namespace authsvc
