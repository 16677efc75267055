#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace authsvc {

// "2026-11-27T23:18:49.123456Z": RFC 3339, UTC, microseconds.
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// The same text in a caller's buffer, without allocating: for audit lines.
struct Rfc3339Buffer {
  char text[32];
  std::size_t size = 0;
  std::string_view view() const { return {text, size}; }
};
void format_rfc3339_utc(std::chrono::system_clock::time_point t, Rfc3339Buffer* out);

}  // namespace authsvc
