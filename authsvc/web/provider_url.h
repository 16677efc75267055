#pragma once
// The OpenID provider's URLs: its issuer, and the endpoints its discovery
// document names. Read as the guardian reads the broker's URL
// (guardian/url.h, libcurl's URL API), but for two things: an endpoint may
// have a query, which requests to it keep (RFC 6749 3.1, 3.2), and plain
// http is accepted only where asked and only on a loopback host, where no
// one else sees the traffic (a provider run beside authsvc, or in tests).

#include <optional>
#include <string>
#include <string_view>

#include "authsvc/guardian/url.h"

namespace authsvc {

struct ProviderUrl {
  ServerUrl server;   // scheme, host, port, path
  std::string query;  // after the '?', "" if none

  // The path and query, as an HTTP request's target.
  std::string target() const { return query.empty() ? server.path : server.path + "?" + query; }
};

// `url` if it is an absolute https URL with a host and no credentials or
// fragment, or (if `loopback_http`) an http URL on a loopback host;
// otherwise nullopt, and *error says why in a few words without quoting it.
std::optional<ProviderUrl> parse_provider_url(std::string_view url, bool loopback_http,
                                              std::string* error);

// Whether `host` (a ServerUrl's) is "localhost", an address in
// 127.0.0.0/8, or ::1.
bool is_loopback_host(std::string_view host);

}  // namespace authsvc
