#pragma once
// Who may sign in to the web, from what the provider vouches for: a
// verified e-mail address (the person is their address here: owners are
// addresses), in one of the allowed domains if any are set, with every
// required claim value (--require-claim groups=pulse: "groups" is "pulse",
// or an array holding it). Pure.

#include <string>

#include "authsvc/web/identity_provider.h"
#include "authsvc/web/web_options.h"

namespace authsvc {

// Why `who` may not sign in, one line for the audit log and the page; ""
// if they may.
std::string sign_in_refusal(const SignedIn& who, const WebOptions& options);

// Whether `address` is in one of the allowed domains (any, with none set).
// Checked on every request too: a session or an API key from before a
// --allow-domain change stops working with it.
bool domain_allowed(const std::string& address, const WebOptions& options);

// Whether `address` is one of the admins (compared without case).
bool is_admin(const std::string& address, const WebOptions& options);

}  // namespace authsvc
