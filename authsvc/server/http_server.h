#pragma once
// The HTTP listener in front of an HttpHandler (core/http_call.h): the
// broker's AuthService in `serve`, the web in `authsvc web`. GNU
// libmicrohttpd, event-driven (epoll) with a small thread pool. Nothing here
// decides anything.
//
// Why not cpp-httplib, the project's HTTP client: its server holds one
// thread per open connection and polls idle keep-alive connections every
// 10 ms, so the broker's long-lived connections cost threads and wake-ups,
// and a shutdown waits for every idle connection's keep-alive timeout
// (minutes). libmicrohttpd serves any number of idle connections from a
// few threads and closes them all on stop. Measured figures: README,
// Performance.
//
// Every request whose request line could be read reaches the handler
// exactly once: answered by handle(), or refused by this layer (oversized,
// malformed headers, timed out, aborted) through refuse(), which audits it.
//
// Idle keep-alive connections are closed after `idle_timeout_seconds`,
// longer than the broker's own idle timeout (Erlang httpc: 120 s), so that
// the broker, never authsvc, closes an idle connection and no request races
// a closing socket.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "authsvc/core/error.h"
#include "authsvc/core/http_call.h"
#include "authsvc/server/listening_socket.h"
#include "authsvc/server/tls.h"

struct MHD_Daemon;
struct MHD_Response;

namespace authsvc {

struct HttpServerOptions {
  // Event loops, each serving any number of connections. One answers about
  // 90-100k requests/s here, far beyond what a broker asks; more threads
  // mostly compete with the broker for cores (measured: README).
  unsigned threads = 1;
  std::size_t max_body_bytes = 64 * 1024;  // larger bodies: 413
  unsigned idle_timeout_seconds = 150;     // see above
  unsigned max_connections = 4096;
  // HTTPS instead of HTTP when set; with a client CA, only clients holding
  // a certificate it signed get an answer (tls.h). A TLS connection that
  // closes without any request (a failed handshake, a plain-HTTP client) is
  // audited too, with rule "tls".
  std::shared_ptr<const TlsCredentials> tls;
};

class HttpServer {
 public:
  HttpServer(const HttpHandler& handler, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free port) and starts serving. Throws
  // ListenError if it cannot.
  void bind(const std::string& host, int port);
  // Starts serving a socket opened beforehand (listening_socket.h says
  // why); the server closes it when it stops. Throws ListenError if it
  // cannot.
  void serve_on(ListeningSocket socket);
  int port() const { return port_; }
  // Connections open now, across the event loops (for metrics).
  unsigned open_connections() const;
  // Whether an event loop answers now: a request over loopback to the
  // listener's own port, for a path of its own that only this object knows
  // (random per process), answered by this layer within `timeout`: never
  // by the handler, never audited. With several event loops it proves the
  // one that took it. Costs each request one comparison of its first bytes.
  // On an HTTPS listener it only says whether the listener runs: a probe
  // there would need a client certificate.
  bool answers(std::chrono::milliseconds timeout) const;
  bool is_probe(std::string_view target) const { return target == probe_target_; }
  // Blocks until stop(); then closes every connection, after in-flight
  // requests are answered (and audited).
  void run();
  // Safe from any thread and from a signal-waiting thread.
  void stop();

  // Used by the libmicrohttpd callbacks.
  struct Request;
  struct CannedResponses {
    MHD_Response* allow = nullptr;
    MHD_Response* deny = nullptr;
  };
  const CannedResponses& canned() const { return canned_; }
  const HttpHandler& handler() const { return handler_; }
  const HttpServerOptions& options() const { return options_; }

 private:
  const HttpHandler& handler_;
  HttpServerOptions options_;
  CannedResponses canned_;
  mutable std::mutex daemon_mutex_;  // daemon_, for open_connections() against run()
  MHD_Daemon* daemon_ = nullptr;
  int port_ = -1;
  std::string probe_host_;  // the numeric address answers() connects to
  std::string probe_target_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
};

struct ListenAddress {
  std::string host;
  int port = 0;
};

// "HOST:PORT" ("[::1]:8000" for IPv6) split; nullopt if malformed.
std::optional<ListenAddress> parse_listen_address(const std::string& text);

}  // namespace authsvc
