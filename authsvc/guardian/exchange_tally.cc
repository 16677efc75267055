#include "authsvc/guardian/exchange_tally.h"

#include <algorithm>

namespace authsvc {

MessageExample example_of(const SampledMessage& message) {
  MessageExample example;
  example.routing_key = message.routing_key;
  example.content_type = message.content_type;
  if (message.delivery_mode) example.delivery_mode = *message.delivery_mode;
  example.size = static_cast<std::int64_t>(message.size);
  example.payload = message.payload.substr(0, kMessageExampleBytes);
  return example;
}

MessageInspection ExchangeTally::add(const SampledMessage& message, const std::string& seen_at) {
  const bool whole = message.payload.size() >= message.size;
  MessageInspection found = inspect_message(MessageFacts{message.routing_key, message.content_type,
                                                         message.delivery_mode, message.payload},
                                            limits_);
  if (!whole) {
    auto bit = [](MessageViolation kind) {
      return static_cast<std::uint8_t>(1u << static_cast<unsigned>(kind));
    };
    found.violations &= static_cast<std::uint8_t>(
        ~(bit(MessageViolation::not_utf8) | bit(MessageViolation::not_json)));
    found.violations |= bit(MessageViolation::oversize);
    found.top_level_keys.clear();
  }

  ExchangeSample& sample = samples_[message.exchange];
  const auto fields = static_cast<std::int64_t>(found.routing_key_fields);
  if (sample.inspected == 0) {
    sample.exchange = message.exchange;
    sample.first_seen_at = seen_at;
    sample.routing_key_fields_min = fields;
    sample.routing_key_fields_max = fields;
  }
  ++sample.inspected;
  sample.last_seen_at = seen_at;
  sample.routing_key_fields_min = std::min(sample.routing_key_fields_min, fields);
  sample.routing_key_fields_max = std::max(sample.routing_key_fields_max, fields);
  MessageExample example = example_of(message);
  sample.add_json_keys(found.top_level_keys);
  for (MessageViolation kind : kMessageViolations) {
    if (!found.has(kind)) continue;
    auto record = std::find_if(sample.violations.begin(), sample.violations.end(),
                               [&](const ExchangeViolationRecord& r) { return r.kind == kind; });
    if (record == sample.violations.end()) {
      // In kMessageViolations' order: before the first kind that comes later.
      auto later = std::find_if(sample.violations.begin(), sample.violations.end(),
                                [&](const ExchangeViolationRecord& r) { return r.kind > kind; });
      record = sample.violations.insert(later, ExchangeViolationRecord{});
      record->kind = kind;
    }
    ++record->count;
    record->last_at = seen_at;
    record->example = example;
  }
  sample.last = std::move(example);
  return found;
}

std::vector<ExchangeSample> ExchangeTally::take() {
  std::vector<ExchangeSample> taken;
  taken.reserve(samples_.size());
  for (auto& [key, sample] : samples_) taken.push_back(std::move(sample));
  samples_.clear();
  return taken;
}

}  // namespace authsvc
