#pragma once
// What a guardian (`authsvc guardian`, or `serve --guardian`) shows on its
// metrics listener, and when it calls itself ready.

#include <chrono>
#include <string>

#include "authsvc/core/metrics.h"
#include "authsvc/guardian/guardian.h"
#include "authsvc/guardian/message_sampler.h"

namespace authsvc {

void register_guardian_metrics(MetricsRegistry& registry, const Guardian& guardian);
// The message sampler's, beside its guardian's (--sample-messages).
void register_sampler_metrics(MetricsRegistry& registry, const MessageSampler& sampler);

// "" when a look succeeded within `max_age` plus the guardian's interval
// (a look is due every interval), counted from when it took the lead, or
// while it stands by for another node's guardian; else why not.
std::string guardian_problem(const Guardian& guardian, std::chrono::seconds max_age);

// How long one look may take, its calls to the broker and its mail
// included, before the loop counts as stuck: each call is bounded by its
// timeout (10 s for the management API, 30 s for SMTP), and a look makes a
// few of them, and mails an outbox that may be long.
inline constexpr std::chrono::minutes kGuardianLookLimit{10};

// "" while the loop is not stuck: its next look (after the interval, or
// the back-off while the broker fails) is not overdue by more than
// kGuardianLookLimit, else why not. A failing broker is not a stuck loop:
// /readyz says that (guardian_problem).
std::string guardian_loop_problem(const Guardian& guardian);

}  // namespace authsvc
