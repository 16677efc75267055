#include "authsvc/web/web_exchanges.h"

#include <fmt/format.h>

#include "authsvc/core/error.h"
#include "authsvc/core/message_inspection.h"
#include "authsvc/core/payload_sample.h"

namespace authsvc {

namespace {

std::string fields_text(const ExchangeSample& s) {
  if (s.routing_key_fields_min == s.routing_key_fields_max)
    return fmt::format("{} fields, always", s.routing_key_fields_min);
  return fmt::format("{} to {} fields: not a fixed index from the left", s.routing_key_fields_min,
                     s.routing_key_fields_max);
}

}  // namespace

MessageView message_view(const MessageExample& m) {
  MessageView view;
  view.routing_key = shown_text(m.routing_key);
  for (const std::string& field : routing_key_fields(m.routing_key))
    view.fields.push_back(shown_text(field));
  view.content_type = m.content_type ? shown_text(*m.content_type) : "";
  view.delivery_mode = delivery_mode_text(m.delivery_mode);
  view.size = m.size;
  view.payload = shown_payload(m, kShownPayloadBytes);
  return view;
}

ExchangeRow exchange_row(const ExchangeEntry& entry) {
  ExchangeRow row;
  row.vhost = shown_text(entry.exchange.vhost);
  row.name = shown_text(entry.exchange.name);
  row.owner = shown_text(entry.owner);
  row.type = shown_text(entry.exchange.type);
  row.durable = entry.exchange.durable;
  if (entry.exchange.publish_rate)
    row.publish_rate = fmt::format("{:.1f}/s", *entry.exchange.publish_rate);
  if (entry.sample) row.last_message = readable_utc(entry.sample->last_seen_at);
  row.bindings = entry.bindings;
  row.compliance = compliance_summary(entry);
  row.compliant = row.compliance == "ok";
  return row;
}

ExchangePage exchange_page(const ExchangeEntry& entry, PageFrame frame) {
  ExchangePage page;
  page.frame = std::move(frame);
  page.exchange = exchange_row(entry);
  page.frame.title = page.exchange.name;
  page.problem = entry.problem;
  if (!entry.sample) return page;
  const ExchangeSample& s = *entry.sample;
  page.sampled = true;
  page.inspected = s.inspected;
  page.first_seen = readable_utc(s.first_seen_at);
  page.routing_key_fields = fields_text(s);
  for (const std::string& key : s.json_keys) page.json_keys.push_back(shown_text(key));
  page.last = message_view(s.last);
  for (const ExchangeViolationRecord& v : s.violations) {
    page.violations.push_back(
        ViolationView{std::string(violation_name(v.kind)), violation_is_must(v.kind),
                      std::string(violation_rule(v.kind)), v.count, readable_utc(v.last_at),
                      readable_utc(v.mailed_at), message_view(v.example)});
  }
  return page;
}

ExchangeListing broker_exchange_listing(Request& request) {
  return request.state.broker_exchanges.get([&] {
    std::unique_ptr<Broker> api = request.state.deps.open_broker();
    ExchangeListing fetched;
    fetched.exchanges = api->exchanges_with_rates();
    fetched.bindings = api->bindings();
    return fetched;
  });
}

ExchangeDirectoryListing exchange_directory_of(Request& request) {
  ExchangeDirectoryListing listing;
  if (!request.state.deps.open_broker) {
    listing.unavailable =
        "Exchanges cannot be shown: this web has no management API (--management-url).";
    return listing;
  }
  ExchangeListing broker;
  try {
    broker = broker_exchange_listing(request);
  } catch (const Error& e) {
    request.detail = fmt::format("management API: {}", e.what());
    listing.unavailable = "Exchanges cannot be shown: the broker's management API did not answer.";
    return listing;
  }
  listing.entries =
      exchange_directory(broker.exchanges, broker.bindings, request.store->exchange_samples());
  return listing;
}

}  // namespace authsvc
