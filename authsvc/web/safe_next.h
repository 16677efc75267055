#pragma once
// Where to go after signing in: a `next` parameter only ever names a path
// inside this site, so that a link cannot send someone, freshly signed in,
// to another site (an open redirect).

#include <string>
#include <string_view>

namespace authsvc {

// `next` when it is a path of this site: it starts with one '/' (not "//",
// which a browser reads as another host, nor "/\", which some read the
// same way), and holds only printable ASCII without backslashes, at most
// 512 bytes. Anything else gives `fallback`.
std::string safe_next(std::string_view next, std::string_view fallback = "/accounts");

}  // namespace authsvc
