#pragma once
// One HTTP request in, one answer out, independent of any HTTP library: what
// the listener (server/http_server.h) hands to whoever answers on it, the
// broker's auth API (auth_service.h) or the web (web/).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authsvc {

// The request's header fields, looked up when asked: the broker's requests
// never need them, so the listener copies none.
class HttpHeaders {
 public:
  virtual ~HttpHeaders() = default;
  // The value of the field `name` (compared without case); "" if absent.
  // Of a field sent on several lines, the first.
  virtual std::string_view get(std::string_view name) const = 0;
  // Every line of the field `name`, joined with ", " (RFC 9110 5.3), for a
  // list a proxy may extend with a line of its own (X-Forwarded-For).
  virtual std::string get_all(std::string_view name) const { return std::string(get(name)); }
};

struct HttpCall {
  std::string_view method;
  std::string_view path;   // raw, without the query string
  std::string_view query;  // raw, without the '?'
  std::string_view content_type;
  std::string_view body;
  std::string_view peer;  // "address:port" of the HTTP client
  // Alive while the call is being answered; null where there are none (tests).
  const HttpHeaders* headers = nullptr;

  std::string_view header(std::string_view name) const {
    return headers ? headers->get(name) : std::string_view();
  }
};

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain";
  // More header fields, in order (Set-Cookie may repeat).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// Whoever answers on a listener. Both calls may come from several threads
// at once.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpAnswer handle(const HttpCall& call) const = 0;
  // Records and answers a request the HTTP layer refused before it reached
  // handle() (oversized, unparsable): `status` is its 4xx, or 0 when the
  // HTTP library answered (or dropped) it on its own. `rule` names the layer
  // that refused it: "bad-request", or "tls" for a client the TLS layer did
  // not accept.
  virtual HttpAnswer refuse(const HttpCall& call, int status, std::string_view reason,
                            std::string_view rule = "bad-request") const = 0;
};

}  // namespace authsvc
