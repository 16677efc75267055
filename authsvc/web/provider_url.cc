#include "authsvc/web/provider_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "authsvc/core/text.h"

namespace authsvc {

bool is_loopback_host(std::string_view host) {
  if (ascii_lower(host) == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::optional<ProviderUrl> parse_provider_url(std::string_view url, bool loopback_http,
                                              std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ProviderUrl> {
    *error = std::move(why);
    return std::nullopt;
  };
  if (url.find('#') != std::string_view::npos) return fail("a fragment does not belong in it");
  // The first '?' ends the authority and the path, for libcurl and for
  // browsers alike; what follows is kept as it is, so it must be printable.
  std::size_t q = url.find('?');
  ProviderUrl out;
  if (q != std::string_view::npos) {
    out.query = std::string(url.substr(q + 1));
    for (unsigned char c : out.query) {
      if (c <= ' ' || c >= 0x7f) return fail("the query has a space, control or non-ASCII byte");
    }
  }
  std::optional<ServerUrl> server = parse_server_url(url.substr(0, q), {"https", "http"}, error);
  if (!server) return std::nullopt;
  if (server->scheme == "http" && !(loopback_http && is_loopback_host(server->host))) {
    return fail(loopback_http ? "plain http is accepted only on a loopback host"
                              : "it must be https");
  }
  out.server = std::move(*server);
  return out;
}

}  // namespace authsvc
