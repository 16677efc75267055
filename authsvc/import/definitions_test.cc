#include "authsvc/import/definitions.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "authsvc/core/error.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

// The shape `rabbitmqctl export_definitions` writes (RabbitMQ 3.10), cut
// down, with both spellings of tags.
const char* const kExport = R"json({
  "rabbit_version": "3.10.8", "rabbitmq_version": "3.10.8",
  "product_name": "RabbitMQ", "product_version": "3.10.8",
  "users": [
    {"name": "alice", "password_hash": "kI3GCrTX798KLXnBt/mFM97t8TbDJzaewEU/2YfqeB4xLGFr",
     "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["monitoring", " management "],
     "limits": {}},
    {"name": "guest", "password_hash": "x", "hashing_algorithm": "rabbit_password_hashing_sha256",
     "tags": "administrator, policymaker,,", "limits": {}},
    {"name": "nopass", "password_hash": "", "tags": ""},
    {"name": "old", "administrator": true}
  ],
  "vhosts": [{"name": "/", "limits": [], "metadata": {"description": ""}}, {"name": "v2"}],
  "permissions": [
    {"user": "alice", "vhost": "/", "configure": "^(queue/alice/.*|exchange/alice/.*)",
     "write": "^(queue/alice/.*|exchange/alice/.*)", "read": "^(queue/alice/.*|exchange/.*)"}
  ],
  "topic_permissions": [
    {"user": "alice", "vhost": "/", "exchange": "exchange/alice/t", "write": "^a\\.", "read": ""}
  ],
  "parameters": [], "global_parameters": [], "policies": [],
  "queues": [{"name": "queue/alice/q", "vhost": "/", "durable": true, "auto_delete": false,
              "arguments": {}}],
  "exchanges": [{"name": "exchange/alice/t", "vhost": "/", "type": "topic", "durable": true,
                 "auto_delete": false, "internal": false, "arguments": {}}],
  "bindings": [{"source": "exchange/alice/t", "vhost": "/", "destination": "queue/alice/q",
                "destination_type": "queue", "routing_key": "a.#", "arguments": {}}]
})json";

Definitions parse_ok(std::string_view text) {
  std::string error;
  std::optional<Definitions> d = parse_definitions(text, &error);
  INFO(error);
  REQUIRE(d);
  return *d;
}

std::string parse_error(std::string_view text) {
  std::string error;
  std::optional<Definitions> d = parse_definitions(text, &error);
  CHECK_FALSE(d);
  CHECK(error.find('\n') == std::string::npos);
  return error;
}

}  // namespace

TEST_SUITE("definitions") {
  TEST_CASE(
      "an export's users, vhosts, permissions, topic permissions, queues, exchanges, bindings") {
    Definitions d = parse_ok(kExport);
    CHECK(d.rabbit_version == "3.10.8");
    REQUIRE(d.users.size() == 4);
    CHECK(d.users[0].name == "alice");
    CHECK(d.users[0].password_hash == "kI3GCrTX798KLXnBt/mFM97t8TbDJzaewEU/2YfqeB4xLGFr");
    CHECK(d.users[0].hashing_algorithm == "rabbit_password_hashing_sha256");
    CHECK(d.users[0].tags == std::vector<std::string>{"monitoring", "management"});
    CHECK_FALSE(d.users[0].has_clear_password);
    // A comma string, as older exports write tags, trimmed, empty parts dropped.
    CHECK(d.users[1].tags == std::vector<std::string>{"administrator", "policymaker"});
    CHECK(d.users[2].password_hash == "");
    CHECK_FALSE(d.users[2].hashing_algorithm);
    CHECK(d.users[2].tags.empty());
    // Before tags there was a flag.
    CHECK(d.users[3].tags == std::vector<std::string>{"administrator"});
    CHECK_FALSE(d.users[3].password_hash);
    CHECK(d.vhosts == std::vector<std::string>{"/", "v2"});
    REQUIRE(d.permissions.size() == 1);
    CHECK(d.permissions[0].read == "^(queue/alice/.*|exchange/.*)");
    REQUIRE(d.topic_permissions.size() == 1);
    CHECK(d.topic_permissions[0].exchange == "exchange/alice/t");
    CHECK(d.topic_permissions[0].write == "^a\\.");
    REQUIRE(d.queues.size() == 1);
    CHECK(d.queues[0].name == "queue/alice/q");
    REQUIRE(d.exchanges.size() == 1);
    CHECK(d.exchanges[0].vhost == "/");
    REQUIRE(d.bindings.size() == 1);
    CHECK(d.bindings[0].routing_key == "a.#");
  }

  TEST_CASE("only users is required: the other lists may be missing or null") {
    Definitions d = parse_ok(R"({"users": [], "vhosts": null})");
    CHECK(d.users.empty());
    CHECK(d.vhosts.empty());
    CHECK(d.rabbit_version.empty());
  }

  TEST_CASE("a clear-text password is noticed, never kept") {
    Definitions d = parse_ok(R"({"users": [{"name": "a", "password": "s3cret", "tags": []}]})");
    CHECK(d.users[0].has_clear_password);
    CHECK_FALSE(d.users[0].password_hash);
  }

  TEST_CASE("text that is not JSON is refused in one line") {
    CHECK(parse_error("").rfind("not JSON: ", 0) == 0);
    CHECK(parse_error("{\"users\": [").rfind("not JSON: ", 0) == 0);
    CHECK(parse_error("users:\n - alice\n").rfind("not JSON: ", 0) == 0);
    CHECK(parse_error("{\"users\": []} trailing").rfind("not JSON: ", 0) == 0);
    // Invalid UTF-8 in a string.
    CHECK(parse_error("{\"users\": [{\"name\": \"\xff\"}]}").rfind("not JSON: ", 0) == 0);
  }

  TEST_CASE("the wrong shape is refused, naming the JSON path") {
    struct Case {
      const char* json;
      const char* error;
    };
    for (const Case& c : {
             Case{"[]", "the document: expected an object (a definitions export)"},
             Case{"{}", "users: missing (not a definitions export?)"},
             Case{R"({"users": {}})", "users: expected a list"},
             Case{R"({"users": ["alice"]})", "users[0]: expected an object"},
             Case{R"({"users": [{"name": "a", "tags": []}, {"tags": []}]})",
                  "users[1].name: missing"},
             Case{R"({"users": [{"name": 7, "tags": []}]})", "users[0].name: expected a string"},
             Case{R"({"users": [{"name": "a", "tags": {}}]})",
                  "users[0].tags: expected a list of strings or a comma-separated string"},
             Case{R"({"users": [{"name": "a", "tags": ["x", 1]}]})",
                  "users[0].tags[1]: expected a string"},
             Case{R"({"users": [{"name": "a"}]})", "users[0].tags: missing"},
             Case{R"({"users": [{"name": "a", "tags": [], "password_hash": 5}]})",
                  "users[0].password_hash: expected a string"},
             Case{R"({"users": [{"name": "a", "tags": [], "hashing_algorithm": []}]})",
                  "users[0].hashing_algorithm: expected a string"},
             Case{R"({"users": [], "permissions": [{"user": "a", "vhost": "/", "configure": "",
                   "write": ""}]})",
                  "permissions[0].read: missing"},
             Case{R"({"users": [], "topic_permissions": [{"user": "a", "vhost": "/",
                   "write": "", "read": ""}]})",
                  "topic_permissions[0].exchange: missing"},
             Case{R"({"users": [], "vhosts": "/"})", "vhosts: expected a list"},
             Case{R"({"users": [], "queues": [{"name": "q"}]})", "queues[0].vhost: missing"},
             Case{R"({"users": [], "bindings": [{"source": "", "vhost": "/"}]})",
                  "bindings[0].routing_key: missing"},
         }) {
      CAPTURE(c.json);
      CHECK(parse_error(c.json) == c.error);
    }
  }

  TEST_CASE("a file is refused by its size before it is read, and while it is read") {
    testing::TempDir dir;
    std::string path = dir.file("definitions.json");
    testing::write_file(path, kExport);
    CHECK(read_definitions_file(path).users.size() == 4);
    CHECK_THROWS_WITH_AS(read_definitions_file(path, 100),
                         doctest::Contains("a definitions file is refused above 100 bytes"), Error);
    // A sparse 1 GB file: refused by its size at once (reading it would
    // take seconds and a gigabyte of memory).
    std::string huge = dir.file("huge.json");
    int fd = ::open(huge.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t{1} << 30) == 0);
    ::close(fd);
    CHECK_THROWS_WITH_AS(read_definitions_file(huge), doctest::Contains("1073741824 bytes"), Error);
    CHECK_THROWS_WITH_AS(read_definitions_file(dir.file("missing.json")),
                         doctest::Contains("cannot read"), Error);
    CHECK_THROWS_WITH_AS(read_definitions_file(dir.path().string()),
                         doctest::Contains("a directory"), Error);
    testing::write_file(path, "{\"users\": 1}");
    CHECK_THROWS_WITH_AS(read_definitions_file(path),
                         doctest::Contains("definitions.json: users: expected a list"), Error);
  }
}

}  // namespace authsvc
