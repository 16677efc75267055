#include "authsvc/timestamp.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstring>

namespace authsvc {

void format_rfc3339_utc(std::chrono::system_clock::time_point t, Rfc3339Buffer* out) {
  // Formatting the date costs more than the rest of an audit line; it only
  // changes once a second, so each thread keeps the last one.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached_prefix[24];  // "2026-11-27T23:18:49"
  auto micros =
      std::chrono::time_point_cast<std::chrono::microseconds>(t).time_since_epoch().count();
  std::int64_t second = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  auto fraction = static_cast<int>(micros - second * 1'000'000);
  if (second != cached_second) {
    auto end = fmt::format_to_n(cached_prefix, sizeof cached_prefix - 1, "{:%Y-%m-%dT%H:%M:%S}",
                                fmt::gmtime(static_cast<std::time_t>(second)));
    *end.out = '\0';
    cached_second = second;
  }
  std::size_t prefix = std::strlen(cached_prefix);
  std::memcpy(out->text, cached_prefix, prefix);
  auto end = fmt::format_to(out->text + prefix, ".{:06}Z", fraction);
  out->size = static_cast<std::size_t>(end - out->text);
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  Rfc3339Buffer buffer;
  format_rfc3339_utc(t, &buffer);
  return std::string(buffer.view());
}

}  // namespace authsvc
