#include "authsvc/web/cookies.h"

#include <fmt/format.h>

#include "authsvc/core/text.h"

namespace authsvc {
std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name) {
  std::optional<std::string_view> found;
  while (!cookie_header.empty()) {
    std::size_t semicolon = cookie_header.find(';');
    std::string_view pair = trim_blanks(cookie_header.substr(0, semicolon));
    cookie_header.remove_prefix(semicolon == std::string_view::npos ? cookie_header.size()
                                                                    : semicolon + 1);
    std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos || trim_blanks(pair.substr(0, equals)) != name) continue;
    if (found) return std::nullopt;
    std::string_view value = trim_blanks(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    found = value;
  }
  return found;
}

std::string CookieJar::name(std::string_view base) const {
  return secure ? fmt::format("__Host-{}", base) : std::string(base);
}

std::string CookieJar::set(std::string_view base, std::string_view value,
                           std::chrono::seconds max_age) const {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}", name(base), value,
                     max_age.count(), secure ? "; Secure" : "");
}

std::string CookieJar::clear(std::string_view base) const {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", name(base),
                     secure ? "; Secure" : "");
}

}  // namespace authsvc
