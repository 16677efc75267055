#pragma once
// The web's cookies: read from a Cookie header, written as Set-Cookie.
//
// Every cookie is HttpOnly (no script reads it), Path=/, and SameSite=Lax:
// Strict would drop the sign-in cookie on the provider's cross-site
// redirect back to /callback. Over https it is also Secure and its name
// carries the __Host- prefix, which browsers accept only from a secure
// origin, with Path=/ and no Domain: another host, or plain http, cannot
// set or shadow it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

// The value of the cookie `name` in a Cookie header's value; nullopt if
// absent. With the name more than once (a shadowing attempt), nullopt too:
// which one the browser meant cannot be told.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

struct CookieJar {
  bool secure = false;  // the public URL is https

  // The name a cookie goes by: "__Host-" + base when secure.
  std::string name(std::string_view base) const;
  // A Set-Cookie value that sets `base` to `value` (cookie-safe text, as
  // tokens are) for `max_age`.
  std::string set(std::string_view base, std::string_view value,
                  std::chrono::seconds max_age) const;
  // A Set-Cookie value that makes the browser forget `base`.
  std::string clear(std::string_view base) const;
};

}  // namespace authsvc
