#include "authsvc/web/web_metrics.h"

namespace authsvc {
namespace {

std::string result_of(int status) {
  if (status < 400) return "ok";
  if (status < 500) return "denied";
  return "error";
}

}  // namespace

WebMetrics::WebMetrics() {
  for (const char* result : {"ok", "denied", "error"}) sign_ins_.add({result}, 0);
}

void WebMetrics::record(std::string_view action, int status) {
  std::string result = result_of(status);
  actions_.add({std::string(action), result});
  if (action == "sign-in") sign_ins_.add({result});
}

void WebMetrics::register_in(MetricsRegistry& registry) const {
  actions_.register_in(registry, "authsvc_web_actions_total",
                       "Requests to the web by action (as in the audit line) and result: ok, "
                       "denied (4xx) or error (5xx).");
  sign_ins_.register_in(registry, "authsvc_web_sign_ins_total",
                        "Sign-ins finished at /callback (or the dev form), by result.");
}

}  // namespace authsvc
