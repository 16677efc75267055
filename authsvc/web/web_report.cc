#include "authsvc/web/web_report.h"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "authsvc/guardian/report_card.h"
#include "authsvc/web/web_exchanges.h"
#include "authsvc/web/web_queues.h"

namespace authsvc {

namespace {

ReportRow row_of(const ReportItem& item) {
  ReportRow row;
  row.subject = item.subject;
  row.obligation = std::string(to_string(item.obligation));
  row.rule = item.rule;
  row.standing = std::string(to_string(item.standing));
  row.met = item.standing == Standing::met;
  row.not_met = item.standing == Standing::not_met;
  // Each line is made of names report_card escaped and of its own words.
  row.evidence = item.evidence;
  return row;
}

}  // namespace

ReportListing report_card_of(Request& request, const UserInfo& account) {
  ReportListing listing;
  std::string why;
  std::optional<std::vector<QueueStatus>> queues = queue_statuses_of(request, {account}, &why);
  if (!queues) {
    listing.unavailable = request.state.deps.open_broker
                              ? "The report card cannot be shown: the broker's management API "
                                "did not answer."
                              : "The report card cannot be shown: this web has no management "
                                "API (--management-url).";
    return listing;
  }
  ReportCardInput in;
  in.account = account.name;
  in.queues = std::move(*queues);
  try {
    in.exchanges = broker_exchange_listing(request).exchanges;
    ClientActivity activity = request.state.broker_activity.get([&] {
      std::unique_ptr<Broker> api = request.state.deps.open_broker();
      ClientActivity fetched;
      fetched.channels = api->channels();
      fetched.consumers = api->consumers();
      return fetched;
    });
    in.channels = std::move(activity.channels);
    in.consumers = std::move(activity.consumers);
  } catch (const Error& e) {
    request.detail = fmt::format("management API: {}", e.what());
    listing.unavailable =
        "The report card cannot be shown: the broker's management API did not answer.";
    return listing;
  }
  in.samples = samples_of(account.name, in.exchanges, *request.store);
  for (const ReportItem& item : report_card(in)) listing.rows.push_back(row_of(item));
  return listing;
}

}  // namespace authsvc
