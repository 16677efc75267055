// The commands on a PostgreSQL --db, as an operator runs them: the binary,
// a URI, the password in a file (the server of the CTest fixture
// `postgres`, a database of its own per test).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "authsvc/store/pg_test_database.h"
#include "tests/login_answer.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::login_answer;
using testing::run_authsvc;

struct PgCli {
  testing::TempDir dir;
  testing::PgTestDatabase database;
  std::string uri;
  std::string password_file = dir.file("db-password");

  PgCli() {
    const testing::PgTestServer& server = testing::pg_test_server();
    uri = fmt::format("postgresql://{}@{}:{}/{}", server.user, server.host, server.port,
                      database.name());
    testing::write_file(password_file, server.password() + "\n");
    std::filesystem::permissions(password_file, std::filesystem::perms::owner_read);
  }

  CommandResult operator()(std::vector<std::string> args) const {
    args.insert(args.end(), {"--db", uri, "--db-password-file", password_file});
    return run_authsvc(args);
  }
};

}  // namespace

TEST_CASE("on a PostgreSQL --db, init, the user commands and serve work, and changes reach serve" *
          doctest::test_suite("threaded")) {
  PgCli cli;
  // Not yet given authsvc's schema: refused, as a missing file is.
  CommandResult r = cli({"user", "list"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("has no authsvc data (create it with: authsvc init") != std::string::npos);
  r = cli({"init"});
  REQUIRE(r.exit_code == 0);
  r = cli({"user", "add", "alice", "--owner", "alice@example.org"});
  REQUIRE(r.exit_code == 0);
  std::string token = testing::lines_of(r.out).back();
  testing::record_issued_token(token);
  r = cli({"user", "list"});
  CHECK(r.out.find("alice") != std::string::npos);

  std::string audit_path = cli.dir.file("audit.log");
  testing::ServeProcess serve({"--db", cli.uri, "--db-password-file", cli.password_file,
                               "--audit-log", audit_path, "--login-failures", "0"},
                              cli.dir);
  httplib::Client http("127.0.0.1", serve.port());
  CHECK(login_answer(http, "alice", token) == "allow");
  auto eventually = [&](const std::string& expected) {
    auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(2));
    std::string body = login_answer(http, "alice", token);
    while (body != expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      body = login_answer(http, "alice", token);
    }
    return body;
  };
  REQUIRE(cli({"user", "disable", "alice"}).exit_code == 0);
  CHECK(eventually("deny") == "deny");
  REQUIRE(cli({"user", "enable", "alice"}).exit_code == 0);
  CHECK(eventually("allow") == "allow");
  CHECK(serve.stop() == 0);
  // The CLI's events reached serve's audit log.
  std::string audit = testing::read_file(audit_path);
  CHECK(audit.find("\"action\":\"user disable\"") != std::string::npos);
  CHECK(audit.find("\"action\":\"user enable\"") != std::string::npos);
}

TEST_CASE("on a PostgreSQL --db, a wrong password and an unreachable server fail in one line") {
  PgCli cli;
  REQUIRE(cli({"init"}).exit_code == 0);
  std::string wrong = cli.dir.file("wrong-password");
  testing::write_file(wrong, "not-the-password\n");
  std::filesystem::permissions(wrong, std::filesystem::perms::owner_read);
  CommandResult r = run_authsvc({"user", "list", "--db", cli.uri, "--db-password-file", wrong});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("password authentication failed") != std::string::npos);
  CHECK(r.err.find("not-the-password") == std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  // Nothing listens on the port of a socket bound and not listening.
  testing::LoopbackSocket closed(false);
  std::string nowhere = fmt::format("postgresql://authsvc@127.0.0.1:{}/authsvc", closed.port());
  auto started = std::chrono::steady_clock::now();
  r = run_authsvc({"user", "add", "bob", "--owner", "bob@example.org", "--db", nowhere,
                   "--db-password-file", cli.password_file});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("cannot open database 'postgresql://authsvc@127.0.0.1:") != std::string::npos);
}

}  // namespace authsvc
