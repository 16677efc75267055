#pragma once
// Access tokens: the secret a client presents as its AMQP password.
//
// A token is 256 bits from OpenSSL's CSPRNG, shown once as 43 characters of
// unpadded base64url (safe in AMQP URIs). Only its SHA-256 is stored: with
// 256 random bits, a fast unsalted hash is already beyond brute force, and
// it lets a login be checked in one hash and one constant-time compare.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace authsvc {

using TokenHash = std::array<std::uint8_t, 32>;

// A fresh token. Throws std::runtime_error if the CSPRNG fails.
std::string generate_token();

TokenHash hash_token(std::string_view token);

// Whether `presented` hashes to `stored`, in time independent of where the
// hashes differ.
bool token_matches(std::string_view presented, const TokenHash& stored);

}  // namespace authsvc
