#include "authsvc/web/client_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "authsvc/core/text.h"

namespace authsvc {
namespace {

// An address in network order: 4 bytes (IPv4) or 16 (IPv6).
struct Address {
  std::array<unsigned char, 16> bytes{};
  int size = 0;
};

std::optional<Address> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string copy(text);
  Address a;
  if (inet_pton(AF_INET, copy.c_str(), a.bytes.data()) == 1) {
    a.size = 4;
  } else if (inet_pton(AF_INET6, copy.c_str(), a.bytes.data()) == 1) {
    a.size = 16;
  } else {
    return std::nullopt;
  }
  // An IPv4 client of a dual-stack listener, ::ffff:a.b.c.d, is a.b.c.d.
  constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.size == 16 && std::equal(kMapped.begin(), kMapped.end(), a.bytes.begin())) {
    std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
    std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
    a.size = 4;
  }
  return a;
}

struct Network {
  Address base;
  int bits = 0;
};

std::optional<Network> parse_network(std::string_view text, std::string* problem) {
  std::size_t slash = text.find('/');
  std::optional<Address> base = parse_address(text.substr(0, slash));
  if (!base) {
    *problem = "not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  Network n{*base, base->size * 8};
  if (slash == std::string_view::npos) return n;
  std::string_view bits = text.substr(slash + 1);
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n.bits);
  if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || n.bits < 0 ||
      n.bits > base->size * 8) {
    *problem = fmt::format("the prefix length must be 0 to {}", base->size * 8);
    return std::nullopt;
  }
  for (int bit = n.bits; bit < base->size * 8; ++bit) {
    if (base->bytes[bit / 8] & (0x80 >> (bit % 8))) {
      *problem = "it has bits set past its prefix length";
      return std::nullopt;
    }
  }
  return n;
}

bool contains(const Network& network, const Address& address) {
  if (network.base.size != address.size) return false;
  for (int bit = 0; bit < network.bits; ++bit) {
    unsigned char mask = 0x80 >> (bit % 8);
    if ((network.base.bytes[bit / 8] & mask) != (address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// Entries that do not parse trust nothing: start-up refuses them
// (trusted_proxy_problem), and here they must not widen anything.
bool trusted(std::string_view address, const std::vector<std::string>& proxies) {
  std::optional<Address> parsed = parse_address(address);
  if (!parsed) return false;
  return std::any_of(proxies.begin(), proxies.end(), [&](const std::string& proxy) {
    std::string problem;
    std::optional<Network> network = parse_network(proxy, &problem);
    return network && contains(*network, *parsed);
  });
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
    if (!parse_address(hop)) break;
    if (!trusted(hop, trusted_proxies)) return std::string(hop);
  }
  return std::string(address);
}

std::string trusted_proxy_problem(std::string_view proxy) {
  std::string problem;
  return parse_network(proxy, &problem) ? "" : problem;
}

std::string limit_key(std::string_view client) {
  std::optional<Address> parsed = parse_address(client);
  if (!parsed) return std::string(client);
  if (parsed->size == 4) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, parsed->bytes.data(), text, sizeof text);
    return text;
  }
  Address prefix = *parsed;
  std::fill(prefix.bytes.begin() + 8, prefix.bytes.end(), 0);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, prefix.bytes.data(), text, sizeof text);
  return std::string(text) + "/64";
}

}  // namespace authsvc
