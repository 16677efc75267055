#include "authsvc/web/oidc_flow.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "authsvc/core/base64url.h"
#include "authsvc/core/form.h"
#include "authsvc/core/text.h"
#include "authsvc/core/token.h"
#include "authsvc/web/provider_url.h"

namespace authsvc {
namespace {

using nlohmann::json;

std::string in_quotes(std::string_view text) {
  return "'" + printable(text.substr(0, 100)) + (text.size() > 100 ? "...'" : "'");
}

json parse_object(std::string_view text, const std::string& what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw OidcError(what + ": not a JSON object");
  return doc;
}

// Member `name` of `doc`: a string, "" if absent and not `required`.
std::string string_member(const json& doc, const char* name, bool required,
                          const std::string& what) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) {
    if (required) throw OidcError(what + ": no " + name);
    return "";
  }
  if (!it->is_string()) throw OidcError(what + ": " + name + " is not a string");
  return it->get<std::string>();
}

// If `doc` lists `name`, it must hold `needed`.
void require_listed(const json& doc, const char* name, const char* needed,
                    const std::string& what) {
  auto it = doc.find(name);
  if (it == doc.end()) return;
  if (!it->is_array()) throw OidcError(what + ": " + name + " is not an array");
  if (std::find(it->begin(), it->end(), json(needed)) == it->end()) {
    throw OidcError(what + ": " + name + " does not include " + needed);
  }
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

ProviderMetadata parse_discovery(std::string_view text, std::string_view expected_issuer) {
  const std::string what = "OIDC discovery of " + in_quotes(expected_issuer);
  std::string error;
  std::optional<ProviderUrl> issuer = parse_provider_url(expected_issuer, true, &error);
  if (!issuer) throw OidcError(what + ": the issuer is not a valid URL: " + error);
  if (!issuer->query.empty()) throw OidcError(what + ": an issuer has no query");
  const bool loopback_http = issuer->server.scheme == "http";

  json doc = parse_object(text, what);
  ProviderMetadata out;
  out.issuer = string_member(doc, "issuer", true, what);
  if (out.issuer != expected_issuer) {
    throw OidcError(what + ": the document's issuer " + in_quotes(out.issuer) +
                    " is not the one asked for");
  }
  auto endpoint = [&](const char* name, bool required) {
    std::string url = string_member(doc, name, required, what);
    if (!url.empty() && !parse_provider_url(url, loopback_http, &error)) {
      throw OidcError(what + ": " + name + " " + in_quotes(url) + ": " + error);
    }
    if (required && url.empty()) throw OidcError(what + ": " + name + " is empty");
    return url;
  };
  out.authorization_endpoint = endpoint("authorization_endpoint", true);
  out.token_endpoint = endpoint("token_endpoint", true);
  out.jwks_uri = endpoint("jwks_uri", true);
  out.userinfo_endpoint = endpoint("userinfo_endpoint", false);
  require_listed(doc, "response_types_supported", "code", what);
  require_listed(doc, "code_challenge_methods_supported", "S256", what);
  require_listed(doc, "token_endpoint_auth_methods_supported", "client_secret_basic", what);
  return out;
}

PendingSignIn new_pending_sign_in() {
  return {generate_token(), generate_token(), generate_token()};
}

std::string pkce_s256_challenge(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128 ||
      !std::all_of(verifier.begin(), verifier.end(),
                   [](char c) { return is_unreserved(static_cast<unsigned char>(c)); })) {
    throw OidcError("PKCE: a code verifier is 43 to 128 unreserved characters (RFC 7636 4.1)");
  }
  // hash_token is SHA-256.
  TokenHash digest = hash_token(verifier);
  return base64url_encode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string authorization_url(const ProviderMetadata& provider, std::string_view client_id,
                              std::string_view redirect_uri, const PendingSignIn& pending,
                              std::string_view scope) {
  const std::pair<std::string_view, std::string> params[] = {
      {"response_type", "code"},
      {"client_id", std::string(client_id)},
      {"redirect_uri", std::string(redirect_uri)},
      {"scope", std::string(scope)},
      {"state", pending.state},
      {"nonce", pending.nonce},
      {"code_challenge", pkce_s256_challenge(pending.code_verifier)},
      {"code_challenge_method", "S256"},
  };
  const std::string& endpoint = provider.authorization_endpoint;
  std::size_t q = endpoint.find('?');
  if (q != std::string::npos) {
    std::string_view query = std::string_view(endpoint).substr(q + 1);
    while (!query.empty()) {
      std::string_view field = query.substr(0, query.find('&'));
      query.remove_prefix(std::min(query.size(), field.size() + 1));
      std::string_view name = field.substr(0, field.find('='));
      for (const auto& [param, value] : params) {
        if (name == param) {
          throw OidcError("OIDC authorization endpoint already has " + std::string(param) +
                          " in its query");
        }
      }
    }
  }
  std::string url = endpoint;
  if (q == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  bool first = true;
  for (const auto& [name, value] : params) {
    url += (first ? "" : "&") + std::string(name) + "=" + form_encoded(value);
    first = false;
  }
  return url;
}

TokenResponse parse_token_response(std::string_view text) {
  const std::string what = "OIDC token response";
  json doc = parse_object(text, what);
  TokenResponse out;
  out.id_token = string_member(doc, "id_token", true, what);
  if (out.id_token.empty()) throw OidcError(what + ": no id_token");
  out.access_token = string_member(doc, "access_token", false, what);
  std::string type = string_member(doc, "token_type", false, what);
  if (!type.empty() && ascii_lower(type) != "bearer") {
    throw OidcError(what + ": token_type " + in_quotes(type) + " is not Bearer");
  }
  return out;
}

IdentityClaims parse_userinfo(std::string_view text, std::string_view expected_subject) {
  IdentityClaims claims = parse_identity_claims(text, "OIDC userinfo");
  if (claims.subject != expected_subject) {
    throw OidcError("OIDC userinfo: its subject (sub) is not the ID token's");
  }
  return claims;
}

}  // namespace authsvc
