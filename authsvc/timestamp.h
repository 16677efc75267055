#pragma once

#include <chrono>
#include <string>

namespace authsvc {

// "2026-11-27T23:18:49.123456Z": RFC 3339, UTC, microseconds.
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

}  // namespace authsvc
