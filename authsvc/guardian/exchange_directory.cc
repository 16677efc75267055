#include "authsvc/guardian/exchange_directory.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "authsvc/core/message_inspection.h"
#include "authsvc/core/payload_sample.h"
#include "authsvc/guardian/guardian_policy.h"

namespace authsvc {

std::vector<ExchangeEntry> exchange_directory(const std::vector<ExchangeInfo>& exchanges,
                                              const std::vector<BindingInfo>& bindings,
                                              const std::vector<ExchangeSample>& samples) {
  std::map<ResourceKey, std::int64_t> bound;
  for (const BindingInfo& b : bindings) {
    if (b.destination_type == "queue" && b.destination.starts_with(kSamplerQueuePrefix)) continue;
    ++bound[ResourceKey{b.vhost, b.source}];
  }
  std::map<ResourceKey, const ExchangeSample*> sampled;
  for (const ExchangeSample& s : samples) sampled[s.exchange] = &s;
  std::map<ResourceKey, ExchangeEntry> rows;
  for (const ExchangeInfo& e : exchanges) {
    std::optional<std::string> owner = owner_of("exchange", e.name);
    if (!owner) continue;
    ResourceKey key{e.vhost, e.name};
    ExchangeEntry entry;
    entry.exchange = e;
    entry.owner = *owner;
    auto count = bound.find(key);
    if (count != bound.end()) entry.bindings = count->second;
    auto sample = sampled.find(key);
    if (sample != sampled.end()) entry.sample = *sample->second;
    entry.problem = exchange_problem(e);
    rows[key] = std::move(entry);
  }
  std::vector<ExchangeEntry> out;
  out.reserve(rows.size());
  for (auto& [key, entry] : rows) out.push_back(std::move(entry));
  return out;
}

std::string compliance_summary(const ExchangeEntry& entry) {
  std::vector<std::string> parts;
  if (!entry.exchange.durable) parts.push_back("not durable");
  if (entry.exchange.type != "topic") parts.push_back("not topic");
  std::vector<std::string> kinds;
  if (entry.sample) {
    // The MUSTs first: they are what breaks consumers.
    for (bool must : {true, false}) {
      for (const ExchangeViolationRecord& v : entry.sample->violations) {
        if (violation_is_must(v.kind) == must)
          kinds.push_back(fmt::format("{} {}", violation_name(v.kind), v.count));
      }
    }
  }
  if (!kinds.empty()) parts.push_back(fmt::format("{}", fmt::join(kinds, ", ")));
  if (!parts.empty()) return fmt::format("{}", fmt::join(parts, "; "));
  return entry.sample ? "ok" : "not sampled yet";
}

std::string shown_text(std::string_view bytes) { return escaped_sample(bytes, kShownNameBytes); }

std::string readable_utc(const std::string& rfc3339) {
  if (rfc3339.size() < 19 || rfc3339[10] != 'T') return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + " UTC";
}

std::string delivery_mode_text(const std::optional<std::int64_t>& mode) {
  if (!mode) return "none (transient)";
  return fmt::format("{} ({})", *mode, *mode == 2 ? "persistent" : "transient");
}

std::vector<std::string> routing_key_fields(std::string_view routing_key) {
  std::vector<std::string> fields;
  if (routing_key.empty()) return fields;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = routing_key.find('.', start);
    fields.emplace_back(routing_key.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return fields;
}

std::string shown_payload(const MessageExample& example, std::size_t max_bytes) {
  const bool whole = static_cast<std::int64_t>(example.payload.size()) >= example.size;
  if (whole) {
    // Only what the inspector accepts as JSON (valid UTF-8, nested within
    // its depth limit) is parsed again, for the pretty form.
    MessageInspection found =
        inspect_message(MessageFacts{"", std::nullopt, std::nullopt, example.payload});
    if (!found.has(MessageViolation::not_utf8) && !found.has(MessageViolation::not_json)) {
      nlohmann::json value = nlohmann::json::parse(example.payload, nullptr, false);
      if (!value.is_discarded()) {
        // Line by line: the indentation's line breaks are the only raw
        // ones (a string's are \n in JSON), and they stay line breaks.
        std::string pretty = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
        std::string shown;
        std::size_t start = 0;
        while (start < pretty.size() && start < max_bytes) {
          std::size_t end = std::min(pretty.find('\n', start), pretty.size());
          if (!shown.empty()) shown += '\n';
          shown += escaped_sample(std::string_view(pretty).substr(start, end - start),
                                  max_bytes - start);
          start = end + 1;
        }
        if (start < pretty.size())
          shown += fmt::format("\n... ({} more bytes)", pretty.size() - start);
        return shown;
      }
    }
  }
  std::string shown = escaped_sample(example.payload, max_bytes);
  if (!whole && example.payload.size() <= max_bytes)
    shown += fmt::format(" ... ({} more bytes not kept)",
                         example.size - static_cast<std::int64_t>(example.payload.size()));
  return shown;
}

}  // namespace authsvc
