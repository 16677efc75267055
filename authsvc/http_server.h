#pragma once
// The HTTP listener: cpp-httplib, configured for a broker that keeps its
// connections open, in front of AuthService. Nothing here decides anything.
//
// Tuning that matters (measured with Debian's cpp-httplib 0.11.4):
// TCP_NODELAY, or every POST answer waits ~40 ms on Nagle against delayed
// ACK; a keep-alive limit far above the default 5 requests a connection;
// and a keep-alive timeout longer than the broker's (Erlang httpc closes
// idle connections after 120 s), so that the client, never the server,
// closes an idle connection and no request races a closing socket.

#include <memory>
#include <string>

#include "authsvc/auth_service.h"

namespace httplib {
class Server;
}

namespace authsvc {

struct HttpServerOptions {
  int threads = 32;  // cpp-httplib holds one thread per open connection
  std::size_t max_body_bytes = 64 * 1024;
  int keep_alive_seconds = 150;
  int read_timeout_seconds = 10;
};

class HttpServer {
 public:
  HttpServer(const AuthService& service, HttpServerOptions options);
  ~HttpServer();

  // Binds host:port (port 0: any free port). False with *error if it cannot.
  bool bind(const std::string& host, int port, std::string* error);
  int port() const { return port_; }
  // Serves until stop(); call after bind().
  void run();
  // Safe from any thread; in-flight requests finish.
  void stop();

 private:
  const AuthService& service_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
};

// Splits "HOST:PORT" ("[::1]:8000" for IPv6). False if malformed.
bool parse_listen_address(const std::string& text, std::string* host, int* port);

}  // namespace authsvc
