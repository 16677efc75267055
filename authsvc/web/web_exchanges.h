#pragma once
// The exchange directory as the web shows it (guardian/exchange_directory.h):
// every Pulse exchange the broker lists, with what the guardian's message
// sampler recorded of it. Any signed-in person may read it: it is the
// specification's list of Pulse exchanges, which consumers need.

#include <optional>
#include <string>
#include <vector>

#include "authsvc/guardian/exchange_directory.h"
#include "authsvc/web/pages.h"
#include "authsvc/web/web_request.h"

namespace authsvc {

struct ExchangeDirectoryListing {
  std::vector<ExchangeEntry> entries;
  std::string unavailable;  // why there are no entries to show, if so
};

ExchangeDirectoryListing exchange_directory_of(Request& request);

// The broker's exchanges and bindings, through the web's cache; throws
// Error when the management API does not answer. Needs deps.open_broker.
ExchangeListing broker_exchange_listing(Request& request);

// As the pages show them: every text the publisher or the broker chose
// escaped (core/payload_sample.h), a payload cut to a few KiB.
ExchangeRow exchange_row(const ExchangeEntry& entry);
ExchangePage exchange_page(const ExchangeEntry& entry, PageFrame frame);
// A message as the pages and the API show it.
MessageView message_view(const MessageExample& message);

}  // namespace authsvc
