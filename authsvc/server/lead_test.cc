#include "authsvc/server/lead.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace authsvc {
namespace {

// A lock a test hands out and takes away.
class FakeLock : public LeadLock {
 public:
  explicit FakeLock(bool* free, std::string* error) : free_(free), error_(error) {}
  bool hold() override { return *free_; }
  const std::string& last_error() const override { return *error_; }
  void release() noexcept override {}

 private:
  bool* free_;
  std::string* error_;
};

}  // namespace

TEST_CASE("lead_change: a change is said once, the first answer included") {
  CHECK(lead_change(std::nullopt, true) == LeadChange::taken);
  CHECK(lead_change(std::nullopt, false) == LeadChange::standing_by);
  CHECK(lead_change(true, true) == LeadChange::none);
  CHECK(lead_change(false, false) == LeadChange::none);
  CHECK(lead_change(false, true) == LeadChange::taken);
  CHECK(lead_change(true, false) == LeadChange::lost);
}

TEST_CASE("lead: taking and losing it are one audit line each, standing by none") {
  bool free = false;
  std::string error;
  testing::AuditLines audit;
  Lead lead(std::make_unique<FakeLock>(&free, &error), LeadKind::guardian, "guardian",
            "authsvc guardian", audit);
  CHECK_FALSE(lead.check());
  CHECK_FALSE(lead.check());
  CHECK(audit.lines().empty());
  free = true;
  CHECK(lead.check());
  CHECK(lead.check());
  CHECK(lead.held());
  CHECK(lead.times_taken() == 1);
  error = "server closed the connection unexpectedly";
  free = false;
  CHECK_FALSE(lead.check());
  CHECK_FALSE(lead.held());
  std::vector<nlohmann::json> lines = testing::parse_json_lines<nlohmann::json>(audit.lines());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["actor"] == "guardian");
  CHECK(lines[0]["action"] == "lead taken");
  CHECK(lines[0]["detail"] == "guardian lead: this node acts, the others stand by");
  CHECK(lines[1]["action"] == "lead lost");
  CHECK(lines[1]["detail"] == "guardian lead: server closed the connection unexpectedly");
}

}  // namespace authsvc
