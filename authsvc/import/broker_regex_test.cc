#include "authsvc/import/broker_regex.h"

#include <doctest/doctest.h>

namespace authsvc {
namespace {

BrokerRegex compiled(std::string_view text) {
  std::string error;
  std::optional<BrokerRegex> regex = BrokerRegex::compile(text, &error);
  INFO(error);
  REQUIRE(regex);
  return std::move(*regex);
}

}  // namespace

TEST_SUITE("broker_regex") {
  TEST_CASE("a regex matches anywhere in the name unless it anchors itself, as re:run does") {
    BrokerRegex loose = compiled("queue/alice/");
    CHECK(loose.matches("queue/alice/q"));
    CHECK(loose.matches("xqueue/alice/q"));
    CHECK(loose.matches("exchange/queue/alice/"));
    CHECK_FALSE(loose.matches("queue/alice"));
    BrokerRegex anchored = compiled("^(queue/alice/.*|exchange/.*)");
    CHECK(anchored.matches("queue/alice/q"));
    CHECK(anchored.matches("exchange/bob/x"));
    CHECK_FALSE(anchored.matches("xqueue/alice/q"));
    CHECK_FALSE(anchored.matches("amq.topic"));
    BrokerRegex end = compiled("^amq\\.topic$");
    CHECK(end.matches("amq.topic"));
    CHECK_FALSE(end.matches("amq.topics"));
  }

  TEST_CASE("the empty regex is ^$: it matches no queue or exchange name") {
    BrokerRegex empty = compiled("");
    CHECK(empty.text().empty());
    CHECK_FALSE(empty.matches("amq.default"));
    CHECK_FALSE(empty.matches("queue/alice/q"));
    CHECK(empty.matches(""));
  }

  TEST_CASE("names are bytes: '.' matches any byte but a newline, UTF-8 or not") {
    BrokerRegex dot = compiled("^x.y$");
    CHECK(dot.matches("x\xffy"));
    CHECK(dot.matches("x y"));
    CHECK_FALSE(dot.matches("x\xc3\xa4y"));  // two bytes
    CHECK_FALSE(dot.matches("x\ny"));
    CHECK(compiled("^.*$").matches("anything at all"));
    CHECK_FALSE(compiled("^Queue").matches("queue"));  // case matters
  }

  TEST_CASE("a regex RE2 cannot compile (lookaround, a syntax error) is refused with a reason") {
    for (const char* text : {"^(?=queue/)", "(?<!x)y", "^(a", "\\1"}) {
      CAPTURE(text);
      std::string error;
      CHECK_FALSE(BrokerRegex::compile(text, &error));
      CHECK_FALSE(error.empty());
    }
  }

  TEST_CASE("topic variables are replaced literally, every occurrence, nothing else") {
    CHECK(expand_topic_variables("^{username}\\.{vhost}\\.{username}$", "a.b", "/") ==
          "^a.b\\./\\.a.b$");
    CHECK(expand_topic_variables("{client_id}", "alice", "/") == "{client_id}");
    CHECK(expand_topic_variables("", "alice", "/") == "");
    // A value holding a placeholder is not expanded again.
    CHECK(expand_topic_variables("{vhost}", "alice", "{username}") == "{username}");
  }
}

}  // namespace authsvc
