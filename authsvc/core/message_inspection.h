#pragma once
// One published message against what the Pulse specification asks of
// publishers ("Messages"): what the guardian's sampler records of each
// message it takes from an exchange. Pure: bytes in, findings out. Every
// payload is hostile: any bytes, any size, JSON nested without end.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// What a message can break, each a rule of the specification.
enum class MessageViolation : std::uint8_t {
  not_utf8,        // the payload is not UTF-8
  not_json,        // UTF-8, but not one JSON value (or nested too deep)
  content_type,    // a content type other than application/json
  oversize,        // over 8 KiB
  transient,       // not published persistent (delivery mode 2)
  no_routing_key,  // an empty routing key
};

inline constexpr std::array kMessageViolations = {
    MessageViolation::not_utf8, MessageViolation::not_json,  MessageViolation::content_type,
    MessageViolation::oversize, MessageViolation::transient, MessageViolation::no_routing_key,
};

// "not-utf8", "not-json", "content-type", "oversize", "transient",
// "no-routing-key": how the kind is named in the store, mail subjects,
// the CLI and the API.
std::string_view violation_name(MessageViolation kind);
std::optional<MessageViolation> violation_from_name(std::string_view name);
// The specification's words that the kind breaks, quoted, and whether it is
// a MUST or a SHOULD.
std::string_view violation_rule(MessageViolation kind);
bool violation_is_must(MessageViolation kind);

// What the broker delivered: the properties as set (absent ones absent),
// the routing key and the payload, whole.
struct MessageFacts {
  std::string_view routing_key;
  std::optional<std::string_view> content_type;
  std::optional<std::uint8_t> delivery_mode;
  std::string_view payload;
};

struct MessageLimits {
  // "Messages SHOULD NOT be larger than 8 kB" (8 KiB in its summary).
  std::size_t max_payload = 8192;
  // JSON nested deeper than this counts as not JSON: the parser's stack
  // is bounded, and no message of Pulse's needs more.
  std::size_t max_depth = 64;
  // Of a JSON object's top-level keys, the first this many, each cut to
  // max_key_bytes (at a UTF-8 boundary).
  std::size_t max_keys = 64;
  std::size_t max_key_bytes = 128;
};

struct MessageInspection {
  std::uint8_t violations = 0;  // a bit per MessageViolation
  bool has(MessageViolation kind) const {
    return (violations & (1u << static_cast<unsigned>(kind))) != 0;
  }
  // A JSON object's top-level keys, in order, as they are (valid UTF-8:
  // the parser checked); empty for anything else.
  std::vector<std::string> top_level_keys;
  // The routing key's dot-separated fields; 0 for an empty key.
  std::size_t routing_key_fields = 0;
};

MessageInspection inspect_message(const MessageFacts& message, const MessageLimits& limits = {});

// The media type application/json, in any case, with optional parameters,
// of which a charset must be utf-8: what "their Content-Type MUST be
// application/json" accepts.
bool is_json_content_type(std::string_view content_type);

}  // namespace authsvc
