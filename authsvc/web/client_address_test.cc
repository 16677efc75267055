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
  CHECK(client_address("10.0.0.2:40000", "999.1.1.1", proxies) == "10.0.0.2");
}

TEST_CASE("trusted proxies may be networks, and a dual-stack peer's IPv4 is IPv4") {
  const std::vector<std::string> proxies{"10.0.0.0/8", "fd00::/8", "192.0.2.1"};
  CHECK(client_address("10.200.3.4:1", "198.51.100.1", proxies) == "198.51.100.1");
  CHECK(client_address("11.0.0.1:1", "198.51.100.1", proxies) == "11.0.0.1");
  CHECK(client_address("fd12::1:1", "198.51.100.1", proxies) == "198.51.100.1");
  CHECK(client_address("fe80::1:1", "198.51.100.1", proxies) == "fe80::1");
  CHECK(client_address("::ffff:10.1.1.1:1", "198.51.100.1", proxies) == "198.51.100.1");
  // Every hop inside a trusted network is skipped.
  CHECK(client_address("10.0.0.9:1", "198.51.100.1, 10.1.1.1, 10.2.2.2", proxies) ==
        "198.51.100.1");
  // An entry that does not parse trusts nothing (start-up refuses it).
  CHECK(client_address("10.0.0.9:1", "198.51.100.1", {"10.0.0.0/99"}) == "10.0.0.9");
}

TEST_CASE("a trusted proxy is an address or a network, exactly") {
  for (const char* good : {"10.0.0.2", "10.0.0.0/8", "0.0.0.0/0", "::1", "fd00::/8",
                           "2001:db8::/32", "192.0.2.1/32"}) {
    CAPTURE(good);
    CHECK(trusted_proxy_problem(good).empty());
  }
  CHECK(trusted_proxy_problem("proxy.internal") == "not an IPv4 or IPv6 address");
  CHECK(trusted_proxy_problem("10.0.0.0/33") == "the prefix length must be 0 to 32");
  CHECK(trusted_proxy_problem("fd00::/129") == "the prefix length must be 0 to 128");
  CHECK(trusted_proxy_problem("10.0.0.0/") == "the prefix length must be 0 to 32");
  CHECK(trusted_proxy_problem("10.0.0.0/8x") == "the prefix length must be 0 to 32");
  CHECK(trusted_proxy_problem("10.0.0.1/8") == "it has bits set past its prefix length");
  CHECK(trusted_proxy_problem("") == "not an IPv4 or IPv6 address");
}

TEST_CASE("the limits count an IPv6 client by its /64, an IPv4 one by its address") {
  CHECK(limit_key("203.0.113.7") == "203.0.113.7");
  CHECK(limit_key("::ffff:203.0.113.7") == "203.0.113.7");
  CHECK(limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(limit_key("2001:db8:1:2::1") == limit_key("2001:db8:1:2:ffff::9"));
  CHECK(limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1"));
  CHECK(limit_key("not an address") == "not an address");
}

}  // namespace authsvc
