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
// `forwarded_for` is every X-Forwarded-For line, joined with ", " (a proxy
// may add a line of its own after the client's rather than extend it).
// `trusted_proxies` are addresses or networks ("10.0.0.0/8", "fd00::/8").
std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           const std::vector<std::string>& trusted_proxies);

// Why `proxy` is not an IPv4 or IPv6 address or network ADDRESS/BITS (with
// no bit set past BITS); "" if it is one.
std::string trusted_proxy_problem(std::string_view proxy);

// What the per-address limits count a client under: an IPv4 address as it
// is, an IPv6 address as its /64 (one site's, or one host's, whole
// allocation: counted per address, one host could take 2^64 turns).
std::string limit_key(std::string_view client);

}  // namespace authsvc
