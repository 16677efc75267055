#pragma once
// The live directory of Pulse exchanges: what the broker lists
// (exchange/<owner>/... exchanges, their publish rates and bindings)
// beside what the message sampler recorded of each. The specification's
// "(manually updated) list of Pulse exchanges", kept by the broker itself.
// Pure: the listings in, the rows out. `authsvc exchange list|show` and
// the web's /exchanges read it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/guardian/broker_records.h"
#include "authsvc/store/records.h"

namespace authsvc {

// The prefix of the names the sampler gives its queues: they are not a
// consumer's, and their bindings are not counted.
inline constexpr std::string_view kSamplerQueuePrefix = "authsvc.sampler.";

struct ExchangeEntry {
  ExchangeInfo exchange;
  std::string owner;
  // Queues and exchanges bound to it, the sampler's own queues left out.
  std::int64_t bindings = 0;
  // What the sampler recorded; nullopt: no message inspected yet.
  std::optional<ExchangeSample> sample;
  // Why the exchange itself is not what Pulse asks; "" if it is.
  std::string problem;
};

// Every Pulse exchange of `exchanges`, by vhost and name.
std::vector<ExchangeEntry> exchange_directory(const std::vector<ExchangeInfo>& exchanges,
                                              const std::vector<BindingInfo>& bindings,
                                              const std::vector<ExchangeSample>& samples);

// "ok"; "not sampled yet"; or what is wrong, worst first: "not durable;
// not-json 3, transient 1".
std::string compliance_summary(const ExchangeEntry& entry);

// Of what the directory shows, at most this much: a payload (a few KiB,
// what a terminal or a page can take), and a name or key the publisher
// or the broker chose.
inline constexpr std::size_t kShownPayloadBytes = 4096;
inline constexpr std::size_t kShownNameBytes = 255;

// A name, key or content type as the directory shows it: escaped
// (core/payload_sample.h), at most kShownNameBytes of it.
std::string shown_text(std::string_view bytes);

// "2026-12-02 14:50:01 UTC" of the store's "2026-12-02T14:50:01.123456Z";
// anything else as it is.
std::string readable_utc(const std::string& rfc3339);

// "2 (persistent)", "1 (transient)", "none (transient)".
std::string delivery_mode_text(const std::optional<std::int64_t>& mode);

// The routing key's dot-separated fields, by index from the left.
std::vector<std::string> routing_key_fields(std::string_view routing_key);

// The payload as people are shown it: pretty-printed when it is the whole
// of a JSON value, escaped either way (core/payload_sample.h), at most
// `max_bytes` of it.
std::string shown_payload(const MessageExample& example, std::size_t max_bytes);

}  // namespace authsvc
