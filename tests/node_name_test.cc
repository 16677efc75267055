// Which process wrote an audit line: serve, guardian and web each put their
// node (--node-name, by default the host name and the port they listen on)
// first in every line they write, the real binary's, however the line came
// about. A name that is not one is a usage error.
#include "authsvc/core/node_name.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "authsvc/core/text.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::run_authsvc;

std::string host_name() {
  char host[HOST_NAME_MAX + 1] = "";
  REQUIRE(gethostname(host, sizeof host) == 0);
  return host;
}

// The lines of the audit log at `path`, each checked to start with the node
// `node`, parsed. None is a failure: a check on no line proves nothing.
std::vector<nlohmann::json> lines_of_node(const std::string& path, const std::string& node) {
  std::vector<nlohmann::json> parsed;
  for (const std::string& line : testing::lines_of(testing::read_file(path))) {
    CAPTURE(line);
    CHECK(line.rfind(R"({"node":")" + node + R"(",)", 0) == 0);
    parsed.push_back(nlohmann::json::parse(line));
  }
  CHECK_FALSE(parsed.empty());
  return parsed;
}

std::string login(int port, const std::string& user, const std::string& token) {
  httplib::Client http("127.0.0.1", port);
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + token,
                     "application/x-www-form-urlencoded");
  REQUIRE(r);
  return r->body;
}

// The broker's management API, as far as one look of the guardian needs
// it: no queue, exchange or connection, and `internal_user` in the broker's
// internal database (which the guardian reports, in an audit line, when
// authsvc has such an account too).
class FakeManagementApi {
 public:
  explicit FakeManagementApi(const std::string& internal_user) {
    server_.Get(".*", [internal_user](const httplib::Request& req, httplib::Response& res) {
      bool users = req.path == "/api/users";
      res.set_content(users ? R"([{"name":")" + internal_user + R"("}])" : "[]",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the thread listens would be lost, and the join hang.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeManagementApi() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

}  // namespace

TEST_CASE("serve's node is the host name and the port it got for port 0, or --node-name") {
  testing::Cli cli;
  // Made before serve starts: serve copies its event into the log at start.
  std::string token = cli.add("alice");
  std::string audit = cli.dir.file("audit.log");
  testing::ServeProcess serve({"--db", cli.db, "--audit-log", audit}, cli.dir);
  CHECK(login(serve.port(), "alice", token) == "allow");
  CHECK(serve.stop() == 0);
  std::vector<nlohmann::json> lines =
      lines_of_node(audit, host_name() + ":" + std::to_string(serve.port()));
  int events = 0;
  int decisions = 0;
  for (const nlohmann::json& line : lines) {
    if (line.contains("endpoint")) ++decisions;
    if (line.value("action", "") == "user add") {
      ++events;
      // The store's id of the event, the same in every node's file.
      CHECK(line["event"].is_number_integer());
      CHECK(line["event"].get<std::int64_t>() > 0);
    }
  }
  CHECK(events == 1);
  CHECK(decisions == 1);

  // A folder of its own for its output: the first serve's start-up line
  // must not be taken for this one's.
  testing::TempDir second;
  std::string named = second.file("named.log");
  testing::ServeProcess again({"--db", cli.db, "--audit-log", named, "--node-name", "pulse-1"},
                              second);
  CHECK(login(again.port(), "alice", token) == "allow");
  CHECK(again.stop() == 0);
  lines_of_node(named, "pulse-1");
}

TEST_CASE("the guardian's node is the host name and its metrics port, or the host name alone") {
  testing::Cli cli;
  cli.add("alice");
  FakeManagementApi broker("alice");
  std::string password = cli.dir.file("password");
  testing::write_file(password, "secret\n");
  chmod(password.c_str(), 0600);
  auto guardian = [&](const std::string& audit, std::vector<std::string> more) {
    std::vector<std::string> args = {AUTHSVC_BINARY,
                                     "guardian",
                                     "--db",
                                     cli.db,
                                     "--management-url",
                                     broker.url(),
                                     "--management-user",
                                     "op",
                                     "--management-password-file",
                                     password,
                                     "--smtp-url",
                                     "smtp://127.0.0.1:1",
                                     "--mail-from",
                                     "guardian@example.org",
                                     "--audit-log",
                                     audit};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto reported = [](const std::vector<nlohmann::json>& lines) {
    return std::count_if(lines.begin(), lines.end(), [](const nlohmann::json& line) {
      return line["actor"] == "guardian" && line["action"] == "internal user";
    });
  };

  // Listening on no port of its own, and not for metrics: the host alone.
  std::string alone = cli.dir.file("alone.log");
  testing::ChildProcess once(guardian(alone, {"--once"}), cli.dir, "guardian-once");
  CHECK(once.wait() == 0);
  CHECK(reported(lines_of_node(alone, host_name())) == 1);

  std::string with_metrics = cli.dir.file("metrics.log");
  testing::ChildProcess running(guardian(with_metrics, {"--metrics-listen", "127.0.0.1:0"}),
                                cli.dir, "guardian-metrics");
  int port =
      std::stoi(running.await_on_stderr("metrics on http://127.0.0.1:", std::chrono::seconds(5)));
  CHECK(testing::eventually([&] { return !testing::read_file(with_metrics).empty(); }));
  CHECK(running.stop() == 0);
  CHECK(reported(lines_of_node(with_metrics, host_name() + ":" + std::to_string(port))) == 1);

  std::string named = cli.dir.file("named.log");
  testing::ChildProcess given(guardian(named, {"--once", "--node-name", "guardian-1"}), cli.dir,
                              "guardian-named");
  CHECK(given.wait() == 0);
  CHECK(reported(lines_of_node(named, "guardian-1")) == 1);
}

TEST_CASE("the web's node is the host name and the port it got for port 0") {
  testing::Cli cli;
  std::string audit = cli.dir.file("web.log");
  testing::ChildProcess web(
      {AUTHSVC_BINARY, "web", "--db", cli.db, "--listen", "127.0.0.1:0", "--public-url",
       "http://127.0.0.1:8080", "--dev-login", "--audit-log", audit},
      cli.dir, "web");
  int port = std::stoi(web.await_on_stderr("listening on 127.0.0.1:", std::chrono::seconds(5)));
  httplib::Client http("127.0.0.1", port);
  REQUIRE(http.Get("/"));
  CHECK(web.stop() == 0);
  for (const nlohmann::json& line :
       lines_of_node(audit, host_name() + ":" + std::to_string(port))) {
    CHECK(line["actor"] == "web");
  }
}

TEST_CASE("a --node-name that is no node name is a usage error: exit 2, one line") {
  testing::Cli cli;
  const std::vector<std::vector<std::string>> commands = {
      {"serve", "--db", cli.db},
      {"guardian", "--db", cli.db},
      {"web", "--db", cli.db, "--public-url", "http://127.0.0.1:8080", "--dev-login"}};
  for (const std::string& bad :
       {std::string(""), std::string("pulse 1"), std::string("pulse\"1"), std::string("a\\b"),
        std::string(65, 'n'), std::string("p\xc3\xa9"), std::string("tab\there")}) {
    for (std::vector<std::string> args : commands) {
      args.insert(args.end(), {"--node-name", bad});
      CAPTURE(args[0]);
      CAPTURE(bad);
      CommandResult r = run_authsvc(args);
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(r.err ==
            "authsvc: --node-name: '" + printable(bad) + "': " + node_name_problem(bad) + "\n");
    }
  }
  // The same from the configuration file.
  std::string config = cli.dir.file("authsvc.toml");
  testing::write_file(config, "[serve]\nnode-name = \"pulse 1\"\n");
  CommandResult r = run_authsvc({"serve", "--config", config, "--db", cli.db});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "authsvc: --node-name: 'pulse 1': " + node_name_problem("pulse 1") + "\n");
}

TEST_CASE("a host name too long for a default node name stops serve: give --node-name") {
  // In a UTS namespace of its own, with a host name of 64 characters, the
  // longest Linux has: with ":PORT" no node name. Where namespaces cannot be
  // made, nothing here can be checked.
  if (std::system("unshare --uts true 2>/dev/null") != 0) {
    MESSAGE("unshare --uts is refused here: not checked");
    return;
  }
  testing::Cli cli;
  const std::string host(64, 'h');
  auto serve = [&](const std::string& more) {
    return std::vector<std::string>{"/usr/bin/unshare", "--uts", "/bin/sh", "-c",
                                    "hostname " + host + " && exec " + AUTHSVC_BINARY +
                                        " serve --listen 127.0.0.1:0 --db " + cli.db + more};
  };
  testing::ChildProcess refused(serve(""), cli.dir, "serve-long-host");
  CHECK(refused.wait() == 1);
  std::string err = refused.stderr_text();
  CHECK(err.rfind("authsvc: the default node name '" + host + ":", 0) == 0);
  CHECK(err.find("; give --node-name\n") != std::string::npos);
  CHECK(err.find('\n') == err.size() - 1);

  testing::ChildProcess named(serve(" --node-name pulse-1"), cli.dir, "serve-named");
  CHECK(named.await_on_stderr("listening on 127.0.0.1:", std::chrono::seconds(5)) != "");
  CHECK(named.stop() == 0);
}

}  // namespace authsvc
