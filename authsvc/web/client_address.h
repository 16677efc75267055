#pragma once
// Whom a request comes from, for the audit line and the per-address limits.
// Behind a reverse proxy every request comes from the proxy: then, and only
// when the peer is one of the trusted proxies, the client is the last
// address in X-Forwarded-For that is not itself a trusted proxy (the ones
// before it were written by the client, and may be anything).

#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// `peer` is "address:port" ("::1:8000" for IPv6, as the listener writes it).
std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const std::vector<std::string>& trusted_proxies);

}  // namespace authsvc
