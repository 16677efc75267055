#include "authsvc/import/permission_comparison.h"

#include <doctest/doctest.h>

#include <set>
#include <tuple>

#include "authsvc/core/rules.h"

namespace authsvc {
namespace {

// The regexes PulseGuardian gave every account (pulse_user.py,
// _set_permissions), for a name re.escape leaves as it is.
BrokerPermission pulseguardian(const std::string& user, const std::string& vhost = "/") {
  return BrokerPermission{user, vhost, "^(queue/" + user + "/.*|exchange/" + user + "/.*)",
                          "^(queue/" + user + "/.*|exchange/" + user + "/.*)",
                          "^(queue/" + user + "/.*|exchange/.*)"};
}

Definitions with_users(std::vector<BrokerPermission> permissions) {
  Definitions d;
  d.vhosts = {"/", "v2"};
  for (const BrokerPermission& p : permissions)
    d.users.push_back(BrokerUser{p.user, {}, {}, false, {}});
  d.permissions = std::move(permissions);
  return d;
}

// (resource, permission, name, broker allows) of each difference of `user`.
using Seen = std::set<std::tuple<std::string, std::string, std::string, bool>>;
Seen differences_of(const PermissionComparison& c, const std::string& user) {
  Seen seen;
  for (const PermissionDifference& d : c.differences) {
    if (d.user != user) continue;
    seen.emplace(std::string(to_string(d.resource)), std::string(to_string(d.permission)), d.name,
                 d.broker_allows);
  }
  return seen;
}

const Rules& pulse_rules() {
  static const Rules rules = Rules::pulse_default();
  return rules;
}

}  // namespace

TEST_SUITE("permission_comparison") {
  TEST_CASE("PulseGuardian's regexes against the Pulse rules: exactly where authsvc is stricter") {
    Definitions d = with_users({pulseguardian("alice")});
    PermissionComparison c = compare_permissions(d, {"alice"}, pulse_rules());
    CHECK(c.problems.empty());
    CHECK(c.user_vhosts == 1);
    CHECK(c.checks > 50);
    const bool broker = true;
    Seen expected = {
        // An exchange named like a queue of hers: the regexes do not see the kind.
        {"exchange", "configure", "queue/alice/x", broker},
        {"exchange", "write", "queue/alice/x", broker},
        {"exchange", "read", "queue/alice/x", broker},
        // Her prefix with nothing after it: the rules want a name there.
        {"exchange", "configure", "exchange/alice/", broker},
        {"exchange", "write", "exchange/alice/", broker},
        {"exchange", "read", "exchange/alice/", broker},
        // exchange/.* reads exchanges without an owner part.
        {"exchange", "read", "exchange/alice", broker},
        {"exchange", "read", "exchange/x", broker},
        // A queue named like an exchange: hers, and (read) anyone's.
        {"queue", "configure", "exchange/alice/x", broker},
        {"queue", "write", "exchange/alice/x", broker},
        {"queue", "read", "exchange/alice/x", broker},
        {"queue", "read", "exchange/other-user/x", broker},
        {"queue", "configure", "queue/alice/", broker},
        {"queue", "write", "queue/alice/", broker},
        {"queue", "read", "queue/alice/", broker},
    };
    CHECK(differences_of(c, "alice") == expected);
    // Nothing authsvc allows that the broker did not.
    for (const PermissionDifference& diff : c.differences) CHECK(diff.broker_allows);
    // Patterns show her name as <user>, the template's other user as <other>.
    std::set<std::string> patterns;
    for (const PermissionDifference& diff : c.differences) patterns.insert(diff.pattern);
    CHECK(patterns.count("queue/<user>/x"));
    CHECK(patterns.count("exchange/<other>/x"));
  }

  TEST_CASE("two users with the same regexes have differences of the same patterns") {
    Definitions d = with_users({pulseguardian("alice"), pulseguardian("bob")});
    PermissionComparison c = compare_permissions(d, {"alice", "bob"}, pulse_rules());
    std::multiset<std::string> alice, bob;
    for (const PermissionDifference& diff : c.differences) {
      (diff.user == "alice" ? alice : bob)
          .insert(std::string(to_string(diff.resource)) + " " +
                  std::string(to_string(diff.permission)) + " " + diff.pattern);
    }
    CHECK(alice.size() == 15);
    CHECK(alice == bob);
  }

  TEST_CASE("regexes that allow everything: amq.*, the default exchange, others' queues") {
    Definitions d = with_users({BrokerPermission{"carol", "/", ".*", ".*", ".*"}});
    Seen seen = differences_of(compare_permissions(d, {"carol"}, pulse_rules()), "carol");
    CHECK(seen.count({"exchange", "write", "amq.default", true}));
    CHECK(seen.count({"exchange", "configure", "amq.topic", true}));
    CHECK(seen.count({"queue", "configure", "amq.gen-JzTY20BRgKO-HjmUJj0wLg", true}));
    CHECK(seen.count({"queue", "read", "queue/other-user/x", true}));
    CHECK(seen.count({"exchange", "write", "exchange/other-user/x", true}));
    CHECK_FALSE(seen.count({"exchange", "write", "exchange/carol/x", true}));
  }

  TEST_CASE("empty regexes allow nothing, so authsvc allows more: her own names") {
    Definitions d = with_users({BrokerPermission{"dave", "/", "", "", ""}});
    Seen seen = differences_of(compare_permissions(d, {"dave"}, pulse_rules()), "dave");
    CHECK(seen.count({"exchange", "configure", "exchange/dave/x", false}));
    CHECK(seen.count({"queue", "read", "queue/dave/x", false}));
    CHECK(seen.count({"exchange", "read", "exchange/other-user/x", false}));
    CHECK_FALSE(seen.count({"exchange", "configure", "amq.default", false}));
  }

  TEST_CASE("an unanchored regex matches inside names, as the broker's re:run does") {
    Definitions d = with_users({BrokerPermission{"erin", "/", "erin", "erin", "erin"}});
    d.queues = {{"/", "logs-erin-old"}, {"v2", "other-vhost-erin"}};
    PermissionComparison c = compare_permissions(d, {"erin"}, pulse_rules());
    Seen seen = differences_of(c, "erin");
    CHECK(seen.count({"queue", "configure", "logs-erin-old", true}));
    CHECK(seen.count({"exchange", "configure", "exchange/erin", true}));
    // Only the vhost's own queues are samples.
    CHECK_FALSE(seen.count({"queue", "configure", "other-vhost-erin", true}));
  }

  TEST_CASE(
      "the file's own queues and exchanges are samples, the default exchange as amq.default") {
    Definitions d = with_users({pulseguardian("alice")});
    d.exchanges = {{"/", ""}, {"/", "exchange/bob/builds"}, {"/", "legacy-exchange"}};
    d.queues = {{"/", "exchange/alice/oops"}};
    PermissionComparison c = compare_permissions(d, {"alice"}, pulse_rules());
    Seen seen = differences_of(c, "alice");
    CHECK(seen.count({"queue", "configure", "exchange/alice/oops", true}));
    CHECK_FALSE(seen.count({"exchange", "read", "exchange/bob/builds", true}));  // both allow
    for (const PermissionDifference& diff : c.differences) CHECK_FALSE(diff.name.empty());
    bool oops_pattern = false;
    for (const PermissionDifference& diff : c.differences) {
      oops_pattern |= diff.pattern == "exchange/<user>/oops";
    }
    CHECK(oops_pattern);
  }

  TEST_CASE("topic permissions: compared where both sides let the resource check through") {
    Definitions d = with_users({pulseguardian("alice")});
    d.exchanges = {{"/", "exchange/alice/t"}};
    d.bindings = {{"/", "exchange/alice/t", "builds.#"}};
    d.topic_permissions = {{"alice", "/", "exchange/alice/t", "^{username}\\.", ""}};
    PermissionComparison c = compare_permissions(d, {"alice"}, pulse_rules());
    std::set<std::tuple<std::string, std::string, bool>> topic;  // permission, key, broker allows
    for (const PermissionDifference& diff : c.differences) {
      if (diff.resource != ResourceKind::topic) continue;
      CHECK(diff.name == "exchange/alice/t");
      topic.emplace(std::string(to_string(diff.permission)), diff.routing_key, diff.broker_allows);
    }
    // Write: only keys starting "alice." pass the broker; authsvc takes any.
    CHECK(topic.count({"write", "a.b", false}));
    CHECK(topic.count({"write", "builds.#", false}));
    CHECK_FALSE(topic.count({"write", "alice.x", false}));
    // Read: "" is ^$, which no key but "" matches.
    CHECK(topic.count({"read", "a.b", false}));
    CHECK_FALSE(topic.count({"read", "", false}));
    // Her other exchanges have no topic permission: any key, as authsvc.
    for (const PermissionDifference& diff : c.differences) {
      if (diff.resource == ResourceKind::topic) CHECK(diff.name == "exchange/alice/t");
    }
  }

  TEST_CASE("a regex RE2 cannot compile is named, and the others are still compared") {
    BrokerPermission p = pulseguardian("alice");
    p.read = "^(?=exchange/)";
    PermissionComparison c = compare_permissions(with_users({p}), {"alice"}, pulse_rules());
    REQUIRE(c.problems.size() == 1);
    CHECK(c.problems[0].find("alice in vhost '/': the read regex '^(?=exchange/)'") == 0);
    Seen seen = differences_of(c, "alice");
    CHECK(seen.count({"exchange", "configure", "queue/alice/x", true}));
    for (const auto& [resource, permission, name, broker] : seen) CHECK(permission != "read");
  }

  TEST_CASE("only the users asked about, in vhosts the file defines, each vhost apart") {
    Definitions d = with_users({pulseguardian("alice"), pulseguardian("bob"),
                                pulseguardian("alice", "v2"), pulseguardian("alice", "gone")});
    PermissionComparison c = compare_permissions(d, {"alice"}, pulse_rules());
    CHECK(c.user_vhosts == 2);
    std::set<std::string> vhosts;
    for (const PermissionDifference& diff : c.differences) {
      CHECK(diff.user == "alice");
      vhosts.insert(diff.vhost);
    }
    CHECK(vhosts == std::set<std::string>{"/", "v2"});
  }

  TEST_CASE("the rules given are the ones compared with") {
    std::string error;
    std::optional<Rules> everything =
        Rules::parse("all allow * * .*\n", "everything.rules", &error);
    REQUIRE(everything);
    Definitions d = with_users({BrokerPermission{"carol", "/", ".*", ".*", ".*"}});
    PermissionComparison c = compare_permissions(d, {"carol"}, *everything);
    CHECK(c.differences.empty());
    CHECK(c.checks > 0);
  }
}

}  // namespace authsvc
