#pragma once
// What a guardian (`authsvc guardian`, or `serve --guardian`) shows on its
// metrics listener, and when it calls itself ready.

#include <chrono>
#include <string>

#include "authsvc/core/metrics.h"
#include "authsvc/guardian/guardian.h"

namespace authsvc {

void register_guardian_metrics(MetricsRegistry& registry, const Guardian& guardian);

// "" when a look succeeded within `max_age` plus the guardian's interval
// (a look is due every interval), else why not.
std::string guardian_problem(const Guardian& guardian, std::chrono::seconds max_age);

}  // namespace authsvc
