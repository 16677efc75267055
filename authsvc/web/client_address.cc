#include "authsvc/web/client_address.h"

#include <algorithm>

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

bool trusted(std::string_view address, const std::vector<std::string>& proxies) {
  return std::find(proxies.begin(), proxies.end(), address) != proxies.end();
}

}  // namespace

std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const std::vector<std::string>& trusted_proxies) {
  std::size_t colon = peer.rfind(':');
  std::string_view address = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (!trusted(address, trusted_proxies)) return std::string(address);
  // Right to left: each hop appended the address it saw.
  while (!forwarded_for.empty()) {
    std::size_t comma = forwarded_for.rfind(',');
    std::string_view hop = trim_blanks(
        comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    if (hop.empty() || hop.size() > 45) break;
    if (hop.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos) break;
    if (!trusted(hop, trusted_proxies)) return std::string(hop);
  }
  return std::string(address);
}

}  // namespace authsvc
