#include "authsvc/core/message_inspection.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

struct ViolationText {
  MessageViolation kind;
  std::string_view name;
  std::string_view rule;
  bool must;
};

constexpr std::array<ViolationText, kMessageViolations.size()> kTexts = {{
    {MessageViolation::not_utf8, "not-utf8", "Messages MUST contain a UTF-8-encoded JSON payload",
     true},
    {MessageViolation::not_json, "not-json", "Messages MUST contain a UTF-8-encoded JSON payload",
     true},
    {MessageViolation::content_type, "content-type", "their Content-Type MUST be application/json",
     true},
    {MessageViolation::oversize, "oversize", "Messages SHOULD NOT be larger than 8 kB", false},
    {MessageViolation::transient, "transient", "Messages SHOULD be durable", false},
    {MessageViolation::no_routing_key, "no-routing-key",
     "A message SHOULD carry a routing key, in which fields have a fixed index from the left",
     false},
}};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kTexts.size(); ++i) {
    if (kTexts[i].kind != kMessageViolations[i] || static_cast<std::size_t>(kTexts[i].kind) != i) {
      return false;
    }
  }
  return true;
}
static_assert(in_enum_order(), "kTexts is indexed by MessageViolation");

const ViolationText& text_of(MessageViolation kind) {
  return kTexts[static_cast<std::size_t>(kind)];
}

// The first `limit` bytes of `text` that end at a UTF-8 boundary (`text`
// is valid UTF-8).
std::string_view utf8_prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// nlohmann::json's SAX parser (iterative: its stack is a vector, not the
// call stack), stopped at the first value nested deeper than the limit,
// keeping the top-level keys of an object.
class JsonShape : public nlohmann::json::json_sax_t {
 public:
  JsonShape(const MessageLimits& limits, std::vector<std::string>& keys)
      : limits_(limits), keys_(keys) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (depth_ == 0) top_is_object_ = true;
    return enter();
  }
  bool key(string_t& key) override {
    if (depth_ == 1 && top_is_object_ && keys_.size() < limits_.max_keys) {
      keys_.emplace_back(utf8_prefix(key, limits_.max_key_bytes));
    }
    return true;
  }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception&) override {
    return false;
  }

 private:
  bool enter() { return ++depth_ <= limits_.max_depth; }
  bool leave() {
    --depth_;
    return true;
  }

  const MessageLimits& limits_;
  std::vector<std::string>& keys_;
  std::size_t depth_ = 0;
  bool top_is_object_ = false;
};

}  // namespace

std::string_view violation_name(MessageViolation kind) { return text_of(kind).name; }

std::optional<MessageViolation> violation_from_name(std::string_view name) {
  for (const ViolationText& t : kTexts) {
    if (t.name == name) return t.kind;
  }
  return std::nullopt;
}

std::string_view violation_rule(MessageViolation kind) { return text_of(kind).rule; }

bool violation_is_must(MessageViolation kind) { return text_of(kind).must; }

bool is_json_content_type(std::string_view content_type) {
  std::string_view rest = content_type;
  std::size_t semicolon = rest.find(';');
  if (ascii_lower(trim_blanks(rest.substr(0, semicolon))) != "application/json") return false;
  // Parameters: only a charset says anything here, and UTF-8 is the one
  // JSON is exchanged in (RFC 8259, 8.1).
  while (semicolon != std::string_view::npos) {
    rest.remove_prefix(semicolon + 1);
    semicolon = rest.find(';');
    std::string_view parameter = trim_blanks(rest.substr(0, semicolon));
    std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) return false;
    if (ascii_lower(trim_blanks(parameter.substr(0, equals))) != "charset") continue;
    std::string value = ascii_lower(trim_blanks(parameter.substr(equals + 1)));
    if (value != "utf-8" && value != "\"utf-8\"") return false;
  }
  return true;
}

MessageInspection inspect_message(const MessageFacts& message, const MessageLimits& limits) {
  MessageInspection found;
  auto flag = [&](MessageViolation kind) {
    found.violations |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(kind));
  };
  // Not UTF-8 is that alone: such bytes are not JSON either, and one
  // finding is the clearer one.
  if (!is_valid_utf8(message.payload)) {
    flag(MessageViolation::not_utf8);
  } else {
    JsonShape shape(limits, found.top_level_keys);
    bool json = nlohmann::json::sax_parse(message.payload, &shape,
                                          nlohmann::json::input_format_t::json, true);
    if (!json) {
      flag(MessageViolation::not_json);
      found.top_level_keys.clear();
    }
  }
  if (!message.content_type || !is_json_content_type(*message.content_type)) {
    flag(MessageViolation::content_type);
  }
  if (message.payload.size() > limits.max_payload) flag(MessageViolation::oversize);
  if (message.delivery_mode != 2) flag(MessageViolation::transient);
  if (message.routing_key.empty()) {
    flag(MessageViolation::no_routing_key);
  } else {
    found.routing_key_fields = static_cast<std::size_t>(std::count(
                                   message.routing_key.begin(), message.routing_key.end(), '.')) +
                               1;
  }
  return found;
}

}  // namespace authsvc
