// What reading an audit line back costs, in process, on a real-sized log:
// scan_audit_line (what `authsvc audit` does to every line) against
// nlohmann::json::parse with the same fields looked up, the obvious way to
// write it. Not a test; prints figures. tests/bench/audit_bench.py makes a
// log to give it.
//
//   build/tests/bench/audit_scan_bench FILE [megabytes to read, default 256]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "authsvc/core/audit_line_scan.h"

using namespace authsvc;

namespace {

template <typename F>
void measure(const char* what, std::string_view text, F&& per_line) {
  auto start = std::chrono::steady_clock::now();
  std::size_t lines = 0;
  std::size_t good = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t newline = text.find('\n', at);
    if (newline == std::string_view::npos) newline = text.size();
    good += per_line(text.substr(at, newline - at)) ? 1 : 0;
    ++lines;
    at = newline + 1;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-28s %6.3f s  %6.0f MB/s  %5.0f ns/line  (%zu of %zu lines read)\n", what, s,
              static_cast<double>(text.size()) / s / 1e6, s * 1e9 / static_cast<double>(lines),
              good, lines);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audit_scan_bench FILE [megabytes]\n");
    return 2;
  }
  std::size_t limit = (argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256) << 20;
  std::ifstream file(argv[1], std::ios::binary);
  std::string text(limit, '\0');
  file.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (std::size_t last = text.rfind('\n'); last != std::string::npos) text.resize(last + 1);

  std::string error;
  measure("scan_audit_line", text, [&](std::string_view line) {
    std::optional<AuditLineView> view = scan_audit_line(line, &error);
    return view && view->user.equals("alice");
  });
  measure("nlohmann::json::parse", text, [&](std::string_view line) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    return !j.is_discarded() && j.is_object() && j.contains("ts") && j.value("user", "") == "alice";
  });
  return 0;
}
