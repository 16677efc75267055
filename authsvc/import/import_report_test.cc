#include "authsvc/import/import_report.h"

#include <doctest/doctest.h>

#include "authsvc/core/rules.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

const char* const kHash = "AAAAAPEoQ8a3jY6DABRiJzkoKooQbXiBp2iGLke7d+FVKzJx";

BrokerPermission pulseguardian(const std::string& user) {
  return BrokerPermission{user, "/", "^(queue/" + user + "/.*|exchange/" + user + "/.*)",
                          "^(queue/" + user + "/.*|exchange/" + user + "/.*)",
                          "^(queue/" + user + "/.*|exchange/.*)"};
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("import_report") {
  TEST_CASE("users alike are one group, and every difference is also a line of its own") {
    Definitions d;
    d.rabbit_version = "3.10.8";
    d.vhosts = {"/"};
    for (const char* name : {"alice", "bob", "carol"}) {
      d.users.push_back(BrokerUser{name, kHash, "rabbit_password_hashing_sha256", false, {}});
    }
    d.users.push_back(
        BrokerUser{"guest", kHash, "rabbit_password_hashing_sha256", false, {"administrator"}});
    d.permissions = {pulseguardian("alice"), pulseguardian("bob"),
                     BrokerPermission{"carol", "/", ".*", ".*", ".*"}};
    ImportPlan plan = plan_import(d, [](const std::string&) { return false; });
    PermissionComparison comparison =
        compare_permissions(d, {"alice", "bob", "carol"}, Rules::pulse_default());
    std::string report =
        format_import_report("defs.json", d, plan, comparison, "rules/pulse.rules");
    testing::keep_artifact("report.txt", report);
    CHECK(report.find("Definitions: defs.json (RabbitMQ 3.10.8), 4 users.") == 0);
    CHECK(report.find("To import: 3 users; skipped: 1 user.") != std::string::npos);
    CHECK(
        report.find("  import alice: vhosts '/'; tags (none); rabbit_password_hashing_sha256\n") !=
        std::string::npos);
    CHECK(report.find("  skip guest: tagged administrator") != std::string::npos);
    CHECK(report.find("15 differences each, 2 users in a vhost: alice in '/', bob in '/'\n") !=
          std::string::npos);
    CHECK(report.find("    queue configure 'exchange/<user>/x': broker allows, authsvc denies\n") !=
          std::string::npos);
    CHECK(report.find("  differs: alice in vhost '/': queue configure 'exchange/alice/x': broker "
                      "allows, authsvc denies\n") != std::string::npos);
    CHECK(count(report, "  differs: ") == comparison.differences.size());
    CHECK(count(report, "  differs: bob ") == 15);
    // The group's sample lines appear once, not once a user.
    CHECK(count(report, "    queue configure 'exchange/<user>/x'") == 2);  // alice+bob, carol
  }

  TEST_CASE("nothing to import, nothing skipped, no difference: said so") {
    Definitions d;
    ImportPlan plan;
    PermissionComparison comparison;
    std::string report = format_import_report("d.json", d, plan, comparison, "x.rules");
    CHECK(report.find("RabbitMQ version not given") != std::string::npos);
    CHECK(count(report, "  (none)\n") == 2);
    CHECK(report.find("0 differences.") != std::string::npos);
    CHECK(report.find("Every difference") == std::string::npos);
  }

  TEST_CASE("names with control characters stay on their line") {
    PermissionDifference d{
        "alice", "v\nhost", ResourceKind::topic, Permission::write, "exchange/alice/x", "a\rb",
        "",      false};
    std::string line = format_difference(d);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line ==
          "alice in vhost 'v\\x0ahost': topic write 'exchange/alice/x' key 'a\\x0db': "
          "broker denies, authsvc allows");
  }
}

}  // namespace authsvc
