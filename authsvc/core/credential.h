#pragma once
// What a user logs in with: an authsvc token, or a password imported from
// RabbitMQ's internal user database ("legacy"), kept in RabbitMQ's own
// hashed form so that it logs in unchanged after a migration.
//
// RabbitMQ stores a password as base64 of a 4-byte random salt followed by
// hash(salt + UTF-8 password), with SHA-256 (the default), SHA-512 or MD5.
// A token's stored form is its SHA-256 alone (token.h says why that is
// enough for 256 random bits). Either is checked in time independent of
// where the hashes differ.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

enum class CredentialScheme : std::uint8_t {
  token,
  rabbit_sha256,
  rabbit_sha512,
  rabbit_md5,
};

// "token", or RabbitMQ's name of the hashing module:
// "rabbit_password_hashing_sha256", "..._sha512", "..._md5". The store keeps
// these names; definitions files carry them in `hashing_algorithm`.
std::string_view to_string(CredentialScheme scheme);
std::optional<CredentialScheme> credential_scheme_from_string(std::string_view text);

// Bytes of a stored hash: 32 for a token; 4 (the salt) + the digest for a
// RabbitMQ password.
std::size_t stored_hash_size(CredentialScheme scheme);

struct Credential {
  CredentialScheme scheme = CredentialScheme::token;
  std::vector<std::uint8_t> hash;  // stored_hash_size(scheme) bytes

  bool legacy() const { return scheme != CredentialScheme::token; }
  bool operator==(const Credential&) const = default;
};

// A credential held elsewhere (a user table's arena, a record): valid as
// long as what holds it.
struct CredentialView {
  CredentialScheme scheme = CredentialScheme::token;
  std::span<const std::uint8_t> hash;

  bool legacy() const { return scheme != CredentialScheme::token; }
  bool operator==(const Credential& other) const;
};

CredentialView view_of(const Credential& credential);

// The stored form of a token.
Credential token_credential(std::string_view token);

// A RabbitMQ `password_hash` (base64 of salt + digest) for `scheme`, which
// must not be `token`. Throws Error with one line if the text is not
// base64 or decodes to the wrong size for the scheme: a damaged file.
Credential credential_from_rabbit_hash(CredentialScheme scheme, std::string_view base64);

// Whether `presented` is the secret behind `stored`, in time independent of
// where the hashes differ. A credential of the wrong size never matches.
bool credential_matches(std::string_view presented, CredentialView stored);
bool credential_matches(std::string_view presented, const Credential& stored);

}  // namespace authsvc
