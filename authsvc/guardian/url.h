#pragma once
// The URLs of the servers the guardian talks to: the broker's management
// API (http, https) and the mail server (smtp, smtps).

#include <string>
#include <string_view>

namespace authsvc {

// `url` as a message may name it: everything between the scheme's "://"
// and the last '@' (user, password, login options) replaced by "***".
// Credentials are refused in these URLs, and the message that refuses them
// must not show them.
std::string redact_url(std::string_view url);

}  // namespace authsvc
