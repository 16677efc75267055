#include "authsvc/guardian/url.h"

#include <curl/curl.h>

#include <memory>
#include <new>

namespace authsvc {
namespace {

using Url = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// The part, or nullopt if the URL has none.
std::optional<std::string> part(const Url& u, CURLUPart which, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u.get(), which, &value, flags) != CURLUE_OK || value == nullptr) {
    return std::nullopt;
  }
  std::string out = value;
  curl_free(value);
  return out;
}

}  // namespace

std::string ServerUrl::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::optional<ServerUrl> parse_server_url(std::string_view text,
                                          std::initializer_list<std::string_view> schemes,
                                          std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ServerUrl> {
    *error = std::move(why);
    return std::nullopt;
  };
  Url u(curl_url(), curl_url_cleanup);
  if (!u) throw std::bad_alloc();
  const std::string url(text);
  // Schemes libcurl has no protocol for (amqp) too: `schemes` decides.
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
      rc != CURLUE_OK) {
    return fail(curl_url_strerror(rc));
  }
  ServerUrl out;
  out.scheme = part(u, CURLUPART_SCHEME).value_or("");  // libcurl lower-cases it
  bool known = false;
  std::string names;
  for (std::string_view s : schemes) {
    known = known || out.scheme == s;
    names += std::string(names.empty() ? "" : " or ") + std::string(s);
  }
  if (!known) return fail("the scheme must be " + names);
  // Present even when empty ("http://@host"): any of them is a credential.
  if (part(u, CURLUPART_USER) || part(u, CURLUPART_PASSWORD) || part(u, CURLUPART_OPTIONS)) {
    return fail("credentials do not belong in the URL; give the user and password options");
  }
  if (part(u, CURLUPART_QUERY) || part(u, CURLUPART_FRAGMENT)) {
    return fail("a query or fragment does not belong in the URL");
  }
  if (part(u, CURLUPART_ZONEID)) return fail("an IPv6 zone ID is not supported");
  out.host = part(u, CURLUPART_HOST).value_or("");
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) return fail("no host");
  // libcurl reads "host:" as "host" with the default port; a colon with
  // nothing after it is more likely a port left out by mistake.
  if (std::size_t scheme_end = url.find("://"); scheme_end != std::string::npos) {
    std::string_view authority = std::string_view(url).substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (!authority.empty() && authority.back() == ':') return fail("empty port");
  }
  std::optional<std::string> port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  out.port = port ? std::stoi(*port) : 0;  // libcurl checked it is 0 to 65535
  // AMQP's own (RFC-less, but the IANA's): libcurl knows no default.
  if (!port && out.scheme == "amqp") out.port = 5672;
  if (!port && out.scheme == "amqps") out.port = 5671;
  if (out.port < 1) return fail("bad port");
  out.path = part(u, CURLUPART_PATH).value_or("/");
  return out;
}

std::string redact_url(std::string_view url) {
  std::size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  // The last '@' anywhere, not only before the path: a password typed with
  // a raw '/', '?' or '#' in it ends the authority early. A path with an '@'
  // loses its host in the message, which is the safe way to be wrong.
  std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + "***" + std::string(url.substr(at));
}

}  // namespace authsvc
