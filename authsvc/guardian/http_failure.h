#pragma once
// What went wrong with a request that got no answer, in words, for the
// clients built on cpp-httplib (the management API here, the OpenID
// provider's in web/). The header names no httplib type, so that including
// it pulls in no HTTP library: callers pass httplib::Error as its number.

#include <string>
#include <string_view>

namespace authsvc {

// `error` is static_cast<int>(httplib::Error); `peer` names the other side
// in a failed certificate check ("the broker", "the provider").
std::string describe_http_failure(int error, std::string_view peer);

}  // namespace authsvc
