#include "authsvc/web/safe_next.h"

namespace authsvc {

std::string safe_next(std::string_view next, std::string_view fallback) {
  if (next.size() > 512 || next.size() < 1 || next[0] != '/') return std::string(fallback);
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return std::string(fallback);
  for (char c : next) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '\\') return std::string(fallback);
  }
  return std::string(next);
}

}  // namespace authsvc
