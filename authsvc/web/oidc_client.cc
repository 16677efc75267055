#include "authsvc/web/oidc_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "authsvc/core/form.h"
#include "authsvc/guardian/http_failure.h"

namespace authsvc {
namespace {

// Discovery documents and key sets are a few KiB; a provider sending more
// than this is broken or hostile, and must not make authsvc hold it all.
constexpr std::size_t kMaxAnswerBytes = 1024 * 1024;
constexpr std::size_t kMaxCodeBytes = 4096;

// The OAuth error code of an error answer (RFC 6749 5.2), e.g.
// " (invalid_grant)", or "". Only a plain code: error_description may
// repeat what was sent, the code included.
std::string oauth_error_of(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_string()) return "";
  std::string code = j["error"].get<std::string>();
  bool plain =
      !code.empty() && code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
      });
  return plain ? " (" + code + ")" : "";
}

struct Request {
  std::string method;  // "GET" or "POST"
  httplib::Headers headers;
  std::string body;  // a form, for POST
};

// One request to `url`, on a fresh connection; the body of a 2xx answer.
// `what` names the endpoint for messages ("OIDC token endpoint").
std::string exchange(const ProviderUrl& url, const Request& request, const std::string& what,
                     std::chrono::milliseconds timeout) {
  // The query may hold anything the provider put there: not in messages.
  const std::string where =
      what + " " + request.method + " " + url.server.origin() + url.server.path;
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.server.scheme == "https") {
    auto tls = std::make_unique<httplib::SSLClient>(url.server.host, url.server.port);
    tls->enable_server_certificate_verification(true);
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.server.host, url.server.port);
  }
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  // The target was checked when the URL was read; sent as it is.
  client->set_url_encode(false);
  client->set_follow_location(false);
  client->set_keep_alive(false);

  httplib::Request req;
  req.method = request.method;
  req.path = url.target();
  req.headers = request.headers;
  req.headers.emplace("Accept", "application/json");
  if (request.method == "POST") {
    req.body = request.body;
    req.headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  }
  std::string body;
  bool too_large = false;
  req.response_handler = [&](const httplib::Response& response) {
    // Refused before reading when the answer says its size; counted below
    // when it does not (chunked) or lies.
    if (response.has_header("Content-Length") &&
        response.get_header_value<std::uint64_t>("Content-Length") > kMaxAnswerBytes) {
      too_large = true;
      return false;
    }
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    if (body.size() + size > kMaxAnswerBytes) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  };
  httplib::Result result = client->send(req);
  if (too_large) {
    throw OidcError(where + ": the answer is larger than " + std::to_string(kMaxAnswerBytes) +
                    " bytes");
  }
  if (!result)
    throw OidcError(where + ": " +
                    describe_http_failure(static_cast<int>(result.error()), "the provider"));
  if (result->status < 200 || result->status > 299) {
    throw OidcError(where + ": HTTP " + std::to_string(result->status) + oauth_error_of(body));
  }
  return body;
}

// `url` as the provider gave it; parse_discovery has checked it already.
ProviderUrl provider_url(const std::string& url, bool loopback_http, const std::string& what) {
  std::string error;
  std::optional<ProviderUrl> parsed = parse_provider_url(url, loopback_http, &error);
  if (!parsed) throw OidcError(what + ": " + error);
  return *parsed;
}

}  // namespace

OidcClient::OidcClient(OidcClientOptions options) : options_(std::move(options)) {
  std::string error;
  std::optional<ProviderUrl> issuer = parse_provider_url(options_.issuer, true, &error);
  if (!issuer || !issuer->query.empty()) {
    throw OidcError("OIDC issuer '" + redact_url(options_.issuer) +
                    "': " + (issuer ? "an issuer has no query" : error));
  }
  loopback_http_ = issuer->server.scheme == "http";
  // OpenID Connect Discovery 4: the issuer without its trailing '/', then
  // the well-known path.
  std::string base = options_.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  discovery_url_ = provider_url(base + "/.well-known/openid-configuration", true, "OIDC issuer");
  if (options_.client_id.empty()) throw OidcError("OIDC client: no client id");
  if (options_.client_secret.empty()) throw OidcError("OIDC client: no client secret");
  if (!parse_provider_url(options_.redirect_uri, true, &error)) {
    throw OidcError("OIDC redirect URI '" + redact_url(options_.redirect_uri) + "': " + error);
  }
}

const ProviderMetadata& OidcClient::metadata() {
  {
    std::lock_guard lock(mutex_);
    if (metadata_) return *metadata_;
  }
  std::lock_guard fetching(fetch_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (metadata_) return *metadata_;  // fetched while this thread waited
  }
  const auto now = std::chrono::steady_clock::now();
  if (discovery_failed_at_ && now - *discovery_failed_at_ < options_.discovery_retry_interval) {
    throw OidcError(discovery_error_);
  }
  std::optional<ProviderMetadata> fetched;
  try {
    fetched = parse_discovery(
        exchange(discovery_url_, {"GET", {}, ""}, "OIDC discovery", options_.timeout),
        options_.issuer);
  } catch (const OidcError& e) {
    discovery_failed_at_ = now;
    discovery_error_ = e.what();
    throw;
  }
  discovery_failed_at_.reset();
  std::lock_guard lock(mutex_);
  metadata_ = std::move(*fetched);
  return *metadata_;
}

std::string OidcClient::authorization_url(const PendingSignIn& pending) {
  return ::authsvc::authorization_url(metadata(), options_.client_id, options_.redirect_uri,
                                      pending, options_.scope);
}

std::shared_ptr<const JwkSet> OidcClient::fetch_keys() {
  const std::string& uri = metadata().jwks_uri;
  std::string body = exchange(provider_url(uri, loopback_http_, "OIDC JWKS"), {"GET", {}, ""},
                              "OIDC JWKS", options_.timeout);
  auto fetched = std::make_shared<const JwkSet>(parse_jwks(body));
  std::lock_guard lock(mutex_);
  keys_ = fetched;
  return fetched;
}

std::shared_ptr<const JwkSet> OidcClient::keys() {
  {
    std::lock_guard lock(mutex_);
    if (keys_) return keys_;
  }
  std::lock_guard fetching(fetch_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (keys_) return keys_;
  }
  return fetch_keys();
}

std::shared_ptr<const JwkSet> OidcClient::keys_after(const std::shared_ptr<const JwkSet>& tried) {
  std::lock_guard fetching(fetch_mutex_);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (keys_ != tried) return keys_;  // another sign-in fetched them meanwhile
    if (last_refetch_ && now - *last_refetch_ < options_.jwks_refetch_interval) return nullptr;
    // Counted when tried, not when it succeeds: a provider that fails is
    // not asked again sooner either.
    last_refetch_ = now;
  }
  return fetch_keys();
}

IdTokenClaims OidcClient::verify(const std::string& id_token, const IdTokenExpectations& expected,
                                 std::chrono::system_clock::time_point now) {
  std::shared_ptr<const JwkSet> set = keys();
  try {
    return verify_id_token(id_token, *set, expected, now);
  } catch (const IdTokenError& e) {
    if (e.failure() != IdTokenFailure::unknown_key) throw;
    std::shared_ptr<const JwkSet> newer = keys_after(set);
    if (!newer) throw;
    return verify_id_token(id_token, *newer, expected, now);
  }
}

SignedIn OidcClient::finish_sign_in(std::string_view code, const PendingSignIn& pending,
                                    std::chrono::system_clock::time_point now) {
  if (code.empty()) throw OidcError("OIDC sign-in: the callback has no code");
  if (code.size() > kMaxCodeBytes) {
    throw OidcError("OIDC sign-in: the code is longer than " + std::to_string(kMaxCodeBytes) +
                    " bytes");
  }
  const ProviderMetadata& provider = metadata();

  // RFC 6749 2.3.1: the id and the secret are form-encoded before they are
  // joined with ':' and base64-encoded, so that a ':' in either survives.
  Request token_request{
      "POST",
      {httplib::make_basic_authentication_header(form_encoded(options_.client_id),
                                                 form_encoded(options_.client_secret))},
      "grant_type=authorization_code&code=" + form_encoded(code) +
          "&redirect_uri=" + form_encoded(options_.redirect_uri) +
          "&code_verifier=" + form_encoded(pending.code_verifier)};
  TokenResponse tokens = parse_token_response(
      exchange(provider_url(provider.token_endpoint, loopback_http_, "OIDC token endpoint"),
               token_request, "OIDC token endpoint", options_.timeout));

  IdTokenExpectations expected;
  expected.issuer = options_.issuer;
  expected.client_id = options_.client_id;
  expected.nonce = pending.nonce;
  IdTokenClaims id = verify(tokens.id_token, expected, now);

  SignedIn out{std::move(id.subject), std::move(id.email), false, std::move(id.claims)};
  std::optional<bool> verified = id.email_verified;
  if ((out.email.empty() || !verified) && !provider.userinfo_endpoint.empty() &&
      !tokens.access_token.empty()) {
    Request userinfo_request{"GET", {{"Authorization", "Bearer " + tokens.access_token}}, ""};
    IdentityClaims info = parse_userinfo(
        exchange(provider_url(provider.userinfo_endpoint, loopback_http_, "OIDC userinfo"),
                 userinfo_request, "OIDC userinfo", options_.timeout),
        out.subject);
    if (out.email.empty()) {
      out.email = info.email;
      verified = info.email_verified;
    } else if (!verified && info.email == out.email) {
      // Its email_verified is about its email: it says nothing of another.
      verified = info.email_verified;
    }
    for (auto& [name, values] : info.claims) out.claims.try_emplace(name, std::move(values));
  }
  out.email_verified = verified.value_or(false);
  return out;
}

}  // namespace authsvc
