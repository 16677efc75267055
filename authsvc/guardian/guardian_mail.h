#pragma once
// The words of the guardian's e-mails to owners: one function, so every
// notice names the queue or exchange, its vhost, its owner and the figures
// that made the guardian act.

#include <optional>

#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/store/records.h"

namespace authsvc {

// The mail that `action` sends its owner; nullopt for actions that send
// none (forgetting a notice, closing a connection) or when the owner has no
// address.
std::optional<OutboxMail> mail_for(const GuardianAction& action);

}  // namespace authsvc
