#pragma once
// Time as authsvc writes and reads it: RFC 3339 in UTC with microseconds,
// "2026-11-27T23:18:49.123456Z", in audit lines and in the store. The text
// sorts as the time does, and a reader in any language parses it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// The same text in a caller's buffer, without allocating: for audit lines.
struct Rfc3339Buffer {
  char text[32];
  std::size_t size = 0;
  std::string_view view() const { return {text, size}; }
};
void format_rfc3339_utc(std::chrono::system_clock::time_point t, Rfc3339Buffer* out);

// Milliseconds since the epoch of a time in exactly the shape written above
// (YYYY-MM-DDTHH:MM:SS, an optional fraction of any length, then Z);
// nullopt for anything else.
std::optional<std::int64_t> rfc3339_to_unix_ms(std::string_view text);
// The same in microseconds, the precision authsvc writes: for comparing
// audit lines' times, where a millisecond holds many lines.
std::optional<std::int64_t> rfc3339_to_unix_us(std::string_view text);

// Whether `rfc3339` (in that shape) is at or before `now`; "" or any other
// shape has not passed.
bool has_passed(std::string_view rfc3339, std::chrono::system_clock::time_point now);

}  // namespace authsvc
