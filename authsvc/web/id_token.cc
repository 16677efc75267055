#include "authsvc/web/id_token.h"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "authsvc/core/base64url.h"
#include "authsvc/core/text.h"

namespace authsvc {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;

// Far beyond any ID token (they are a few KiB), and it bounds the work done
// before the signature is checked.
constexpr std::size_t kMaxTokenBytes = 64 * 1024;

[[noreturn]] void fail(IdTokenFailure failure, const std::string& message) {
  throw IdTokenError(failure, message);
}

// A value from the token, fit to quote in a one-line message.
std::string in_quotes(std::string_view text) {
  return "'" + printable(text.substr(0, 64)) + (text.size() > 64 ? "...'" : "'");
}

struct Header {
  std::string alg;
  std::optional<std::string> kid;
};

Header read_header(std::string_view encoded) {
  std::optional<std::string> text = base64url_decode(encoded);
  if (!text) fail(IdTokenFailure::malformed, "ID token header is not base64url");
  json header = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    fail(IdTokenFailure::malformed, "ID token header is not a JSON object");
  }
  // RFC 7515 4.1.11: extensions listed as critical must be understood, and
  // none is.
  if (header.contains("crit")) {
    fail(IdTokenFailure::malformed, "ID token header has critical extensions (crit)");
  }
  Header out;
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) {
    fail(IdTokenFailure::malformed, "ID token header has no alg");
  }
  out.alg = alg->get<std::string>();
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) fail(IdTokenFailure::malformed, "ID token header's kid is not a string");
    out.kid = kid->get<std::string>();
  }
  return out;
}

// The key the header names, for the header's algorithm.
const SigningKey& choose_key(const Header& header, const JwkSet& keys) {
  if (header.alg == "none")
    fail(IdTokenFailure::wrong_algorithm, "ID token is unsigned (alg none)");
  const SigningKey* key = nullptr;
  if (header.kid) {
    if (!keys.has_kid(*header.kid)) {
      fail(IdTokenFailure::unknown_key,
           "ID token key " + in_quotes(*header.kid) + " is not in the provider's key set");
    }
    key = keys.find(*header.kid, header.alg);
    if (key == nullptr) {
      fail(IdTokenFailure::wrong_algorithm, "ID token alg " + in_quotes(header.alg) +
                                                " is not the algorithm of key " +
                                                in_quotes(*header.kid));
    }
  } else {
    // Any key of a set could be meant; trying each would make every key
    // the attacker's choice.
    if (keys.size() != 1) {
      fail(IdTokenFailure::unknown_key, "ID token names no key (kid) and the provider has " +
                                            std::to_string(keys.size()) + " keys");
    }
    key = &keys.keys().front();
    if (key->alg != header.alg) {
      fail(IdTokenFailure::wrong_algorithm, "ID token alg " + in_quotes(header.alg) +
                                                " is not the algorithm of the provider's key (" +
                                                key->alg + ")");
    }
  }
  return *key;
}

// The claims as libjwt read them (a JSON object's text), once `key`
// verified the signature.
std::string verified_claims(const std::string& token, const SigningKey& key) {
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                      static_cast<int>(key.pem.size()));
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, jwt_free);
  // libjwt leaves OpenSSL's reasons for a failed check queued, where this
  // thread's next TLS call would take them for its own.
  ERR_clear_error();
  std::string key_name = key.kid.empty() ? "the provider's key" : "key " + in_quotes(key.kid);
  if (rc != 0 || !jwt) {
    fail(IdTokenFailure::bad_signature, "ID token signature does not verify with " + key_name);
  }
  // What libjwt verified with must be what was chosen above; a header that
  // it and nlohmann read differently must not change the algorithm.
  if (jwt_get_alg(jwt.get()) != jwt_str_alg(key.alg.c_str())) {
    fail(IdTokenFailure::wrong_algorithm,
         "ID token was verified with another algorithm than " + key.alg);
  }
  std::unique_ptr<char, decltype(&std::free)> grants(jwt_get_grants_json(jwt.get(), nullptr),
                                                     std::free);
  if (!grants) fail(IdTokenFailure::malformed, "ID token has no claims");
  return grants.get();
}

// A NumericDate claim (seconds since the epoch, possibly fractional), or
// nullopt if absent.
std::optional<system_clock::time_point> date(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  // Within ±30 million years: far enough, and no overflow below.
  constexpr double kLimit = 1e15;
  double value = 0;
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    value = static_cast<double>(it->get<std::int64_t>());
  } else if (it->is_number()) {
    value = std::floor(it->get<double>());
  } else {
    fail(IdTokenFailure::malformed, std::string("ID token ") + name + " is not a number");
  }
  if (!(value > -kLimit && value < kLimit)) {
    fail(IdTokenFailure::malformed, std::string("ID token ") + name + " is out of range");
  }
  return system_clock::time_point(seconds(static_cast<std::int64_t>(value)));
}

std::int64_t seconds_between(system_clock::time_point from, system_clock::time_point to) {
  return std::chrono::duration_cast<seconds>(to - from).count();
}

void check_issuer(const json& payload, const std::string& issuer) {
  auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string()) {
    fail(IdTokenFailure::wrong_issuer, "ID token has no issuer (iss)");
  }
  if (iss->get<std::string>() != issuer) {
    fail(IdTokenFailure::wrong_issuer,
         "ID token issuer " + in_quotes(iss->get<std::string>()) + " is not " + in_quotes(issuer));
  }
}

void check_audience(const json& payload, const std::string& client_id) {
  auto aud = payload.find("aud");
  std::vector<std::string> audiences;
  if (aud != payload.end() && aud->is_string()) {
    audiences.push_back(aud->get<std::string>());
  } else if (aud != payload.end() && aud->is_array()) {
    for (const json& a : *aud) {
      if (!a.is_string()) fail(IdTokenFailure::malformed, "ID token audience is not all strings");
      audiences.push_back(a.get<std::string>());
    }
  } else {
    fail(IdTokenFailure::wrong_audience, "ID token has no audience (aud)");
  }
  if (std::find(audiences.begin(), audiences.end(), client_id) == audiences.end()) {
    fail(IdTokenFailure::wrong_audience,
         "ID token audience does not include this client " + in_quotes(client_id));
  }
  auto azp = payload.find("azp");
  bool azp_is_client = azp != payload.end() && azp->is_string() && *azp == client_id;
  if (audiences.size() > 1 && !azp_is_client) {
    fail(IdTokenFailure::wrong_audience,
         "ID token has " + std::to_string(audiences.size()) +
             " audiences and its authorized party (azp) is not this client");
  }
  if (azp != payload.end() && !azp_is_client) {
    fail(IdTokenFailure::wrong_audience,
         "ID token authorized party (azp) is not this client " + in_quotes(client_id));
  }
}

system_clock::time_point check_times(const json& payload, seconds skew,
                                     system_clock::time_point now) {
  std::optional<system_clock::time_point> exp = date(payload, "exp");
  if (!exp) fail(IdTokenFailure::malformed, "ID token has no expiry (exp)");
  if (now >= *exp + skew) {
    fail(IdTokenFailure::expired,
         "ID token expired " + std::to_string(seconds_between(*exp, now)) + " s ago");
  }
  std::optional<system_clock::time_point> iat = date(payload, "iat");
  if (!iat) fail(IdTokenFailure::malformed, "ID token has no issue time (iat)");
  if (*iat > now + skew) {
    fail(IdTokenFailure::not_yet_valid,
         "ID token issued " + std::to_string(seconds_between(now, *iat)) + " s in the future");
  }
  if (std::optional<system_clock::time_point> nbf = date(payload, "nbf");
      nbf && *nbf > now + skew) {
    fail(IdTokenFailure::not_yet_valid,
         "ID token not valid for " + std::to_string(seconds_between(now, *nbf)) + " s more (nbf)");
  }
  return *exp;
}

void check_nonce(const json& payload, const std::string& expected) {
  if (expected.empty()) {
    fail(IdTokenFailure::wrong_nonce, "ID token nonce cannot be checked: no nonce was sent");
  }
  auto nonce = payload.find("nonce");
  if (nonce == payload.end() || !nonce->is_string()) {
    fail(IdTokenFailure::wrong_nonce, "ID token has no nonce");
  }
  const std::string& got = nonce->get_ref<const std::string&>();
  if (got.size() != expected.size() ||
      CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0) {
    fail(IdTokenFailure::wrong_nonce, "ID token nonce is not this sign-in's");
  }
}

}  // namespace

const char* to_string(IdTokenFailure failure) {
  switch (failure) {
    case IdTokenFailure::malformed:
      return "malformed";
    case IdTokenFailure::unknown_key:
      return "unknown_key";
    case IdTokenFailure::wrong_algorithm:
      return "wrong_algorithm";
    case IdTokenFailure::bad_signature:
      return "bad_signature";
    case IdTokenFailure::wrong_issuer:
      return "wrong_issuer";
    case IdTokenFailure::wrong_audience:
      return "wrong_audience";
    case IdTokenFailure::expired:
      return "expired";
    case IdTokenFailure::not_yet_valid:
      return "not_yet_valid";
    case IdTokenFailure::wrong_nonce:
      return "wrong_nonce";
  }
  return "unknown";
}

IdTokenClaims verify_id_token(std::string_view token, const JwkSet& keys,
                              const IdTokenExpectations& expected, system_clock::time_point now) {
  if (token.size() > kMaxTokenBytes) {
    fail(IdTokenFailure::malformed, "ID token is larger than 64 KiB");
  }
  // A JWS in compact form has three parts; a JWE (encrypted) has five.
  if (std::count(token.begin(), token.end(), '.') != 2) {
    fail(IdTokenFailure::malformed, "ID token is not a signed JWT (three parts)");
  }
  const SigningKey& key = choose_key(read_header(token.substr(0, token.find('.'))), keys);
  const std::string claims = verified_claims(std::string(token), key);
  json payload = json::parse(claims, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded() || !payload.is_object()) {
    fail(IdTokenFailure::malformed, "ID token claims are not a JSON object");
  }
  check_issuer(payload, expected.issuer);
  check_audience(payload, expected.client_id);
  system_clock::time_point expires_at = check_times(payload, expected.clock_skew, now);
  check_nonce(payload, expected.nonce);

  IdentityClaims identity;
  try {
    // Parsed a second time there, so that headers stay free of JSON types.
    identity = parse_identity_claims(claims, "ID token");
  } catch (const OidcError& e) {
    fail(IdTokenFailure::malformed, e.what());
  }
  return {std::move(identity.subject), std::move(identity.email), identity.email_verified,
          expires_at, std::move(identity.claims)};
}

}  // namespace authsvc
