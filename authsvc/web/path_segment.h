#pragma once
// One value as one segment of a URL path, for the links and form actions
// the pages write (/accounts/NAME/rotate, /apikeys/ID/revoke). Account
// names are validated before they reach a page, but a page does not rely
// on it: a name holding '/', '?' or '#' must still name that account and
// nothing else.

#include <string>
#include <string_view>

namespace authsvc {

// `value` as form_encoded() writes it (core/form.h: every byte but RFC
// 3986's unreserved ones as %XX), so that it stays one path segment; ""
// stays "". "." and ".." are written %2E and %2E%2E: a browser would
// otherwise resolve them as the current and the parent folder.
std::string path_segment(std::string_view value);

}  // namespace authsvc
