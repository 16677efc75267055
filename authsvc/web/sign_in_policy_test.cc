#include "authsvc/web/sign_in_policy.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_CASE("sign-in needs a verified address, an allowed domain, and every required claim") {
  WebOptions options;
  SignedIn alice{"sub-1", "alice@example.org", true, {{"groups", {"staff", "pulse"}}}};
  CHECK(sign_in_refusal(alice, options).empty());

  SignedIn unverified = alice;
  unverified.email_verified = false;
  CHECK(sign_in_refusal(unverified, options) ==
        "the e-mail address alice@example.org is not verified by the provider");
  SignedIn nobody = alice;
  nobody.email = "";
  CHECK(sign_in_refusal(nobody, options) == "the provider gave no e-mail address");
  SignedIn odd = alice;
  odd.email = "<script>@x";
  CHECK(sign_in_refusal(odd, options).rfind("the e-mail address cannot own accounts", 0) == 0);

  options.allow_domains = {"Example.org", "mozilla.com"};
  CHECK(sign_in_refusal(alice, options).empty());
  SignedIn outsider = alice;
  outsider.email = "mallory@evil.example";
  CHECK(sign_in_refusal(outsider, options) == "the domain evil.example may not sign in here");
  // A subdomain is another domain.
  outsider.email = "mallory@x.example.org";
  CHECK(sign_in_refusal(outsider, options) == "the domain x.example.org may not sign in here");

  options.require_claims = {{"groups", "pulse"}};
  CHECK(sign_in_refusal(alice, options).empty());
  options.require_claims = {{"groups", "pulse"}, {"groups", "admins"}};
  CHECK(sign_in_refusal(alice, options) == "the provider does not say groups=admins");
  options.require_claims = {{"department", "x"}};
  CHECK(sign_in_refusal(alice, options) == "the provider does not say department=x");
}

TEST_CASE("admins are the --admin addresses, compared without case") {
  WebOptions options;
  options.admins = {"Root@Example.org"};
  CHECK(is_admin("root@example.org", options));
  CHECK_FALSE(is_admin("alice@example.org", options));
  CHECK_FALSE(is_admin("", options));
}

}  // namespace authsvc
