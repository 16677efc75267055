// libFuzzer target: the guardian's inspection of a message, and the escaped
// sample people are shown of it, on arbitrary bytes. Neither may crash;
// what inspect_message says must agree with a reference (not UTF-8 is
// is_valid_utf8's answer; JSON within the depth limit is nlohmann::json's
// own DOM parse); a sample must hold no control character, no byte that is
// not UTF-8 and no bidirectional override, and never more bytes of the
// input than asked.
//
// The input: its first byte picks the properties (content type, delivery
// mode), the bytes up to the first newline are the routing key, the rest
// the payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "authsvc/core/message_inspection.h"
#include "authsvc/core/payload_sample.h"
#include "authsvc/core/text.h"

namespace {

// nlohmann's DOM parser recurses: only inputs this shallow are handed to it.
std::size_t max_brackets(std::string_view payload) {
  std::size_t depth = 0, deepest = 0;
  for (char c : payload) {
    if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

void check_sample(std::string_view bytes, std::size_t limit) {
  std::string sample = authsvc::escaped_sample(bytes, limit);
  if (!authsvc::is_valid_utf8(sample) || authsvc::has_control(sample)) std::abort();
  for (std::string_view hidden : {"\xe2\x80\xae", "\xe2\x81\xa6", "\xc2\x9b", "\xe2\x80\xa8"}) {
    if (sample.find(hidden) != std::string::npos) std::abort();
  }
  // Nothing is left out of bytes that fit the limit.
  if (bytes.size() <= limit && sample.find(" ... (") != std::string::npos &&
      bytes.find(" ... (") == std::string_view::npos) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::uint8_t pick = data[0];
  std::size_t newline = input.find('\n');
  std::string_view routing_key = newline == std::string_view::npos ? "" : input.substr(0, newline);
  std::string_view payload = newline == std::string_view::npos ? input : input.substr(newline + 1);
  static const char* const kTypes[] = {"application/json", "text/plain",
                                       "application/json; charset=utf-16", ""};
  authsvc::MessageFacts message{
      routing_key,
      (pick & 4) != 0 ? std::nullopt : std::optional<std::string_view>(kTypes[pick & 3]),
      static_cast<std::uint8_t>(pick >> 6), payload};
  authsvc::MessageLimits limits;
  limits.max_depth = 16;
  authsvc::MessageInspection found = authsvc::inspect_message(message, limits);

  bool utf8 = authsvc::is_valid_utf8(payload);
  if (found.has(authsvc::MessageViolation::not_utf8) == utf8) std::abort();
  if (utf8 && max_brackets(payload) <= limits.max_depth) {
    bool json = nlohmann::json::accept(payload);
    if (found.has(authsvc::MessageViolation::not_json) == json) std::abort();
  }
  if (found.has(authsvc::MessageViolation::no_routing_key) != routing_key.empty()) std::abort();
  if (found.top_level_keys.size() > limits.max_keys) std::abort();

  check_sample(payload, 64);
  check_sample(routing_key, 16);
  return 0;
}
