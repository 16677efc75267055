#pragma once
// A JSON object written straight into one string, for audit lines.
//
// nlohmann::json builds a tree of allocated nodes and walks it to print;
// for an audit line on every request that was the largest single cost of
// the hot path (2.6 us of 4.9 us measured by tests/bench/hot_path_bench).
// This writer appends instead, with the same output rules as nlohmann's
// dump() with error_handler_t::replace: '"', '\\' and control characters
// escaped, bytes that are not valid UTF-8 replaced by U+FFFD; the tests
// check it against nlohmann on arbitrary bytes.
//
//   std::string text;
//   JsonLine line(&text);
//   line.add("user", "alice").add("us", 12).add("ok", true).finish();
//   // text == {"user":"alice","us":12,"ok":true}
// Writing into a caller's string lets a thread reuse one buffer for every
// line it writes.

#include <cstdint>
#include <string>
#include <string_view>

namespace authsvc {

class JsonLine {
 public:
  // Clears *out (keeping its capacity) and starts the object there.
  explicit JsonLine(std::string* out) : text_(*out) {
    text_.clear();
    text_ += '{';
  }
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, std::int64_t value);
  JsonLine& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
  JsonLine& add(std::string_view key, bool value);
  // Closes the object.
  void finish() { text_ += '}'; }

 private:
  void key(std::string_view k);

  std::string& text_;
};

// Appends `value` as a JSON string (with its quotes) to *out.
void append_json_string(std::string_view value, std::string* out);

}  // namespace authsvc
