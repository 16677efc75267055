#pragma once
// Unpadded base64url (RFC 4648 section 5): how tokens are shown, and how
// JOSE (JWT segments, JWK members) and PKCE write bytes.
//
// Decoding is strict, because what it reads arrives from outside and two
// spellings of the same bytes would let a signed text be changed without
// changing what it means: only the 64 characters of the alphabet, no
// padding, no white space, and the unused low bits of the last character
// must be zero (the canonical encoding).

#include <optional>
#include <string>
#include <string_view>

namespace authsvc {

std::string base64url_encode(std::string_view bytes);

// The bytes `text` encodes, or nullopt if it is not canonical unpadded
// base64url. The empty text is the empty string.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace authsvc
