#include "authsvc/web/sign_in_policy.h"

#include <fmt/format.h>

#include <algorithm>

#include "authsvc/core/error.h"
#include "authsvc/core/text.h"
#include "authsvc/store/validation.h"

namespace authsvc {
namespace {

bool same_address(const std::string& a, const std::string& b) {
  return ascii_lower(a) == ascii_lower(b);
}

}  // namespace

std::string sign_in_refusal(const SignedIn& who, const WebOptions& options) {
  if (who.email.empty()) return "the provider gave no e-mail address";
  if (!who.email_verified) {
    return fmt::format("the e-mail address {} is not verified by the provider",
                       printable(who.email));
  }
  try {
    check_owner_address(who.email);
  } catch (const Error& e) {
    return fmt::format("the e-mail address cannot own accounts: {}", e.what());
  }
  if (!domain_allowed(who.email, options)) {
    return fmt::format("the domain {} may not sign in here",
                       printable(ascii_lower(who.email.substr(who.email.rfind('@') + 1))));
  }
  for (const auto& [name, value] : options.require_claims) {
    auto claim = who.claims.find(name);
    bool has = claim != who.claims.end() &&
               std::find(claim->second.begin(), claim->second.end(), value) != claim->second.end();
    if (!has) {
      return fmt::format("the provider does not say {}={}", printable(name), printable(value));
    }
  }
  return "";
}

bool domain_allowed(const std::string& address, const WebOptions& options) {
  if (options.allow_domains.empty()) return true;
  std::size_t at = address.rfind('@');
  if (at == std::string::npos) return false;
  std::string domain = ascii_lower(address.substr(at + 1));
  return std::any_of(options.allow_domains.begin(), options.allow_domains.end(),
                     [&](const std::string& d) { return ascii_lower(d) == domain; });
}

bool is_admin(const std::string& address, const WebOptions& options) {
  return std::any_of(options.admins.begin(), options.admins.end(),
                     [&](const std::string& admin) { return same_address(admin, address); });
}

}  // namespace authsvc
