#include "authsvc/core/timestamp.h"

#include <charconv>
#include <cstring>

namespace authsvc {
namespace {

// `value` as exactly `width` digits, zero-padded, at `out`.
char* put_digits(char* out, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

}  // namespace

void format_rfc3339_utc(std::chrono::system_clock::time_point t, Rfc3339Buffer* out) {
  using namespace std::chrono;
  // The date costs more than the rest of an audit line; it only changes
  // once a second, so each thread keeps the last one.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached_prefix[20];  // "2026-11-27T23:18:49"
  auto micros = time_point_cast<microseconds>(t).time_since_epoch().count();
  std::int64_t second = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  std::int64_t fraction = micros - second * 1'000'000;
  if (second != cached_second) {
    sys_seconds whole{seconds(second)};
    sys_days day = floor<days>(whole);
    year_month_day date{day};
    hh_mm_ss<seconds> time{whole - day};
    char* p = cached_prefix;
    p = put_digits(p, static_cast<int>(date.year()), 4);
    *p++ = '-';
    p = put_digits(p, static_cast<unsigned>(date.month()), 2);
    *p++ = '-';
    p = put_digits(p, static_cast<unsigned>(date.day()), 2);
    *p++ = 'T';
    p = put_digits(p, time.hours().count(), 2);
    *p++ = ':';
    p = put_digits(p, time.minutes().count(), 2);
    *p++ = ':';
    put_digits(p, time.seconds().count(), 2);
    cached_second = second;
  }
  std::memcpy(out->text, cached_prefix, sizeof cached_prefix - 1);
  char* p = out->text + sizeof cached_prefix - 1;
  *p++ = '.';
  p = put_digits(p, fraction, 6);
  *p++ = 'Z';
  out->size = static_cast<std::size_t>(p - out->text);
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  Rfc3339Buffer buffer;
  format_rfc3339_utc(t, &buffer);
  return std::string(buffer.view());
}

namespace {

// text[at, at + n) as a number, if it is n digits.
bool parse_digits(std::string_view text, std::size_t at, std::size_t n, int* out) {
  if (at + n > text.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

struct UnixTime {
  std::int64_t seconds;
  std::int64_t micros;  // 0 to 999999: digits past the sixth are dropped
};

// Days since the epoch of the "YYYY-MM-DD" at the start of `text`, if it is
// a date. The lines of a log share their date, and reading it costs more
// than the rest of a timestamp, so each thread keeps the last one (as
// format_rfc3339_utc keeps the last second it wrote).
std::optional<std::int64_t> days_of_date(std::string_view text) {
  thread_local bool cached = false;
  thread_local char cached_date[10];
  thread_local std::int64_t cached_days = 0;
  if (cached && text.size() >= sizeof cached_date &&
      std::memcmp(text.data(), cached_date, sizeof cached_date) == 0) {
    return cached_days;
  }
  int year, month, day;
  if (text.size() < 10 || !parse_digits(text, 0, 4, &year) || text[4] != '-' ||
      !parse_digits(text, 5, 2, &month) || text[7] != '-' || !parse_digits(text, 8, 2, &day)) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  std::memcpy(cached_date, text.data(), sizeof cached_date);
  cached_days = std::chrono::sys_days(date).time_since_epoch().count();
  cached = true;
  return cached_days;
}

std::optional<UnixTime> parse_rfc3339(std::string_view text) {
  int hour, minute, second;
  std::optional<std::int64_t> days = days_of_date(text);
  if (!days || text.size() < 20 || text[10] != 'T' || !parse_digits(text, 11, 2, &hour) ||
      text[13] != ':' || !parse_digits(text, 14, 2, &minute) || text[16] != ':' ||
      !parse_digits(text, 17, 2, &second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (text[at] == '.') {
    ++at;
    std::int64_t scale = 100'000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      micros += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
  }
  if (at + 1 != text.size() || text[at] != 'Z') return std::nullopt;
  return UnixTime{*days * 86400 + hour * 3600 + minute * 60 + second, micros};
}

}  // namespace

std::optional<std::int64_t> rfc3339_to_unix_ms(std::string_view text) {
  std::optional<UnixTime> t = parse_rfc3339(text);
  if (!t) return std::nullopt;
  return t->seconds * 1000 + t->micros / 1000;
}

std::optional<std::int64_t> rfc3339_to_unix_us(std::string_view text) {
  std::optional<UnixTime> t = parse_rfc3339(text);
  if (!t) return std::nullopt;
  return t->seconds * 1'000'000 + t->micros;
}

bool has_passed(std::string_view rfc3339, std::chrono::system_clock::time_point now) {
  std::optional<std::int64_t> ms = rfc3339_to_unix_ms(rfc3339);
  return ms && std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms)) <= now;
}

}  // namespace authsvc
