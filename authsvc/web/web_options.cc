#include "authsvc/web/web_options.h"

#include <algorithm>

#include "authsvc/core/text.h"

namespace authsvc {

namespace {

std::string_view default_port_of(std::string_view url) {
  return url.rfind("https://", 0) == 0 ? ":443" : ":80";
}

std::string without_port(std::string_view authority, std::string_view port) {
  if (authority.ends_with(port)) authority.remove_suffix(port.size());
  return ascii_lower(authority);
}

}  // namespace

std::string WebOptions::public_authority() const {
  std::string_view rest = public_url;
  rest.remove_prefix(std::min(rest.size(), rest.find("://") + 3));
  return without_port(rest.substr(0, rest.find('/')), default_port_of(public_url));
}

bool WebOptions::is_public_host(std::string_view host) const {
  return without_port(host, default_port_of(public_url)) == public_authority();
}

}  // namespace authsvc
