#include "authsvc/web/claims.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "authsvc/core/text.h"
#include "authsvc/web/oidc_error.h"

namespace authsvc {

IdentityClaims parse_identity_claims(std::string_view text, std::string_view what) {
  using nlohmann::json;
  const std::string prefix(what);
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) throw OidcError(prefix + ": not a JSON object");
  IdentityClaims out;
  auto sub = doc.find("sub");
  if (sub == doc.end() || !sub->is_string()) throw OidcError(prefix + ": no subject (sub)");
  out.subject = sub->get<std::string>();
  if (out.subject.empty() || out.subject.size() > 255 || has_control(out.subject)) {
    throw OidcError(prefix +
                    ": the subject (sub) is empty, longer than 255 bytes, or has "
                    "control characters");
  }
  if (auto email = doc.find("email"); email != doc.end() && email->is_string()) {
    out.email = email->get<std::string>();
  }
  if (auto verified = doc.find("email_verified"); verified != doc.end()) {
    // Some providers (Amazon Cognito among them) send the boolean as text.
    if (verified->is_boolean()) {
      out.email_verified = verified->get<bool>();
    } else if (verified->is_string() && (*verified == "true" || *verified == "false")) {
      out.email_verified = *verified == "true";
    }
  }
  for (const auto& [name, value] : doc.items()) {
    if (value.is_string()) {
      out.claims[name] = {value.get<std::string>()};
    } else if (value.is_boolean()) {
      out.claims[name] = {value.get<bool>() ? "true" : "false"};
    } else if (value.is_array() && std::all_of(value.begin(), value.end(),
                                               [](const json& v) { return v.is_string(); })) {
      std::vector<std::string>& values = out.claims[name];
      for (const json& v : value) values.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace authsvc
