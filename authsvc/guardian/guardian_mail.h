#pragma once
// The words of the guardian's e-mails to owners: one function, so every
// notice names what it is about (the queue or exchange, its vhost, or the
// account), the account, and the figures that made the guardian act.

#include <vector>

#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/store/records.h"

namespace authsvc {

// The mails that `action` sends: the same mail to each of the account's
// owners (action.emails), one each, so that each is sent and retried on its
// own. None for actions that send no mail (forgetting a notice, closing a
// connection) or when the account has no owner.
std::vector<OutboxMail> mails_for(const GuardianAction& action);

}  // namespace authsvc
