#include "authsvc/guardian/expiry_notice.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const Clock::time_point kExpiry = Clock::time_point(days(20000));
const std::vector<seconds> kWeekAndDay = {days(7), days(1)};

std::optional<seconds> due_at(Clock::duration before_expiry,
                              std::optional<seconds> last_sent = std::nullopt,
                              const std::vector<seconds>& leads = kWeekAndDay) {
  return due_expiry_notice(kExpiry, leads, last_sent, kExpiry - before_expiry);
}

}  // namespace

TEST_CASE("expiry notice: each lead is due from its time on, to the expiry") {
  CHECK_FALSE(due_at(days(8)));
  CHECK_FALSE(due_at(days(7) + seconds(1)));
  CHECK(due_at(days(7)) == days(7));  // at its time exactly
  CHECK(due_at(days(2)) == days(7));
  CHECK(due_at(days(1) + seconds(1)) == days(7));
  CHECK(due_at(days(1)) == days(1));
  CHECK(due_at(seconds(1)) == days(1));
  // Expired: no notice any more (the guardian closes its connections).
  CHECK_FALSE(due_at(seconds(0)));
  CHECK_FALSE(due_at(-hours(1)));
}

TEST_CASE("expiry notice: each goes once, and a shorter one still goes after a longer one") {
  CHECK_FALSE(due_at(days(3), days(7)));  // the 7-day notice went
  CHECK(due_at(hours(23), days(7)) == days(1));
  CHECK_FALSE(due_at(hours(23), days(1)));
  CHECK_FALSE(due_at(hours(1), days(1)));
  // A shorter one recorded (a lead the operator has since dropped) covers
  // the longer ones: they would come too late to say anything new.
  CHECK_FALSE(due_at(days(3), hours(1)));
}

TEST_CASE("expiry notice: when several are due at once, only the latest-due one") {
  // Set to expire in 12 hours: the 7-day and the 1-day notices are both due.
  CHECK(due_at(hours(12)) == days(1));
  CHECK_FALSE(due_at(hours(12), days(1)));
  // The leads' order does not matter.
  CHECK(due_at(hours(12), std::nullopt, {days(1), days(7), hours(13)}) == hours(13));
  CHECK(due_at(hours(12), std::nullopt, {hours(11)}) == std::nullopt);
  CHECK_FALSE(due_at(hours(12), std::nullopt, {}));
}

TEST_CASE("expiry notice: --expiry-notice takes a comma list of durations above zero") {
  std::string error;
  CHECK(parse_expiry_notice_leads("7d,1d", &error) == kWeekAndDay);
  CHECK(parse_expiry_notice_leads("1d,7d,1d,24h", &error) == kWeekAndDay);
  CHECK(parse_expiry_notice_leads("90s", &error) == std::vector<seconds>{seconds(90)});
  CHECK(parse_expiry_notice_leads("2h,30m", &error) == std::vector<seconds>{hours(2), minutes(30)});
  CHECK(default_expiry_notice_leads() == kWeekAndDay);
  for (const char* bad :
       {"", "7", "7d,", ",1d", "7d, 1d", "0", "0s", "-1d", "1w", "7d;1d", "1h30m", "abc"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(parse_expiry_notice_leads(bad, &error));
    CHECK(error.find("--expiry-notice: '") == 0);
    CHECK(error.find('\n') == std::string::npos);
  }
}

}  // namespace authsvc
