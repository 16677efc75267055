#include "authsvc/guardian/url.h"

namespace authsvc {

std::string redact_url(std::string_view url) {
  std::size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  // The last '@' anywhere, not only before the path: a password typed with
  // a raw '/', '?' or '#' in it ends the authority early. A path with an '@'
  // loses its host in the message, which is the safe way to be wrong.
  std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + "***" + std::string(url.substr(at));
}

}  // namespace authsvc
