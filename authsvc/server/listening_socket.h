#pragma once
// A TCP socket bound to HOST:PORT and listening, before anything answers on
// it: HttpServer::serve_on() then serves it. A process opens its socket
// first when it must know its port before it can serve: serve and web name
// their node after the port they listen on (port 0: the one the kernel
// picked), and that name is in every audit line, the first of which may be
// written before the listener runs (serve copies the store's pending events
// as it loads the users). Connections that arrive meanwhile wait in the
// kernel's backlog and are answered once the server runs.

#include <string>

#include "authsvc/core/error.h"

namespace authsvc {

// An address that cannot be listened on (taken, not resolvable, not ours).
class ListenError : public Error {
 public:
  using Error::Error;
};

class ListeningSocket {
 public:
  // As libmicrohttpd would open it: SO_REUSEADDR (a restart binds at once;
  // a second listener on the port is refused), IPv6 only for an IPv6
  // address, close-on-exec. Throws ListenError, "cannot listen on
  // HOST:PORT: why".
  ListeningSocket(const std::string& host, int port);
  ~ListeningSocket();  // closes it, unless released
  ListeningSocket(ListeningSocket&& other) noexcept;
  ListeningSocket& operator=(ListeningSocket&&) = delete;

  int port() const { return port_; }  // the bound one, also for port 0
  bool ipv6() const { return ipv6_; }
  // The numeric address a client on this machine reaches it at: its own,
  // or loopback for a socket on every address.
  const std::string& local_host() const { return local_host_; }
  // HOST:PORT as asked for, for messages.
  const std::string& where() const { return where_; }
  // The descriptor, now the caller's to close.
  int release();

 private:
  int fd_ = -1;
  int port_ = 0;
  bool ipv6_ = false;
  std::string local_host_;
  std::string where_;
};

}  // namespace authsvc
