// Against an in-process fake of the management API: the requests as sent
// on the wire (raw target, headers) and the answers as RabbitMQ 3.10.8
// writes them (bodies copied from a real broker).
#include "authsvc/guardian/management_api.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "authsvc/core/form.h"
#include "authsvc/guardian/guardian_policy.h"
#include "authsvc/guardian/queue_cap.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

struct Seen {
  std::string method, target, authorization, reason;
  bool has_reason = false;
  std::string body, content_type;
};

struct Answer {
  int status = 200;
  std::string body = "[]";
};

class FakeBroker {
 public:
  FakeBroker() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      seen_.push_back({req.method, req.target, req.get_header_value("Authorization"),
                       req.get_header_value("X-Reason"), req.has_header("X-Reason"), req.body,
                       req.get_header_value("Content-Type")});
      // The target as sent (still encoded), else its path without the query.
      auto by_path = by_path_.find(req.target);
      if (by_path == by_path_.end())
        by_path = by_path_.find(req.target.substr(0, req.target.find('?')));
      const Answer& answer = by_path == by_path_.end() ? answer_ : by_path->second;
      res.status = answer.status;
      res.set_content(answer.body, "application/json");
    };
    server_.Get(".*", handler);
    server_.Delete(".*", handler);
    server_.Put(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the thread is in its accept loop is lost, and the
    // destructor's join then waits forever: wait until it listens.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeBroker() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& prefix = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + prefix;
  }
  void answer(int status, std::string body) {
    std::lock_guard lock(mutex_);
    answer_ = {status, std::move(body)};
  }
  // The answer to requests for `path` (as sent: a whole target with its
  // query, or a path for any query), instead.
  void answer(const std::string& path, int status, std::string body) {
    std::lock_guard lock(mutex_);
    by_path_[path] = {status, std::move(body)};
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  Answer answer_;
  std::map<std::string, Answer> by_path_;
  std::vector<Seen> seen_;
};

ManagementOptions options(const std::string& url) {
  return {.url = url,
          .user = "guardian",
          .password = "s3cret:pw",
          .timeout = testing::scaled(std::chrono::seconds(5))};
}

// base64("guardian:s3cret:pw")
const char kBasicAuth[] = "Basic Z3VhcmRpYW46czNjcmV0OnB3";

}  // namespace

TEST_SUITE("management_api") {
  TEST_CASE("paths to the management API keep each name one segment") {
    CHECK(path_segment("/") == "%2F");
    CHECK(path_segment("queue/alice/jobs") == "queue%2Falice%2Fjobs");
    CHECK(path_segment("127.0.0.1:53012 -> 127.0.0.1:5672") ==
          "127.0.0.1%3A53012%20-%3E%20127.0.0.1%3A5672");
    CHECK(path_segment("a-Z_0.~") == "a-Z_0.~");
    CHECK(path_segment("%+?#&=") == "%25%2B%3F%23%26%3D");
    CHECK(path_segment("\xc3\xa9") == "%C3%A9");
    CHECK(path_segment("") == "");
    CHECK(path_segment("..") == "%2E%2E");
  }

  TEST_CASE("management URLs are validated at construction") {
    for (const char* bad : {"", "127.0.0.1:15672", "ftp://host", "http://", "http://:15672",
                            "http://host:", "http://host:0", "http://host:65536", "http://host:12a",
                            "http://user:pw@host:15672", "http://host:15672/api?x=1",
                            "http://host:15672/#frag", "http://ho st", "http://[::1"}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(ManagementApi(options(bad)), ManagementError);
    }
    CHECK(ManagementApi(options("http://h:15672")).url() == "http://h:15672");
    CHECK(ManagementApi(options("HTTP://h")).url() == "http://h:80");
    CHECK(ManagementApi(options("http://h:1/rabbit/")).url() == "http://h:1/rabbit");
    CHECK(ManagementApi(options("https://[::1]:15671")).url() == "https://[::1]:15671");
    // The password never shows, even in the message about a bad URL.
    try {
      ManagementApi api(options("http://guardian:s3cret@h"));
      FAIL("accepted credentials in the URL");
    } catch (const ManagementError& e) {
      CHECK(std::string(e.what()).find("credentials") != std::string::npos);
      CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
    }
  }

  TEST_CASE("exchanges with rates and bindings: the statistics and bindings parse" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    // As 3.10 answers: an exchange nothing was published to has no
    // message_stats; a rate may be a whole number.
    broker.answer("/api/exchanges", 200, R"([
    {"name":"exchange/alice/a","vhost":"/","type":"topic","durable":true,"auto_delete":false,"internal":false,"message_stats":{"publish_in_details":{"rate":2.4}}},
    {"name":"exchange/bob/b","vhost":"/","type":"fanout","durable":false,"auto_delete":false,"internal":false},
    {"name":"exchange/bob/c","vhost":"/","type":"topic","durable":true,"auto_delete":false,"internal":false,"message_stats":{"publish_in_details":{"rate":0}}}])");
    broker.answer("/api/bindings", 200, R"([
    {"source":"exchange/alice/a","vhost":"/","destination":"queue/bob/q","destination_type":"queue"},
    {"source":"","vhost":"/","destination":"queue/bob/q","destination_type":"queue"}])");
    ManagementApi api(options(broker.url()));
    std::vector<ExchangeInfo> exchanges = api.exchanges_with_rates();
    REQUIRE(exchanges.size() == 3);
    CHECK(exchanges[0].publish_rate == doctest::Approx(2.4));
    CHECK_FALSE(exchanges[1].publish_rate.has_value());
    CHECK(exchanges[1].type == "fanout");
    CHECK(exchanges[2].publish_rate == 0.0);
    std::vector<BindingInfo> bindings = api.bindings();
    REQUIRE(bindings.size() == 2);
    CHECK(bindings[0].source == "exchange/alice/a");
    CHECK(bindings[0].destination == "queue/bob/q");
    CHECK(bindings[0].destination_type == "queue");
    CHECK(bindings[1].source == "");
    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].target ==
          "/api/exchanges?columns=vhost,name,type,durable,auto_delete,internal,"
          "message_stats.publish_in_details.rate");
    CHECK(seen[1].target == "/api/bindings?columns=vhost,source,destination,destination_type");

    broker.answer(
        "/api/exchanges", 200,
        R"([{"name":"x","vhost":"/","message_stats":{"publish_in_details":{"rate":"fast"}}}])");
    CHECK_THROWS_AS(api.exchanges_with_rates(), ManagementError);
  }

  TEST_CASE("queues: the request asks for few columns, with basic auth, the answer parses" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    // As 3.10.8 answers, plus a queue whose count is not known yet.
    broker.answer(200, R"([
    {"auto_delete":false,"durable":false,"exclusive":true,"messages":0,"name":"amq.gen-4MImDbrq","vhost":"/"},
    {"auto_delete":false,"consumers":2,"durable":true,"exclusive":false,"messages":5,"name":"queue/alice/with space>x","vhost":"/"},
    {"auto_delete":true,"durable":false,"exclusive":false,"messages":null,"name":"q in v2","vhost":"v2"},
    {"name":"fresh","vhost":"/"}])");
    broker.answer("/api/operator-policies", 200, "[]");
    broker.answer("/api/consumers", 200, R"([
    {"queue":{"name":"queue/alice/with space>x","vhost":"/"}},
    {"queue":{"name":"queue/alice/with space>x","vhost":"/"}},
    {"queue":{"name":"q in v2","vhost":"/"}},
    {"queue":null}])");
    ManagementApi api(options(broker.url()));
    std::vector<QueueInfo> queues = api.queues();

    // No operator policy: the queues are not listed again with statistics.
    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target ==
          "/api/queues?disable_stats=true&enable_queue_totals=true"
          "&columns=vhost,name,messages,messages_ready,durable,auto_delete,exclusive,arguments,"
          "policy");
    CHECK(seen[0].authorization == kBasicAuth);
    CHECK(seen[1].target == "/api/operator-policies?columns=vhost,name,definition");
    CHECK(seen[2].target ==
          "/api/consumers?columns=queue.name,queue.vhost,channel_details.name,"
          "channel_details.user,prefetch_count,ack_required");

    REQUIRE(queues.size() == 4);
    CHECK(queues[0].vhost == "/");
    CHECK(queues[0].name == "amq.gen-4MImDbrq");
    CHECK(queues[0].messages == 0);
    CHECK(queues[0].exclusive);
    CHECK_FALSE(queues[0].durable);
    CHECK(queues[1].name == "queue/alice/with space>x");
    CHECK(queues[1].messages == 5);
    CHECK(queues[1].consumers == 2);
    CHECK(queues[0].consumers == 0);
    CHECK(queues[2].consumers == 0);  // the consumer's is a queue of that name in another vhost
    CHECK(queues[1].durable);
    CHECK(queues[2].vhost == "v2");
    CHECK(queues[2].messages == std::nullopt);
    CHECK(queues[2].auto_delete);
    CHECK(queues[3].messages == std::nullopt);
    CHECK_FALSE(queues[3].durable);
    // No queue has a policy: no policy was asked for.
    CHECK(queues[0].max_length_argument == std::nullopt);
    CHECK(queues[0].policy_max_length == std::nullopt);
    CHECK(queues[0].policy.empty());
  }

  TEST_CASE("channels and consumers: confirm mode, publishes and prefetch limits parse" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    // As 3.10 answers (tests/e2e/sampler_e2e.py sees real ones): a channel
    // that has not published has no message_stats.
    broker.answer("/api/channels", 200, R"json([
    {"confirm":true,"global_prefetch_count":0,"message_stats":{"publish":5},"name":"c (1)","user":"alice","vhost":"/"},
    {"confirm":false,"global_prefetch_count":20,"name":"c (2)","user":"alice","vhost":"/"}])json");
    broker.answer("/api/consumers", 200, R"json([
    {"channel_details":{"name":"c (2)","user":"alice"},"prefetch_count":10,"ack_required":true,"queue":{"name":"q1","vhost":"/"}},
    {"channel_details":{"name":"c (3)","user":"bob"},"prefetch_count":0,"ack_required":false,"queue":{"name":"q2","vhost":"v"}},
    {"queue":null}])json");
    ManagementApi api(options(broker.url()));
    std::vector<ChannelInfo> channels = api.channels();
    REQUIRE(channels.size() == 2);
    CHECK(channels[0].name == "c (1)");
    CHECK(channels[0].user == "alice");
    CHECK(channels[0].vhost == "/");
    CHECK(channels[0].confirm);
    CHECK(channels[0].published == 5);
    CHECK(channels[0].global_prefetch == 0);
    CHECK_FALSE(channels[1].confirm);
    CHECK(channels[1].published == std::nullopt);
    CHECK(channels[1].global_prefetch == 20);
    std::vector<ConsumerInfo> consumers = api.consumers();
    REQUIRE(consumers.size() == 2);  // the one without its queue is nobody's
    CHECK(consumers[0].vhost == "/");
    CHECK(consumers[0].queue == "q1");
    CHECK(consumers[0].channel == "c (2)");
    CHECK(consumers[0].user == "alice");
    CHECK(consumers[0].prefetch == 10);
    CHECK(consumers[0].ack_required);
    CHECK(consumers[1].vhost == "v");
    CHECK(consumers[1].user == "bob");
    CHECK(consumers[1].prefetch == 0);
    CHECK_FALSE(consumers[1].ack_required);
    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].target ==
          "/api/channels?columns=name,user,vhost,confirm,global_prefetch_count,"
          "message_stats.publish");

    broker.answer("/api/channels", 200, R"([{"name":"c","confirm":"yes"}])");
    CHECK_THROWS_AS(api.channels(), ManagementError);
    broker.answer("/api/consumers", 200,
                  R"([{"queue":{"name":"q","vhost":"/"},"prefetch_count":"10"}])");
    CHECK_THROWS_AS(api.consumers(), ManagementError);
  }

  TEST_CASE("queues: length limits of the argument, the policy and the operator policy" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    // As 3.10 lists them with disable_stats: the policies' names, not their
    // definitions, nor the operator policies' names, which come with the
    // statistics (tests/e2e/guardian_e2e.py sees real ones).
    broker.answer("/api/queues?columns=vhost,name,operator_policy", 200, R"([
    {"name":"queue/bob/argument","vhost":"/","operator_policy":null},
    {"name":"queue/bob/all","vhost":"/","operator_policy":"ops-limit"}])");
    broker.answer("/api/queues", 200, R"([
    {"arguments":{"x-max-length":40,"x-queue-type":"classic"},"name":"queue/bob/argument","vhost":"/"},
    {"arguments":{},"policy":"bounded","name":"queue/bob/policy","vhost":"/"},
    {"arguments":{"x-max-length":20},"policy":"bounded","name":"queue/bob/all","vhost":"/"},
    {"arguments":{},"policy":"bounded","name":"queue/bob/elsewhere","vhost":"v2"},
    {"arguments":{"x-max-length":-1},"policy":"loose","name":"queue/bob/odd","vhost":"/"},
    {"arguments":{"x-max-length":"100"},"policy":"","name":"queue/bob/odder","vhost":"/"},
    {"arguments":[],"name":"queue/bob/plain","vhost":"/"}])");
    broker.answer("/api/policies", 200, R"([
    {"vhost":"/","name":"bounded","definition":{"max-length":30,"overflow":"drop-head"}},
    {"vhost":"v2","name":"bounded","definition":{"max-length":300}},
    {"vhost":"/","name":"loose","definition":{"max-length":2.5,"ha-mode":"all"}}])");
    broker.answer("/api/operator-policies", 200, R"([
    {"vhost":"/","name":"ops-limit","definition":{"max-length":10}}])");
    ManagementApi api(options(broker.url()));
    std::vector<QueueInfo> queues = api.queues();
    REQUIRE(queues.size() == 7);
    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 5);
    CHECK(seen[1].target == "/api/policies?columns=vhost,name,definition");
    CHECK(seen[2].target == "/api/operator-policies?columns=vhost,name,definition");
    CHECK(seen[3].target == "/api/queues?columns=vhost,name,operator_policy");
    CHECK(queues[2].operator_policy == "ops-limit");
    CHECK(queues[0].operator_policy.empty());

    CHECK(queues[0].max_length_argument == 40);
    CHECK(queues[0].policy_max_length == std::nullopt);
    CHECK(queue_length_limit(queues[0]) == 40);
    CHECK(queues[1].policy == "bounded");
    CHECK(queues[1].policy_max_length == 30);
    // The lowest of the three, as the broker applies them.
    CHECK(queues[2].policy_max_length == 10);
    CHECK(queue_length_limit(queues[2]) == 10);
    // A policy is the vhost's own.
    CHECK(queues[3].policy_max_length == 300);
    // What RabbitMQ would not apply as a limit is none: the queue stays
    // under the guardian's.
    for (std::size_t i : {4, 5, 6}) {
      CAPTURE(i);
      CHECK(queue_length_limit(queues[i]) == std::nullopt);
    }
  }

  TEST_CASE("queues: ready messages, the overflow, and the guardian's own cap bounds nothing" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    const std::string cap = cap_policy_name("/", "queue/bob/capped");
    broker.answer("/api/queues", 200, R"([
    {"arguments":{},"messages":90,"messages_ready":60,"name":"queue/bob/capped","vhost":"/"},
    {"arguments":{"x-overflow":"reject-publish"},"policy":"dropping","name":"queue/bob/own","vhost":"/"},
    {"arguments":{},"policy":"dropping","name":"queue/bob/by-policy","vhost":"/"},
    {"arguments":{"x-overflow":7},"name":"queue/bob/odd","vhost":"/"}])");
    broker.answer("/api/policies", 200, R"([
    {"vhost":"/","name":"dropping","definition":{"overflow":"reject-publish-dlx"}}])");
    broker.answer("/api/operator-policies", 200,
                  R"([{"vhost":"/","name":")" + cap + R"(","definition":{"max-length":50}}])");
    ManagementApi api(options(broker.url()));
    std::vector<QueueInfo> queues = api.queues();
    REQUIRE(queues.size() == 4);
    // The one operator policy is the guardian's: no listing with statistics.
    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 4);
    CHECK(seen[1].target == "/api/policies?columns=vhost,name,definition");
    CHECK(queues[0].messages == 90);
    CHECK(queues[0].messages_ready == 60);
    CHECK(queues[0].operator_policy.empty());
    CHECK_FALSE(queues[1].capped_by_guardian);
    CHECK(queues[0].policy_max_length == std::nullopt);
    CHECK(cap_in_effect(queues[0]));
    CHECK(queues[0].overflow.empty());
    CHECK(drops_oldest(queues[0]));
    // The argument wins over the policy, as RabbitMQ applies them.
    CHECK(queues[1].overflow == "reject-publish");
    CHECK(queues[2].overflow == "reject-publish-dlx");
    CHECK_FALSE(drops_oldest(queues[2]));
    CHECK(queues[3].overflow.empty());  // not a string: the broker ignores it
  }

  TEST_CASE("cap_queue puts the guardian's operator policy above the operator's, keeping theirs" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    const std::string queue_name = "queue/alice/big one";
    const std::string ours = cap_policy_name("/", queue_name);
    // The vhost's operator policies: one that applies to the queue, others
    // that do not (another prefix, exchanges only), the guardian's own, and
    // one whose pattern RE2 cannot read (a lookbehind).
    broker.answer("/api/operator-policies/%2F", 200, R"([
    {"name":"ttl","pattern":"^queue/alice/","apply-to":"queues","priority":7,
     "definition":{"message-ttl":60000,"max-length":100000}},
    {"name":"bobs","pattern":"^queue/bob/","apply-to":"all","priority":9,"definition":{"expires":1}},
    {"name":"xs","pattern":".*","apply-to":"exchanges","priority":20,"definition":{}},
    {"name":")" + ours + R"(","pattern":"x","apply-to":"queues","priority":99,"definition":{}},
    {"name":"odd","pattern":"(?<=q)ueue","apply-to":"queues","priority":8,
     "definition":{"max-length":10}}])");
    ManagementApi api(options(broker.url()));
    QueueInfo q;
    q.vhost = "/";
    q.name = queue_name;
    api.cap_queue(q, 8000);
    // The broker says the unreadable one is in effect: it is the one kept.
    q.operator_policy = "odd";
    api.cap_queue(q, 8000);
    CHECK(api.uncap_queue("/", q.name));
    // A vhost without operator policies of the operator's.
    broker.answer("/api/operator-policies/v2", 200, "[]");
    q.vhost = "v2";
    q.operator_policy.clear();
    api.cap_queue(q, 50);
    broker.answer(404, R"({"error":"Object Not Found","reason":"Not Found"})");
    CHECK_FALSE(api.uncap_queue("/", queue_name));

    std::vector<Seen> seen = broker.seen();
    REQUIRE(seen.size() == 8);
    const std::string path = "/api/operator-policies/%2F/" + ours;
    const std::string pattern = R"(^queue\/alice\/big\ one\z)";
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/api/operator-policies/%2F");
    CHECK(seen[1].method == "PUT");
    CHECK(seen[1].target == path);
    CHECK(seen[1].authorization == kBasicAuth);
    CHECK(seen[1].content_type == "application/json");
    CHECK(nlohmann::json::parse(seen[1].body) ==
          nlohmann::json{{"pattern", pattern},
                         {"apply-to", "queues"},
                         {"priority", 21},
                         {"definition", {{"message-ttl", 60000}, {"max-length", 8000}}}});
    // Its max-length is lower than the cap's: it stays.
    CHECK(nlohmann::json::parse(seen[3].body)["definition"] == nlohmann::json{{"max-length", 10}});
    CHECK(seen[4].method == "DELETE");
    CHECK(seen[4].target == path);
    CHECK(seen[7].method == "DELETE");
    CHECK(seen[5].target == "/api/operator-policies/v2");
    CHECK(seen[6].target == "/api/operator-policies/v2/" + cap_policy_name("v2", queue_name));
    CHECK(nlohmann::json::parse(seen[6].body) ==
          nlohmann::json{{"pattern", pattern},
                         {"apply-to", "queues"},
                         {"priority", 0},
                         {"definition", {{"max-length", 50}}}});
  }

  TEST_CASE("a path prefix goes before /api" * doctest::test_suite("threaded")) {
    FakeBroker broker;
    ManagementApi api(options(broker.url("/rabbit/")));
    api.exchanges();
    REQUIRE(broker.seen().size() == 1);
    CHECK(broker.seen()[0].target.rfind("/rabbit/api/exchanges?", 0) == 0);
  }

  TEST_CASE("exchanges parse, the default exchange's empty name included" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    broker.answer(200, R"([
    {"auto_delete":false,"durable":true,"internal":false,"name":"","type":"direct","vhost":"/"},
    {"auto_delete":false,"durable":true,"internal":true,"name":"amq.rabbitmq.trace","type":"topic","vhost":"/"},
    {"auto_delete":true,"durable":false,"internal":false,"name":"exchange/alice/x","type":"x-delayed-message","vhost":"v2"}])");
    ManagementApi api(options(broker.url()));
    std::vector<ExchangeInfo> exchanges = api.exchanges();
    CHECK(broker.seen().at(0).target ==
          "/api/exchanges?disable_stats=true&columns=vhost,name,type,durable,auto_delete,internal");
    REQUIRE(exchanges.size() == 3);
    CHECK(exchanges[0].name == "");
    CHECK(exchanges[0].type == "direct");
    CHECK(exchanges[0].durable);
    CHECK(exchanges[1].internal);
    CHECK(exchanges[2].vhost == "v2");
    CHECK(exchanges[2].type == "x-delayed-message");
    CHECK(exchanges[2].auto_delete);
  }

  TEST_CASE("connections parse, with user and peer" * doctest::test_suite("threaded")) {
    FakeBroker broker;
    broker.answer(200, R"([
    {"name":"127.0.0.1:58884 -> 127.0.0.1:42477","peer_host":"127.0.0.1","peer_port":58884,"user":"alice","vhost":"/","connected_at":1795312345678},
    {"name":"[::1]:5000 -> [::1]:5672","peer_host":"::1","peer_port":5000,"user":"bob","vhost":"v2"},
    {"name":"<rabbit@h.1.2.3>","peer_host":"undefined","peer_port":"unknown","user":"shovel","vhost":"/"},
    {"name":"starting","vhost":"/"}])");
    ManagementApi api(options(broker.url()));
    std::vector<ConnectionInfo> connections = api.connections();
    CHECK(broker.seen().at(0).target ==
          "/api/connections?columns=name,user,vhost,peer_host,peer_port,connected_at");
    REQUIRE(connections.size() == 4);
    CHECK(connections[0].name == "127.0.0.1:58884 -> 127.0.0.1:42477");
    CHECK(connections[0].user == "alice");
    CHECK(connections[0].vhost == "/");
    CHECK(connections[0].peer == "127.0.0.1:58884");
    CHECK(connections[0].connected_at_ms == 1795312345678);
    CHECK_FALSE(connections[1].connected_at_ms.has_value());
    CHECK(connections[1].peer == "[::1]:5000");
    CHECK(connections[2].peer == "undefined:unknown");
    CHECK(connections[3].user == "");
    CHECK(connections[3].peer == "");
  }

  TEST_CASE("internal users: the names in the broker's own database" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    broker.answer(200, R"([{"name":"guardian","tags":["administrator"]},{"name":"alice"}])");
    ManagementApi api(options(broker.url()));
    CHECK(api.internal_users() == std::vector<std::string>{"guardian", "alice"});
    CHECK(broker.seen().at(0).target == "/api/users?columns=name");
    broker.answer(200, R"([{"tags":[]}])");
    CHECK_THROWS_AS(api.internal_users(), ManagementError);
  }

  TEST_CASE("each removal is a DELETE of its encoded path with basic auth, and 404 is false" *
            doctest::test_suite("threaded")) {
    struct Case {
      const char* call;
      std::function<bool(ManagementApi&)> remove;
      const char* target;
      const char* reason;  // the X-Reason header; nullptr: none is sent
    };
    const Case cases[] = {
        {"delete_queue",
         [](ManagementApi& api) { return api.delete_queue("/", "queue/alice/with space>x"); },
         "/api/queues/%2F/queue%2Falice%2Fwith%20space%3Ex", nullptr},
        {"delete_queue", [](ManagementApi& api) { return api.delete_queue("v 2", "gone"); },
         "/api/queues/v%202/gone", nullptr},
        {"delete_exchange",
         [](ManagementApi& api) { return api.delete_exchange("/", "exchange/alice/fanout"); },
         "/api/exchanges/%2F/exchange%2Falice%2Ffanout", nullptr},
        {"close_connection",
         [](ManagementApi& api) {
           return api.close_connection("127.0.0.1:53012 -> 127.0.0.1:5672",
                                       "user alice was revoked");
         },
         "/api/connections/127.0.0.1%3A53012%20-%3E%20127.0.0.1%3A5672", "user alice was revoked"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.call);
      CAPTURE(c.target);
      FakeBroker broker;
      ManagementApi api(options(broker.url()));
      broker.answer(204, "");
      CHECK(c.remove(api));
      // Not found, with the broker's explanation or with none.
      broker.answer(404, R"({"error":"Object Not Found","reason":"Not Found"})");
      CHECK_FALSE(c.remove(api));
      broker.answer(404, "");
      CHECK_FALSE(c.remove(api));
      std::vector<Seen> seen = broker.seen();
      REQUIRE(seen.size() == 3);
      for (const Seen& request : seen) {
        CHECK(request.method == "DELETE");
        CHECK(request.target == c.target);
        CHECK(request.authorization == kBasicAuth);
        CHECK(request.has_reason == (c.reason != nullptr));
        if (c.reason) CHECK(request.reason == c.reason);
      }
    }
  }

  TEST_CASE("close_connection refuses a reason that could split the header, sending nothing" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    ManagementApi api(options(broker.url()));
    CHECK_THROWS_AS(api.close_connection("c", "x\r\nX-Evil: 1"), ManagementError);
    CHECK_THROWS_AS(api.close_connection("c", "del\x7f"), ManagementError);
    CHECK(broker.seen().empty());
  }

  TEST_CASE("401 is a ManagementError that names the status and never the password" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    broker.answer(401, R"({"error":"not_authorized","reason":"Login failed"})");
    ManagementApi api(options(broker.url()));
    for (int call = 0; call < 3; ++call) {
      CAPTURE(call);
      try {
        if (call == 0) api.queues();
        if (call == 1) api.delete_queue("/", "q");
        if (call == 2) api.close_connection("c", "r");
        FAIL("no exception");
      } catch (const ManagementError& e) {
        std::string message = e.what();
        CHECK(message.find("HTTP 401") != std::string::npos);
        CHECK(message.find("Login failed") != std::string::npos);
        CHECK(message.find("s3cret") == std::string::npos);
      }
    }
    broker.answer(500, "<html>oops</html>");
    CHECK_THROWS_WITH_AS(api.exchanges(), doctest::Contains("HTTP 500"), ManagementError);
  }

  TEST_CASE("malformed or mistyped answers are ManagementErrors" *
            doctest::test_suite("threaded")) {
    FakeBroker broker;
    ManagementApi api(options(broker.url()));
    for (const char* body : {
             "", "[{", "<html></html>", R"({"name":"q"})", "[1]",
             R"([{"vhost":"/"}])",                            // no name
             R"([{"vhost":"/","name":7}])",                   // name not a string
             R"([{"vhost":"/","name":"q","messages":"5"}])",  // count as a string
             R"([{"vhost":"/","name":"q","messages":1.5}])",  // count not an integer
             R"([{"vhost":"/","name":"q","messages":18446744073709551615}])",  // out of range
             R"([{"vhost":"/","name":"q","durable":"true"}])",                 // bool as a string
         }) {
      CAPTURE(body);
      broker.answer(200, body);
      CHECK_THROWS_AS(api.queues(), ManagementError);
    }
    broker.answer(200, R"([{"name":"c","peer_host":"h","peer_port":[1]}])");
    CHECK_THROWS_AS(api.connections(), ManagementError);
  }

  TEST_CASE("connection refused is a ManagementError, promptly") {
    // Bound, never listening: connecting is refused.
    testing::LoopbackSocket closed(/*listening=*/false);
    ManagementApi api(options("http://127.0.0.1:" + std::to_string(closed.port())));
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(api.queues(), doctest::Contains("cannot connect"), ManagementError);
    CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(2)));
  }

  TEST_CASE("a broker that does not answer times out") {
    // Listens (the kernel accepts), never reads or answers.
    testing::LoopbackSocket silent(/*listening=*/true);
    ManagementOptions o = options("http://127.0.0.1:" + std::to_string(silent.port()));
    o.timeout = std::chrono::milliseconds(300);
    ManagementApi api(o);
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(api.queues(), ManagementError);
    CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(3)));
  }

}  // TEST_SUITE

}  // namespace authsvc
