#pragma once
// The URLs of the servers the guardian talks to: the broker's management
// API (http, https), its AMQP port (amqp, amqps: the message sampler) and
// the mail server (smtp, smtps). Read with libcurl's
// URL API, which libcurl's own requests use, rather than by hand.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

struct ServerUrl {
  std::string scheme;  // lower case
  std::string host;    // a name or an address; an IPv6 address without brackets
  int port = 0;        // as given, else the scheme's default (amqp 5672, amqps 5671)
  std::string path;    // "/" if none; as given, but for "." and ".." segments resolved

  // scheme://host:port, an IPv6 address in brackets.
  std::string origin() const;
};

// `url` parsed, if it is an absolute URL whose scheme is one of `schemes`
// (lower case; the URL's is compared without regard to case), with a host,
// a port from 1 to 65535 if it gives one, and no user, password or login
// options, no query and no fragment. Otherwise nullopt, and *error says why
// in a few words, without quoting the URL (the caller names it, through
// redact_url).
std::optional<ServerUrl> parse_server_url(std::string_view url,
                                          std::initializer_list<std::string_view> schemes,
                                          std::string* error);

// `url` as a message may name it: everything between the scheme's "://"
// and the last '@' (user, password, login options) replaced by "***".
// Credentials are refused in these URLs, and the message that refuses them
// must not show them.
std::string redact_url(std::string_view url);

}  // namespace authsvc
