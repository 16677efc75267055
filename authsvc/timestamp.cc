#include "authsvc/timestamp.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace authsvc {

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  auto micros = std::chrono::time_point_cast<std::chrono::microseconds>(t);
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(micros);
  auto fraction = (micros - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(seconds)), fraction);
}

}  // namespace authsvc
