#include "authsvc/core/duration.h"

#include <doctest/doctest.h>

#include "authsvc/core/timestamp.h"

namespace authsvc {
namespace {

using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days(std::chrono::year(2026) / 11 / 30) + std::chrono::hours(12);

std::string when_text(std::string_view text) {
  std::string error;
  std::optional<When> when = parse_when(text, kNow, &error);
  if (!when) return "error: " + error;
  if (std::holds_alternative<Never>(*when)) return "never";
  return rfc3339_utc(std::get<std::chrono::system_clock::time_point>(*when));
}

}  // namespace

TEST_CASE("a duration is a whole number and one unit, or 0") {
  CHECK(parse_duration("0") == seconds(0));
  CHECK(parse_duration("0s") == seconds(0));
  CHECK(parse_duration("90s") == seconds(90));
  CHECK(parse_duration("30m") == seconds(1800));
  CHECK(parse_duration("2h") == seconds(7200));
  CHECK(parse_duration("7d") == seconds(604800));
  CHECK(parse_duration("36500d") == seconds(36500LL * 86400));
  for (const char* bad : {"", "s", "5", "-5m", "+5m", "1h30m", "1.5h", "2w", "5 m", " 5m", "5m ",
                          "5M", "0x10s", "99999999999999999999s", "40000d"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("a duration is written back in its largest whole unit") {
  CHECK(format_duration(seconds(0)) == "0");
  CHECK(format_duration(seconds(90)) == "90s");
  CHECK(format_duration(seconds(1800)) == "30m");
  CHECK(format_duration(seconds(86400)) == "1d");
  CHECK(format_duration(seconds(604801)) == "604801s");
  for (const char* text : {"90s", "30m", "2h", "7d"}) {
    CHECK(format_duration(*parse_duration(text)) == text);
  }
}

TEST_CASE("a time is never, a duration from now, RFC 3339 with Z or an offset, or a date") {
  CHECK(when_text("never") == "never");
  CHECK(when_text("90d") == "2027-02-28T12:00:00.000000Z");
  CHECK(when_text("12h") == "2026-12-01T00:00:00.000000Z");
  CHECK(when_text("2027-01-31T12:00:00Z") == "2027-01-31T12:00:00.000000Z");
  CHECK(when_text("2027-01-31T12:00:00.25Z") == "2027-01-31T12:00:00.250000Z");
  CHECK(when_text("2027-01-31T12:00:00.123456Z") == "2027-01-31T12:00:00.123456Z");
  CHECK(when_text("2027-01-31T13:30:00+01:30") == "2027-01-31T12:00:00.000000Z");
  CHECK(when_text("2027-01-31T02:00:00-10:00") == "2027-01-31T12:00:00.000000Z");
  // A date, as people type one in a form: its start in UTC.
  CHECK(when_text("2027-01-31") == "2027-01-31T00:00:00.000000Z");
  for (const char* bad :
       {"", "Never", "tomorrow", "2027-1-31", "2027-02-30", "2027/01/31", "31-01-2027",
        "2027-01-31 12:00:00Z", "2027-02-30T00:00:00Z", "2027-01-31T12:00:00",
        "2027-01-31T12:00:00+1:00", "2027-01-31T12:00:00+24:00", "2027-01-31T25:00:00Z", "-5d"}) {
    CAPTURE(bad);
    std::string text = when_text(bad);
    CHECK(text.rfind("error: ", 0) == 0);
    CHECK(text.find('\n') == std::string::npos);
  }
}

}  // namespace authsvc
