#pragma once
// Lengths of time and moments as operators type them: "90s", "30m", "2h",
// "7d" (and "0"), and for expiries an RFC 3339 time, a duration from now, or
// "never". One parser for every option that takes them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace authsvc {

// A whole number followed by s, m, h or d; "0" alone is zero. No sign, no
// spaces, no mixing ("1h30m"), at most 100 years. nullopt otherwise.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// "90s", "30m", "2h", "7d"; the largest unit that divides it exactly.
std::string format_duration(std::chrono::seconds d);

struct Never {};
using When = std::variant<Never, std::chrono::system_clock::time_point>;

// "never"; a duration from `now`; an RFC 3339 time with a "Z" or a
// numeric offset ("2027-01-31T12:00:00Z", "2027-01-31T13:00:00+01:00",
// fraction optional, kept to the microsecond); or a date ("2027-01-31": its
// start in UTC). nullopt (and `error` set to one line) for anything else.
// Whether the time is in the future is the caller's to check.
std::optional<When> parse_when(std::string_view text, std::chrono::system_clock::time_point now,
                               std::string* error);

}  // namespace authsvc
