#include "authsvc/web/web_exchanges.h"

#include <fmt/format.h>

#include "authsvc/core/error.h"
#include "authsvc/core/message_inspection.h"
#include "authsvc/core/payload_sample.h"

namespace authsvc {

namespace {

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

std::string fields_text(const ExchangeSample& s) {
  if (s.routing_key_fields_min == s.routing_key_fields_max)
    return fmt::format("{} fields, always", s.routing_key_fields_min);
  return fmt::format("{} to {} fields: not a fixed index from the left", s.routing_key_fields_min,
                     s.routing_key_fields_max);
}

nlohmann::json message_json(const MessageExample& m) {
  MessageView view = message_view(m);
  return nlohmann::json{{"routing_key", view.routing_key},
                        {"routing_key_fields", view.fields},
                        {"content_type", m.content_type ? nlohmann::json(view.content_type)
                                                        : nlohmann::json(nullptr)},
                        {"delivery_mode", m.delivery_mode ? nlohmann::json(*m.delivery_mode)
                                                          : nlohmann::json(nullptr)},
                        {"size", m.size},
                        {"payload", view.payload}};
}

}  // namespace

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

nlohmann::json exchange_json(const ExchangeEntry& entry, bool detail) {
  ExchangeRow row = exchange_row(entry);
  nlohmann::json out{
      {"vhost", entry.exchange.vhost},
      {"name", entry.exchange.name},
      {"owner", entry.owner},
      {"type", entry.exchange.type},
      {"durable", entry.exchange.durable},
      {"publish_rate", entry.exchange.publish_rate ? nlohmann::json(*entry.exchange.publish_rate)
                                                   : nlohmann::json(nullptr)},
      {"bindings", entry.bindings},
      {"compliance", row.compliance},
      {"compliant", row.compliant},
      {"problem", entry.problem},
  };
  if (!entry.sample) {
    out["sample"] = nullptr;
    return out;
  }
  const ExchangeSample& s = *entry.sample;
  nlohmann::json violations = nlohmann::json::array();
  for (const ExchangeViolationRecord& v : s.violations) {
    nlohmann::json item{
        {"kind", violation_name(v.kind)},
        {"must", violation_is_must(v.kind)},
        {"rule", violation_rule(v.kind)},
        {"count", v.count},
        {"last_at", v.last_at},
        {"mailed_at", v.mailed_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.mailed_at)}};
    if (detail) item["example"] = message_json(v.example);
    violations.push_back(std::move(item));
  }
  std::vector<std::string> keys;
  for (const std::string& key : s.json_keys) keys.push_back(shown_text(key));
  out["sample"] = nlohmann::json{{"inspected", s.inspected},
                                 {"first_seen_at", s.first_seen_at},
                                 {"last_seen_at", s.last_seen_at},
                                 {"routing_key_fields_min", s.routing_key_fields_min},
                                 {"routing_key_fields_max", s.routing_key_fields_max},
                                 {"json_keys", keys},
                                 {"violations", violations}};
  if (detail) out["sample"]["last"] = message_json(s.last);
  return out;
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
    broker = request.state.broker_exchanges.get([&] {
      std::unique_ptr<Broker> api = request.state.deps.open_broker();
      ExchangeListing fetched;
      fetched.exchanges = api->exchanges_with_rates();
      fetched.bindings = api->bindings();
      return fetched;
    });
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
