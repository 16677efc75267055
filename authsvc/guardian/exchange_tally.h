#pragma once
// What the message sampler counts between two reports to the store: each
// message it took, inspected (core/message_inspection.h) and added to its
// exchange's ExchangeSample (store/records.h). Pure: no clock, no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "authsvc/core/message_inspection.h"
#include "authsvc/store/records.h"

namespace authsvc {

// A message as the sampler took it off its queue: what the publisher set,
// the payload's size as the broker announced it, and its first bytes. The
// sampler reads a payload whole only up to its cap, so `payload` is
// shorter than `size` for a larger one.
struct SampledMessage {
  ResourceKey exchange;
  std::string routing_key;
  std::optional<std::string> content_type;
  std::optional<std::uint8_t> delivery_mode;
  std::uint64_t size = 0;
  std::string payload;
};

class ExchangeTally {
 public:
  explicit ExchangeTally(MessageLimits limits = {}) : limits_(limits) {}

  // Inspects `message`, seen at `seen_at` (RFC 3339), and counts it. A
  // payload read only in part is over the size limit (the cap is above
  // it); whether it is UTF-8 and JSON is unknown, and counted as neither.
  // Returns what the inspection found.
  MessageInspection add(const SampledMessage& message, const std::string& seen_at);
  // What was counted since the last take(), by exchange, and forgets it.
  std::vector<ExchangeSample> take();
  bool empty() const { return samples_.empty(); }

 private:
  MessageLimits limits_;
  std::map<ResourceKey, ExchangeSample> samples_;
};

// `message` as the store keeps it: the payload's first kMessageExampleBytes.
MessageExample example_of(const SampledMessage& message);

}  // namespace authsvc
