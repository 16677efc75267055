#include "authsvc/web/client_address.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("the client is the peer, unless the peer is a trusted proxy") {
  const std::vector<std::string> none;
  const std::vector<std::string> proxies{"10.0.0.2", "::1"};
  CHECK(client_address("203.0.113.7:51234", "", none) == "203.0.113.7");
  CHECK(client_address("::1:51234", "", none) == "::1");
  // An untrusted peer's X-Forwarded-For is whatever it wants it to be.
  CHECK(client_address("203.0.113.7:51234", "198.51.100.1", none) == "203.0.113.7");
  CHECK(client_address("203.0.113.7:51234", "198.51.100.1", proxies) == "203.0.113.7");
  // Behind the proxy: the address the proxy saw, not what the client wrote.
  CHECK(client_address("10.0.0.2:40000", "198.51.100.1", proxies) == "198.51.100.1");
  CHECK(client_address("10.0.0.2:40000", "1.2.3.4, 198.51.100.1", proxies) == "198.51.100.1");
  CHECK(client_address("10.0.0.2:40000", "1.2.3.4, 198.51.100.1, ::1", proxies) == "198.51.100.1");
  CHECK(client_address("::1:40000", "2001:db8::7", proxies) == "2001:db8::7");
  // Nothing usable forwarded: the proxy itself.
  CHECK(client_address("10.0.0.2:40000", "", proxies) == "10.0.0.2");
  CHECK(client_address("10.0.0.2:40000", "<script>", proxies) == "10.0.0.2");
  CHECK(client_address("10.0.0.2:40000", "unknown, 10.0.0.2", proxies) == "10.0.0.2");
}

}  // namespace authsvc
