#include "authsvc/core/duration.h"

#include <charconv>

#include "authsvc/core/text.h"
#include "authsvc/core/timestamp.h"

namespace authsvc {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kMaxSeconds = 100LL * 366 * 86400;

struct Unit {
  char suffix;
  std::int64_t seconds;
};
constexpr Unit kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

// "+HH:MM" or "-HH:MM" at the end of `text`, in seconds east of UTC.
std::optional<std::int64_t> trailing_offset(std::string_view text) {
  if (text.size() < 6) return std::nullopt;
  std::string_view tail = text.substr(text.size() - 6);
  if ((tail[0] != '+' && tail[0] != '-') || tail[3] != ':') return std::nullopt;
  int hours = 0;
  int minutes = 0;
  for (int i : {1, 2, 4, 5}) {
    if (tail[i] < '0' || tail[i] > '9') return std::nullopt;
  }
  hours = (tail[1] - '0') * 10 + (tail[2] - '0');
  minutes = (tail[4] - '0') * 10 + (tail[5] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  std::int64_t offset = hours * 3600 + minutes * 60;
  return tail[0] == '-' ? -offset : offset;
}

}  // namespace

std::optional<seconds> parse_duration(std::string_view text) {
  if (text == "0") return seconds(0);
  if (text.size() < 2) return std::nullopt;
  char suffix = text.back();
  std::string_view number = text.substr(0, text.size() - 1);
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size() || number[0] == '-' ||
      number[0] == '+') {
    return std::nullopt;
  }
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    if (value > kMaxSeconds / unit.seconds) return std::nullopt;
    return seconds(value * unit.seconds);
  }
  return std::nullopt;
}

std::string format_duration(seconds d) {
  std::int64_t n = d.count();
  if (n == 0) return "0";
  for (const Unit& unit : kUnits) {
    if (n % unit.seconds == 0) return std::to_string(n / unit.seconds) + unit.suffix;
  }
  return std::to_string(n) + "s";
}

std::optional<When> parse_when(std::string_view text, std::chrono::system_clock::time_point now,
                               std::string* error) {
  if (text == "never") return When(Never{});
  if (std::optional<seconds> d = parse_duration(text)) return When(now + *d);
  std::string utc(text);
  // A date alone, as people type one: its start, in UTC.
  if (utc.size() == 10 && utc[4] == '-' && utc[7] == '-') utc += "T00:00:00Z";
  std::int64_t offset = 0;
  if (std::optional<std::int64_t> east = trailing_offset(text)) {
    offset = *east;
    utc.replace(utc.size() - 6, 6, "Z");
  }
  std::optional<std::int64_t> us = rfc3339_to_unix_us(utc);
  if (!us) {
    *error = "'" + printable(text) +
             "' is not a time: give an RFC 3339 time (2027-01-31T12:00:00Z), a date (2027-01-31, "
             "its start in UTC), a duration from now (90d, 12h, 30m, 90s) or 'never'";
    return std::nullopt;
  }
  return When(
      std::chrono::system_clock::time_point(std::chrono::microseconds(*us - offset * 1'000'000)));
}

}  // namespace authsvc
