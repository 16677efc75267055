#include "authsvc/server/listening_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace authsvc {

ListeningSocket::ListeningSocket(const std::string& host, int port)
    : where_(host + ":" + std::to_string(port)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    throw ListenError("cannot listen on " + where_ + ": " + gai_strerror(rc));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  socklen_t length = found->ai_addrlen;
  ipv6_ = found->ai_family == AF_INET6;
  freeaddrinfo(found);

  auto fail = [&] {
    int error = errno;
    if (fd_ >= 0) ::close(fd_);
    throw ListenError("cannot listen on " + where_ + ": " + std::strerror(error));
  };
  fd_ = ::socket(ipv6_ ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail();
  // Not SO_REUSEPORT: with it a second serve on the same port started and
  // shared the broker's questions with the first.
  int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (ipv6_) ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) != 0) fail();
  if (::listen(fd_, SOMAXCONN) != 0) fail();
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail();
  }

  char text[INET6_ADDRSTRLEN] = "";
  if (ipv6_) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&address);
    port_ = ntohs(a6->sin6_port);
    in6_addr a = a6->sin6_addr;
    if (IN6_IS_ADDR_UNSPECIFIED(&a)) a = in6addr_loopback;
    inet_ntop(AF_INET6, &a, text, sizeof text);
  } else {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(&address);
    port_ = ntohs(a4->sin_port);
    in_addr a = a4->sin_addr;
    if (a.s_addr == htonl(INADDR_ANY)) a.s_addr = htonl(INADDR_LOOPBACK);
    inet_ntop(AF_INET, &a, text, sizeof text);
  }
  local_host_ = text;
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

ListeningSocket::ListeningSocket(ListeningSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      port_(other.port_),
      ipv6_(other.ipv6_),
      local_host_(std::move(other.local_host_)),
      where_(std::move(other.where_)) {}

int ListeningSocket::release() { return std::exchange(fd_, -1); }

}  // namespace authsvc
