#pragma once
// What `authsvc web` is told on its command line (cli/web_command.cc), as
// the app uses it.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authsvc/guardian/guardian_policy.h"

namespace authsvc {

struct WebOptions {
  // Where people reach the web, without a trailing slash, e.g.
  // "https://pulse.example.org": the redirect URI is public_url + "/callback",
  // and an https URL makes the cookies Secure.
  std::string public_url;
  // "Sign in as ADDRESS" instead of OpenID Connect, on loopback only.
  bool dev_login = false;
  // Who may sign in, beyond a verified e-mail address: one of these domains
  // (none: any), and every one of these claim values.
  std::vector<std::string> allow_domains;
  std::vector<std::pair<std::string, std::string>> require_claims;
  std::vector<std::string> admins;       // addresses, compared without case
  std::vector<std::string> reserve;      // RE2 patterns for whole names only admins may create
  std::string broker_url;                // shown next to a new token
  std::vector<std::string> vhosts{"/"};  // the vhosts of an account made here
  // The client's address comes from X-Forwarded-For only when the request
  // comes from one of these addresses (a reverse proxy).
  std::vector<std::string> trusted_proxies;
  // The guardian's default queue thresholds, shown beside each queue (an
  // account's own thresholds, where set, win).
  QueueLimits queue_limits;

  std::chrono::seconds session_idle{std::chrono::hours(2)};
  std::chrono::seconds session_lifetime{std::chrono::hours(12)};
  std::chrono::seconds sign_in_lifetime{std::chrono::minutes(10)};
  // Accounts created plus tokens rotated per person a minute; failed
  // sign-ins per client address a minute.
  unsigned changes_per_minute = 20;
  unsigned failed_sign_ins_per_minute = 20;

  unsigned sign_ins_per_minute = 30;  // sign-ins begun per client address
  // How long the broker's queue list, and its exchange listing (or their
  // failure), are reused by the queue and exchange pages
  // (broker_listing_cache.h); 0: every page asks the broker.
  std::chrono::milliseconds queue_list_max_age{5000};

  // An API key acts as its person without the provider vouching again, so
  // every key ends: this is its longest life, and its life when none is
  // asked for.
  std::chrono::seconds api_key_lifetime{std::chrono::days(90)};
  // What one person may hold: accounts owned (admins: no limit), and keys
  // neither revoked nor expired.
  unsigned accounts_per_person = 50;
  unsigned api_keys_per_person = 20;

  bool secure_cookies() const { return public_url.rfind("https://", 0) == 0; }
  // What a browser sends as Host for public_url: "pulse.example.org",
  // "127.0.0.1:8080" (the scheme's default port left out).
  std::string public_authority() const;
  // Whether a request's Host names public_url (any case, the default port
  // written or not).
  bool is_public_host(std::string_view host) const;
  std::string redirect_uri() const { return public_url + "/callback"; }
};

}  // namespace authsvc
