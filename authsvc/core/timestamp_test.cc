#include "authsvc/core/timestamp.h"

#include <doctest/doctest.h>

#include <thread>

namespace authsvc {

TEST_CASE("rfc3339_utc writes UTC with microseconds, also across a second and before 1970") {
  using namespace std::chrono;
  CHECK(rfc3339_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
  auto t = system_clock::time_point{microseconds(1795821529123456)};
  CHECK(rfc3339_utc(t) == "2026-11-27T23:18:49.123456Z");
  // The per-thread cache of the date part must follow the second.
  CHECK(rfc3339_utc(t + seconds(1)) == "2026-11-27T23:18:50.123456Z");
  CHECK(rfc3339_utc(t + hours(24 * 4)) == "2026-12-01T23:18:49.123456Z");
  CHECK(rfc3339_utc(system_clock::time_point{microseconds(-1)}) == "1969-12-31T23:59:59.999999Z");
  CHECK(rfc3339_utc(system_clock::time_point{microseconds(951782400000000)}) ==
        "2000-02-29T00:00:00.000000Z");
}

TEST_CASE("rfc3339_to_unix_ms reads the store's timestamps and nothing else") {
  CHECK(rfc3339_to_unix_ms("1970-01-01T00:00:00.000000Z") == 0);
  CHECK(rfc3339_to_unix_ms("1970-01-01T00:00:01.5Z") == 1500);
  CHECK(rfc3339_to_unix_ms("2026-11-27T23:18:49.123456Z") == 1795821529123);
  CHECK(rfc3339_to_unix_ms("2026-11-27T23:18:49Z") == 1795821529000);
  CHECK_FALSE(rfc3339_to_unix_ms(""));
  CHECK_FALSE(rfc3339_to_unix_ms("2026-11-27 23:18:49Z"));
  CHECK_FALSE(rfc3339_to_unix_ms("2026-11-27T23:18:49+01:00"));
  CHECK_FALSE(rfc3339_to_unix_ms("2026-13-27T23:18:49Z"));
  CHECK_FALSE(rfc3339_to_unix_ms("2026-02-30T23:18:49Z"));
  // What the writer writes, the reader reads back.
  auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds(1795821529123)};
  CHECK(rfc3339_to_unix_ms(rfc3339_utc(t)) == 1795821529123);
}

TEST_CASE("rfc3339_to_unix_us keeps the microseconds that audit lines carry") {
  CHECK(rfc3339_to_unix_us("1970-01-01T00:00:00.000001Z") == 1);
  CHECK(rfc3339_to_unix_us("2026-11-27T23:18:49.123456Z") == 1795821529123456);
  CHECK(rfc3339_to_unix_us("2026-11-27T23:18:49.1234567Z") == 1795821529123456);
  CHECK(rfc3339_to_unix_us("2026-11-27T23:18:49Z") == 1795821529000000);
  CHECK(rfc3339_to_unix_us("1969-12-31T23:59:59.999999Z") == -1);
  CHECK_FALSE(rfc3339_to_unix_us("2026-11-27T23:18:49.123456"));
  CHECK_FALSE(rfc3339_to_unix_us("2026-11-27T23:18:49.123456+00:00"));
  // Before 1970 the milliseconds still round down, as they did.
  CHECK(rfc3339_to_unix_ms("1969-12-31T23:59:59.999999Z") == -1);
  auto t = std::chrono::system_clock::time_point{std::chrono::microseconds(1795821529123456)};
  CHECK(rfc3339_to_unix_us(rfc3339_utc(t)) == 1795821529123456);
}

TEST_CASE("the reader's remembered date is only ever a date it read") {
  // A fresh thread has remembered nothing: ten NUL bytes are no date.
  std::thread([] { CHECK_FALSE(rfc3339_to_unix_us(std::string(10, '\0') + "T00:00:00Z")); }).join();
  CHECK(rfc3339_to_unix_us("2026-11-27T23:18:49Z") == 1795821529000000);
  CHECK(rfc3339_to_unix_us("2026-11-28T23:18:49Z") == 1795821529000000 + 86400000000);
  CHECK(rfc3339_to_unix_us("2026-11-28T00:00:00Z") == 1795824000000000);
  CHECK_FALSE(rfc3339_to_unix_us("2026-11-28T24:00:00Z"));
  CHECK_FALSE(rfc3339_to_unix_us("2026-11-28"));
  CHECK_FALSE(rfc3339_to_unix_us("2026-11-28T00:00:00"));
}

TEST_CASE("has_passed: at or before now, and nothing that is not a timestamp") {
  using std::chrono::system_clock;
  system_clock::time_point now = system_clock::time_point(std::chrono::seconds(1'800'000'000));
  CHECK(has_passed(rfc3339_utc(now), now));
  CHECK(has_passed(rfc3339_utc(now - std::chrono::seconds(1)), now));
  CHECK_FALSE(has_passed(rfc3339_utc(now + std::chrono::seconds(1)), now));
  CHECK_FALSE(has_passed("", now));
  CHECK_FALSE(has_passed("yesterday", now));
}

}  // namespace authsvc
