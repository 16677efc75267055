#pragma once
// What the web counts for its metrics listener: every audited request by
// action and result, and sign-ins by result. The actions are the audit
// line's (a closed set the code names: "sign-in", "account create", "view"...).

#include <string_view>

#include "authsvc/core/metrics.h"

namespace authsvc {

class WebMetrics {
 public:
  // Every sign-in result at 0 from the start: rate() and increase() miss a
  // series' first count, which would hide the first failed sign-ins.
  WebMetrics();
  // `status` is the answer's: ok below 400, denied below 500, else error.
  void record(std::string_view action, int status);
  void register_in(MetricsRegistry& registry) const;

  std::uint64_t actions(std::string_view action, std::string_view result) const {
    return actions_.value({std::string(action), std::string(result)});
  }
  std::uint64_t sign_ins(std::string_view result) const {
    return sign_ins_.value({std::string(result)});
  }

 private:
  CounterFamily actions_{{"action", "result"}};
  CounterFamily sign_ins_{{"result"}};
};

}  // namespace authsvc
