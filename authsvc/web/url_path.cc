#include "authsvc/web/url_path.h"

#include "authsvc/core/text.h"

namespace authsvc {

std::optional<std::vector<std::string>> path_segments(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> segments;
  if (path == "/") return segments;
  path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    std::string_view raw = path.substr(0, slash);
    if (raw.empty()) return std::nullopt;
    std::string segment;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        segment.push_back(raw[i]);
        continue;
      }
      if (i + 2 >= raw.size()) return std::nullopt;
      int high = hex_digit_value(raw[i + 1]);
      int low = hex_digit_value(raw[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      segment.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
    if (segment == "." || segment == ".." || has_control(segment)) return std::nullopt;
    segments.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace authsvc
