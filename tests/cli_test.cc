// The authsvc command line as an operator uses it: the real binary, its
// exit codes, stdout and stderr.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "authsvc/core/build_info.h"
#include "authsvc/core/embedded_file.h"
#include "authsvc/core/timestamp.h"
#include "authsvc/core/token.h"
#include "authsvc/core/words.h"
#include "authsvc/store/store.h"
#include "tests/login_answer.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::login_answer;
using testing::run_authsvc;
using testing::TempDir;

using testing::Cli;

bool is_one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

// What serve answers the broker's login of `user` with `password` (both
// already form-encoded).

}  // namespace

TEST_CASE("user add prints the token alone as the last line, and only then") {
  Cli cli;
  CommandResult r = cli(
      {"user", "add", "alice", "--email", "alice@example.org", "--tags", "monitoring management"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  std::string token = testing::lines_of(r.out).back();
  CHECK(token.size() == 43);

  CommandResult show = cli({"user", "show", "alice"});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("alice@example.org") != std::string::npos);
  CHECK(show.out.find("management monitoring") != std::string::npos);
  CommandResult list = cli({"user", "list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("alice") != std::string::npos);
  for (const CommandResult& out : {show, list}) {
    CHECK(out.out.find(token) == std::string::npos);
    CHECK(out.err.find(token) == std::string::npos);
  }
}

TEST_CASE("the CLI refuses bad names, duplicates and unknown users with one line and exit 1") {
  Cli cli;
  cli.add("alice");
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"user", "add", "alice", "--owner", "a@example.org"},
       "authsvc: user 'alice' already exists\n"},
      {{"user", "add", "bob"}, "authsvc: an account needs at least one owner (--owner ADDRESS)\n"},
      {{"user", "add", "bob", "--owner", "bob.example.org"},
       "authsvc: invalid owner address 'bob.example.org': no '@'\n"},
      {{"user", "add", "bob", "--owner", "bob@example.org\x01"},
       "authsvc: invalid owner address 'bob@example.org\\x01': printable ASCII only"},
      {{"user", "add", "bob", "--owner", "b@x", "--expires", "2020-01-01T00:00:00Z"},
       "authsvc: the expiry 2020-01-01T00:00:00.000000Z is not in the future\n"},
      {{"user", "rotate", "alice", "--grace", "8d"}, "authsvc: a grace is 0 to 7d; got 8d\n"},
      {{"user", "owner", "remove", "alice", "alice@example.org"},
       "authsvc: 'alice@example.org' is the last owner of 'alice': add another owner first, or "
       "delete the account\n"},
      {{"user", "owner", "remove", "alice", "nobody@example.org"},
       "authsvc: 'nobody@example.org' is not an owner of 'alice'\n"},
      {{"user", "owner", "add", "nobody", "a@example.org"}, "no such user 'nobody'"},
      {{"user", "add", "a/b"}, "invalid user name 'a/b'"},
      {{"user", "add", "-x"}, nullptr},  // looks like an option: usage error, below
      {{"user", "add", "9z"}, "invalid user name '9z'"},
      {{"user", "add", std::string(65, 'a')}, "at most 64 characters"},
      {{"user", "add", "bob", "--owner", "b@x", "--tags", "bad!tag"}, "invalid tag 'bad!tag'"},
      {{"user", "show", "nobody"}, "authsvc: no such user 'nobody'\n"},
      {{"user", "rotate", "nobody"}, "no such user 'nobody'"},
      {{"user", "disable", "nobody"}, "no such user 'nobody'"},
      {{"user", "enable", "nobody"}, "no such user 'nobody'"},
      {{"user", "delete", "nobody"}, "no such user 'nobody'"},
  };
  for (const Case& c : cases) {
    if (!c.message) continue;
    CAPTURE(c.args[2]);
    CommandResult r = cli(c.args);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(is_one_line(r.err));
    CHECK(r.err.find(c.message) != std::string::npos);
  }
}

TEST_CASE("--version names the version and the commit built from") {
  CommandResult r = run_authsvc({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  // The commit git gives for the source tree, whatever else the build adds.
  FILE* git = popen(
      ("git -C " + std::string(AUTHSVC_SOURCE_DIR) + " rev-parse --short=12 HEAD").c_str(), "r");
  REQUIRE(git);
  char head[64] = "";
  bool read = fgets(head, sizeof head, git) != nullptr;
  REQUIRE(pclose(git) == 0);
  REQUIRE(read);
  std::string commit = std::string(head).substr(0, 12);
  CHECK(r.out.starts_with("authsvc " + std::string(kBuildVersion) + " (commit " + commit));
  CHECK(r.out.ends_with(")\n"));
}

TEST_CASE("usage errors exit 2") {
  Cli cli;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"user"},
           {"user", "add"},
           {"user", "frobnicate", "x"},
           {"user", "add", "-x"},
           {"check", "--user", "alice"},
           {"check", "--user", "a", "--resource", "stream", "--name", "n", "--permission", "read"},
           {"user", "set", "alice"},
           {"serve", "--threads", "0"},
           {"user", "rotate", "alice", "--grace", "-5m"},
           {"user", "rotate", "alice", "--grace", "1h30m"},
           {"user", "rotate", "alice", "--grace", "7"},
           {"user", "rotate", "alice", "--grace", "2w"},
           {"user", "add", "bob", "--owner", "b@x", "--expires", "tomorrow"},
           {"user", "set", "alice", "--expires", "2027-02-30T00:00:00Z"},
           {"user", "set", "alice", "--expires", "2027-01-01 00:00:00"},
           {"user", "set", "alice", "--email", "a@example.org"},
           {"user", "list", "--owner", "a@example.org", "--no-owner"},
           {"user", "owner", "add", "alice"},
           {"user", "owner", "frob", "alice", "a@x"}}) {
    CAPTURE(join_words(args));
    CommandResult r = cli(args);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
  // Nothing above reached the store.
  CHECK(cli({"user", "list"}).out.find("bob") == std::string::npos);
  CHECK(run_authsvc({}).exit_code == 2);
  CHECK(run_authsvc({"--help"}).exit_code == 0);
}

TEST_CASE("rotate, disable, enable and delete, and check prints the decision and its rule") {
  Cli cli;
  std::string first = cli.add("alice");
  CommandResult rotate = cli({"user", "rotate", "alice"});
  CHECK(rotate.exit_code == 0);
  std::string second = testing::lines_of(rotate.out).back();
  CHECK(second.size() == 43);
  CHECK(second != first);

  CommandResult check = cli({"check", "--user", "alice", "--resource", "exchange", "--name",
                             "exchange/alice/builds", "--permission", "write"});
  CHECK(check.exit_code == 0);
  CHECK(testing::lines_of(check.out)[0] == "allow");
  CHECK(check.out.find("rule: own-exchange") != std::string::npos);
  check = cli({"check", "--user", "alice", "--resource", "queue", "--name", "exchange/alice/x",
               "--permission", "configure"});
  CHECK(testing::lines_of(check.out)[0] == "deny");
  CHECK(check.out.find("rule: queue-named-exchange") != std::string::npos);
  check = cli({"check", "--user", "alice", "--resource", "topic", "--name", "exchange/bob/x",
               "--permission", "write", "--routing-key", "a.b"});
  CHECK(testing::lines_of(check.out)[0] == "deny");

  CHECK(cli({"user", "disable", "alice"}).exit_code == 0);
  CHECK(cli({"user", "show", "alice"}).out.find("disabled") != std::string::npos);
  check = cli({"check", "--user", "alice", "--resource", "exchange", "--name",
               "exchange/alice/builds", "--permission", "write"});
  CHECK(check.out.find("rule: disabled-user") != std::string::npos);
  CHECK(cli({"user", "enable", "alice"}).exit_code == 0);
  CHECK(cli({"user", "set", "alice", "--vhosts", "/ staging", "--expires", "30d"}).exit_code == 0);
  CHECK(cli({"user", "show", "alice"}).out.find("/ staging") != std::string::npos);
  CHECK(cli({"user", "show", "alice"}).out.find("expires:       20") != std::string::npos);
  CHECK(cli({"user", "delete", "alice"}).exit_code == 0);
  CHECK(cli({"user", "show", "alice"}).exit_code == 1);
}

TEST_CASE("check refuses what the server answers 400 to, with the server's reason, exit 1") {
  Cli cli;
  cli.add("alice");
  struct Case {
    std::vector<std::string> args;
    std::string reason;
  };
  const std::string long_name = "exchange/alice/" + std::string(256 - 15, 'x');
  REQUIRE(long_name.size() == 256);
  for (const Case& c : std::vector<Case>{
           {{"--resource", "topic", "--name", "exchange/alice/x", "--permission", "configure",
             "--routing-key", "a.b"},
            "permission 'configure' is not valid on /auth/topic"},
           {{"--resource", "exchange", "--name", long_name, "--permission", "write"},
            "parameter 'name' is longer than 255 bytes"},
           {{"--resource", "queue", "--name", "queue/alice/q", "--permission", "read", "--vhost",
             std::string(256, 'v')},
            "parameter 'vhost' is longer than 255 bytes"},
       }) {
    std::vector<std::string> args{"check", "--user", "alice"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CAPTURE(c.reason);
    CommandResult r = cli(args);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(is_one_line(r.err));
    CHECK(r.err.find("(400, rule bad-request): " + c.reason + "\n") != std::string::npos);
  }
  // 255 bytes is a name the broker may send: decided as usual.
  CommandResult r = cli({"check", "--user", "alice", "--resource", "exchange", "--name",
                         long_name.substr(0, 255), "--permission", "write"});
  CHECK(r.exit_code == 0);
  CHECK(testing::lines_of(r.out)[0] == "allow");
  // Bytes that mean something in a form (&, =, +, %) reach the decision as given, so that
  // "al%69ce" is not alice and "&name=" is part of the name.
  r = cli({"check", "--user", "alice", "--resource", "topic", "--name", "exchange/alice/a+b&c=d%",
           "--permission", "write", "--routing-key", "k&=+%"});
  CHECK(r.exit_code == 0);
  CHECK(testing::lines_of(r.out)[0] == "allow");
  for (const char* name : {"exchange/al%69ce/x", "exchange/bob/x&name=exchange/alice/x"}) {
    CAPTURE(name);
    r = cli({"check", "--user", "alice", "--resource", "exchange", "--name", name, "--permission",
             "write"});
    CHECK(r.exit_code == 0);
    CHECK(testing::lines_of(r.out).at(0) == "deny");
  }
}

TEST_CASE("--db defaults to $AUTHSVC_DB") {
  TempDir dir;
  std::string db = dir.file("env.db");
  CommandResult r = run_authsvc({"init"}, {"AUTHSVC_DB=" + db});
  CHECK(r.out == "database " + db + " is ready (schema version " +
                     std::to_string(embedded_migrations_count) + ", 0 users)\n");
  r = run_authsvc({"user", "add", "alice", "--owner", "a@example.org"}, {"AUTHSVC_DB=" + db});
  CHECK(r.exit_code == 0);
  CHECK(run_authsvc({"user", "show", "alice", "--db", db}).exit_code == 0);
}

TEST_CASE("a rules file with an error stops serve at start with file, line and reason") {
  TempDir dir;
  std::string rules = dir.file("bad.rules");
  testing::write_file(
      rules, "# comment\nok allow queue read queue/{user}/.+\nbroken allow queue read (\n");
  CommandResult r =
      run_authsvc({"serve", "--db", dir.file("a.db"), "--listen", "127.0.0.1:0", "--rules", rules});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(rules + ":3: invalid pattern") != std::string::npos);
  CHECK(is_one_line(r.err));
  r = run_authsvc({"serve", "--db", dir.file("a.db"), "--rules", dir.file("missing.rules")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot read rules file") != std::string::npos);
}

TEST_CASE("user set takes per-user queue limits: numbers or 'default', warn below delete") {
  Cli cli;
  cli.add("alice");
  CHECK(cli({"user", "set", "alice", "--queue-warn", "100", "--queue-delete", "500"}).exit_code ==
        0);
  std::string shown = cli({"user", "show", "alice"}).out;
  CHECK(shown.find("queue warn:    100 messages\n") != std::string::npos);
  CHECK(shown.find("queue delete:  500 messages\n") != std::string::npos);
  // One given: the other stays.
  CHECK(cli({"user", "set", "alice", "--queue-warn", "default"}).exit_code == 0);
  shown = cli({"user", "show", "alice"}).out;
  CHECK(shown.find("queue warn:    the guardian's default\n") != std::string::npos);
  CHECK(shown.find("queue delete:  500 messages\n") != std::string::npos);
  CommandResult r = cli({"user", "set", "alice", "--queue-warn", "600"});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "authsvc: the warning threshold (600) must be below the deletion threshold (500)\n");
  for (const char* bad : {"abc", "0", "-5", "10x"}) {
    CAPTURE(bad);
    r = cli({"user", "set", "alice", "--queue-delete", bad});
    CHECK(r.exit_code == 2);
    CHECK(is_one_line(r.err.substr(0, r.err.find('\n') + 1)));
  }
}

TEST_CASE("guardian commands refuse incomplete options with one line, before touching anything") {
  Cli cli;
  std::string password = cli.dir.file("pw");
  testing::write_file(password, "secret\n");
  chmod(password.c_str(), 0600);
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"guardian", "--smtp-url", "smtp://127.0.0.1:1", "--mail-from", "g@example.org"},
            "authsvc: the management API needs --management-user and --management-password-file\n"},
           {{"guardian", "--management-user", "op", "--management-password-file", password},
            "authsvc: the guardian mails owners: give --smtp-url and --mail-from (or --dry-run)\n"},
           {{"guardian", "--management-user", "op", "--management-password-file", password,
             "--smtp-url", "smtp://127.0.0.1:1"},
            "authsvc: --smtp-url needs --mail-from\n"},
           {{"guardian", "--management-user", "op", "--management-password-file", password,
             "--dry-run", "--warn", "100", "--delete", "100"},
            "authsvc: --warn (100) must be below --delete (100)\n"},
           {{"serve", "--listen", "127.0.0.1:0", "--guardian", "--management-user", "op"},
            "authsvc: the management API needs --management-user and --management-password-file\n"},
       }) {
    CAPTURE(c.args);
    CommandResult r = cli(c.args);
    CHECK(r.exit_code == 1);
    CHECK(r.err == c.error);
  }
}

TEST_CASE(
    "serve --internal-user: denied at once, unthrottled, and a same-named account warned of") {
  Cli cli;
  std::string token = cli.add("alice");
  std::string audit_path = cli.dir.file("audit.log");
  testing::ServeProcess serve(
      {"--db", cli.db, "--audit-log", audit_path, "--login-failures", "2", "--internal-user",
       "authsvc-guardian", "--internal-user", "alice", "--internal-user", "ops@example.org"},
      cli.dir);
  CHECK(serve.stderr_text().find("authsvc: warning: --internal-user 'alice' is also an authsvc "
                                 "account: its requests are denied (rule internal-user) and its "
                                 "token is never checked\n") != std::string::npos);
  CHECK(serve.stderr_text().find("'authsvc-guardian' is also") == std::string::npos);
  httplib::Client http("127.0.0.1", serve.port());
  auto login = [&](const std::string& user, const std::string& password) {
    return login_answer(http, user, password);
  };
  for (int i = 0; i < 5; ++i) {
    CHECK(login("authsvc-guardian", "its-password") == "deny");
    CHECK(login("ops%40example.org", "its-password") == "deny");
  }
  CHECK(login("alice", token) == "deny");
  CHECK(serve.stop() == 0);
  std::vector<std::string> lines = testing::lines_of(testing::read_file(audit_path));
  int internal = 0;
  for (const std::string& line : lines) {
    CAPTURE(line);
    if (line.find("\"endpoint\":\"user\"") == std::string::npos) continue;
    CHECK(line.find("\"rule\":\"internal-user\"") != std::string::npos);
    CHECK(line.find("\"decision\":\"deny\"") != std::string::npos);
    ++internal;
  }
  CHECK(internal == 11);
}

TEST_CASE("serve --internal-user refuses a name the broker cannot send, with one line, exit 2") {
  Cli cli;
  for (const std::string& bad : {std::string(""), std::string(256, 'a'), std::string("ops\tx")}) {
    CommandResult r = cli({"serve", "--listen", "127.0.0.1:0", "--internal-user", bad});
    CAPTURE(r.err);
    CHECK(r.exit_code == 2);
    CHECK(is_one_line(r.err));
    CHECK(r.err.find("authsvc: --internal-user: '") == 0);
  }
}

TEST_CASE("--expiry-notice refuses what is not a list of durations, with one line, exit 2") {
  Cli cli;
  std::string password = cli.dir.file("pw");
  testing::write_file(password, "secret\n");
  chmod(password.c_str(), 0600);
  // A port nothing listens on: a value that passed would fail to reach the
  // broker (exit 1), not be refused as usage (exit 2).
  const std::vector<std::string> guardian = {"guardian",
                                             "--management-user",
                                             "op",
                                             "--management-password-file",
                                             password,
                                             "--management-url",
                                             "http://127.0.0.1:1",
                                             "--dry-run",
                                             "--once"};
  const std::vector<std::string> serve = {"serve",
                                          "--listen",
                                          "127.0.0.1:0",
                                          "--guardian",
                                          "--management-user",
                                          "op",
                                          "--management-password-file",
                                          password,
                                          "--dry-run"};
  for (const std::vector<std::string>& command : {guardian, serve}) {
    for (const char* bad : {"0", "7d,", "7d, 1d", "1w", "1h30m"}) {
      std::vector<std::string> args = command;
      args.insert(args.end(), {"--expiry-notice", bad});
      CAPTURE(args);
      CommandResult r = cli(args);
      CHECK(r.exit_code == 2);
      CHECK(is_one_line(r.err));
      CHECK(r.err.find("authsvc: --expiry-notice: '") == 0);
    }
  }
  std::vector<std::string> good = guardian;
  good.insert(good.end(), {"--expiry-notice", "30d,7d,1h"});
  CommandResult r = cli(good);
  CHECK(r.exit_code == 1);  // accepted; then the broker is not there
  CHECK(r.err.find("--expiry-notice") == std::string::npos);
}

TEST_CASE("a missing or corrupt database stops serve at start with one line naming it") {
  TempDir dir;
  std::string missing = dir.file("missing.db");
  CommandResult r = run_authsvc({"serve", "--db", missing, "--listen", "127.0.0.1:0"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "authsvc: database '" + missing +
                     "' does not exist (create it with: authsvc init --db " + missing + ")\n");
  CHECK_FALSE(std::filesystem::exists(missing));

  std::string corrupt = dir.file("corrupt.db");
  testing::write_file(corrupt, std::string(8192, 'x'));
  r = run_authsvc({"serve", "--db", corrupt, "--listen", "127.0.0.1:0"});
  CHECK(r.exit_code == 1);
  CHECK(is_one_line(r.err));
  CHECK(r.err.find("cannot open database '" + corrupt + "'") != std::string::npos);
}

TEST_CASE("backup and restore refuse a PostgreSQL store, naming what to use instead") {
  TempDir dir;
  for (const std::string command : {"backup", "restore"}) {
    CommandResult r =
        run_authsvc({command, dir.file("copy.db"), "--db", "postgresql://127.0.0.1:1/authsvc"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "authsvc: " + command +
                       " is for a SQLite store; back up a PostgreSQL one with PostgreSQL's tools "
                       "(pg_dump, a standby), or copy it to a SQLite file with: authsvc store "
                       "copy\n");
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("copy.db")));
}

TEST_CASE("store copy prints every table's rows, and refuses to overwrite users") {
  testing::Cli cli;
  cli.add("alice");
  std::string copy = cli.dir.file("copy.db");
  CommandResult r = run_authsvc({"store", "copy", "--from", cli.db, "--to", copy});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  std::vector<std::string> lines = testing::lines_of(r.out);
  REQUIRE(lines.size() > 2);
  CHECK(lines.front().starts_with("users "));
  CHECK(lines.front().ends_with(" 1 rows"));
  CHECK(lines.back().starts_with("copied '" + cli.db + "' to '" + copy + "' (schema version "));
  CHECK(lines.back().ends_with("); the row counts of every table agree"));
  r = run_authsvc({"user", "list", "--db", copy});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\nalice ") != std::string::npos);
  // A second copy would replace the first's users: refused, in one line.
  r = run_authsvc({"store", "copy", "--from", cli.db, "--to", copy});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "authsvc: '" + copy +
                     "' holds 1 users; give --force to replace everything it "
                     "holds with '" +
                     cli.db + "'\n");
}

TEST_CASE("--db-password-file is read for a PostgreSQL --db only, and must exist") {
  testing::Cli cli;
  std::string secret = cli.dir.file("db-password");
  testing::write_file(secret, "s3cret\n");
  CommandResult r = run_authsvc({"user", "list", "--db", cli.db, "--db-password-file", secret});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "authsvc: --db-password-file is for a PostgreSQL --db (postgresql://...)\n");
  r = run_authsvc({"user", "list", "--db", "postgresql://127.0.0.1:1/authsvc", "--db-password-file",
                   cli.dir.file("missing")});
  CHECK(r.exit_code == 1);
  CHECK(is_one_line(r.err));
  CHECK(r.err.find(cli.dir.file("missing")) != std::string::npos);
  CHECK(r.err.find("s3cret") == std::string::npos);
}

TEST_CASE("a second serve on a port in use stops at start with one line, and the first goes on") {
  Cli cli;
  std::string token = cli.add("alice");
  testing::ServeProcess first({"--db", cli.db}, cli.dir);
  std::string address = "127.0.0.1:" + std::to_string(first.port());
  // In the background: a second serve that wrongly listens too would never
  // exit by itself.
  testing::ChildProcess second({AUTHSVC_BINARY, "serve", "--db", cli.db, "--listen", address},
                               cli.dir, "second-serve");
  auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(10));
  std::string err;
  while (err.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    err = second.stderr_text();
  }
  bool refused = err == "authsvc: cannot listen on " + address + ": Address already in use\n";
  CHECK_MESSAGE(refused, err);
  // Refused, it exits by itself; listening, it is stopped.
  CHECK((refused ? second.wait() : second.stop()) == 1);
  httplib::Client http("127.0.0.1", first.port());
  auto answer = http.Post("/auth/user", "username=alice&password=" + token,
                          "application/x-www-form-urlencoded");
  REQUIRE(answer);
  CHECK(answer->body == "allow");
  CHECK(first.stop() == 0);
}

TEST_CASE("a CLI change reaches the running server within a second, and is audited there" *
          doctest::test_suite("threaded")) {
  Cli cli;
  std::string token = cli.add("alice");
  std::string audit_path = cli.dir.file("audit.log");
  // Polling until a change shows means many refused logins: no throttling here.
  testing::ServeProcess serve({"--db", cli.db, "--audit-log", audit_path, "--login-failures", "0"},
                              cli.dir);
  httplib::Client http("127.0.0.1", serve.port());
  auto login = [&](const std::string& t) { return login_answer(http, "alice", t); };
  // The answer once it is `expected`, or the last one after a second (scaled).
  auto eventually_as = [&](const std::string& user, const std::string& t,
                           const std::string& expected) {
    auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(1));
    std::string body = login_answer(http, user, t);
    while (body != expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      body = login_answer(http, user, t);
    }
    return body;
  };
  auto eventually = [&](const std::string& t, const std::string& expected) {
    return eventually_as("alice", t, expected);
  };
  CHECK(login(token) == "allow");
  REQUIRE(cli({"user", "disable", "alice"}).exit_code == 0);
  CHECK(eventually(token, "deny") == "deny");
  REQUIRE(cli({"user", "enable", "alice"}).exit_code == 0);
  CHECK(eventually(token, "allow") == "allow");
  CommandResult rotate = cli({"user", "rotate", "alice"});
  std::string rotated = testing::lines_of(rotate.out).back();
  CHECK(eventually(token, "deny") == "deny");
  CHECK(login(rotated) == "allow");
  std::string bob = cli.add("bob");
  CHECK(eventually_as("bob", bob, "allow") == "allow");
  REQUIRE(cli({"user", "delete", "bob"}).exit_code == 0);
  CHECK(eventually_as("bob", bob, "deny") == "deny");

  CHECK(serve.stop() == 0);
  std::string audit = testing::read_file(audit_path);
  for (const char* action :
       {"user add", "user disable", "user enable", "user rotate", "user delete"}) {
    std::string field = std::string("\"action\":\"") + action + "\"";
    CAPTURE(field);
    CHECK(audit.find(field) != std::string::npos);
  }
  for (const std::string& secret : {token, rotated, bob}) {
    CHECK(audit.find(secret) == std::string::npos);
    CHECK(serve.stderr_text().find(secret) == std::string::npos);
  }
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("user import creates all users in one go, or none of them") {
  Cli cli;
  cli.add("taken");
  std::string list = cli.dir.file("users.txt");
  testing::write_file(
      list,
      "# name owners\nann ann@example.org\n\nben ben@example.org,team@example.org\ncat c@x\n");
  CommandResult r = cli({"user", "import", "--file", list, "--vhosts", "/ v2"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = testing::lines_of(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("ann ", 0) == 0);
  CHECK(lines[1].rfind("ben ", 0) == 0);
  CHECK(lines[2].size() == std::string("cat ").size() + 43);
  CHECK(cli({"user", "show", "ben"}).out.find("/ v2") != std::string::npos);
  CHECK(cli({"user", "show", "ann"}).out.find("ann@example.org") != std::string::npos);
  CHECK(
      cli({"user", "show", "ben"}).out.find("owners:        ben@example.org, team@example.org\n") !=
      std::string::npos);

  testing::write_file(list, "dan d@x\ntaken t@x\neve e@x\n");
  r = cli({"user", "import", "--file", list});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("user 'taken' already exists") != std::string::npos);
  CHECK(r.out.empty());
  CHECK(cli({"user", "show", "dan"}).exit_code == 1);  // nothing was imported
  testing::write_file(list, "ok1 o@x\nno-owner\n");
  r = cli({"user", "import", "--file", list});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "authsvc: " + list + ":2: expected NAME OWNER [OWNER...]\n");
  CHECK(cli({"user", "show", "ok1"}).exit_code == 1);
  testing::write_file(list, "ok1 o@x\nbad/name o@x\n");
  r = cli({"user", "import", "--file", list});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("invalid user name 'bad/name'") != std::string::npos);
  CHECK(cli({"user", "show", "ok1"}).exit_code == 1);
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("kill -9 of the CLI in the middle of a write leaves the database consistent") {
  Cli cli;
  cli.add("before");
  std::string list = cli.dir.file("many.txt");
  {
    std::FILE* f = std::fopen(list.c_str(), "w");
    for (int i = 0; i < 200000; ++i) std::fprintf(f, "bulk%06d o@example.org\n", i);
    std::fclose(f);
  }
  // Kill the import at several moments of its transaction.
  for (int delay_ms : {50, 200, 400, 800}) {
    CAPTURE(delay_ms);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(AUTHSVC_BINARY, AUTHSVC_BINARY, "user", "import", "--file", list.c_str(), "--db",
            cli.db.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    // Killed, or done before the kill: anything else (a sanitizer's report,
    // a failed import) is a failure of its own.
    CHECK(((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
           (WIFEXITED(status) && WEXITSTATUS(status) == 0)));

    CommandResult list_users = cli({"user", "list"});
    REQUIRE(list_users.exit_code == 0);
    std::size_t bulk = 0;
    for (const std::string& line : testing::lines_of(list_users.out)) {
      bulk += line.rfind("bulk", 0) == 0;
    }
    // All or nothing: a transaction either committed or left no trace.
    CHECK((bulk == 0 || bulk == 200000));
    CHECK(list_users.out.find("before") != std::string::npos);
    if (bulk) break;  // it finished before the kill: nothing more to learn
  }
  SQLite::Database raw(cli.db);
  CHECK(raw.execAndGet("PRAGMA integrity_check").getString() == "ok");
  // And the database still takes writes.
  cli.add("after");
}

}  // namespace authsvc

namespace authsvc {

TEST_CASE("user set that fails leaves everything as it was, also what it was given first") {
  Cli cli;
  cli.add("alice", {"--email", "old@example.org", "--tags", "monitoring"});
  REQUIRE(cli({"user", "set", "alice", "--queue-warn", "100", "--queue-delete", "200"}).exit_code ==
          0);
  CommandResult before = cli({"user", "show", "alice"});
  REQUIRE(before.exit_code == 0);
  CHECK(before.out.find("owners:        old@example.org\n") != std::string::npos);
  CHECK(before.out.find("expires:       never\n") != std::string::npos);

  // One update: the expiry is valid, the thresholds (as they would be) are
  // not, so none of it is applied.
  CommandResult r = cli(
      {"user", "set", "alice", "--expires", "90d", "--queue-warn", "500", "--queue-delete", "100"});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "authsvc: the warning threshold (500) must be below the deletion threshold (100)\n");
  CHECK(r.out.empty());
  r = cli({"user", "set", "alice", "--expires", "90d", "--tags", "management bad/tag"});
  CHECK(r.exit_code == 1);
  CHECK(is_one_line(r.err));
  CHECK(r.err.find("invalid tag 'bad/tag'") != std::string::npos);

  CommandResult after = cli({"user", "show", "alice"});
  CHECK(after.out == before.out);
  CHECK(after.out.find("owners:        old@example.org\n") != std::string::npos);
  CHECK(after.out.find("expires:       never\n") != std::string::npos);
  CHECK(after.out.find("tags:          monitoring\n") != std::string::npos);
  CHECK(after.out.find("queue warn:    100 messages\n") != std::string::npos);
  CHECK(after.out.find("queue delete:  200 messages\n") != std::string::npos);
}

TEST_CASE("web-access revoke ends a person's web sessions and API keys, audited, nobody else's") {
  Cli cli;
  {
    std::unique_ptr<Store> store = open_store(cli.db, Actor{"web", "bob@example.org"});
    const std::string at = rfc3339_utc(std::chrono::system_clock::now());
    store->put_session(WebSession{hash_token("bob-session"), "bob@example.org", at, at});
    store->put_session(WebSession{hash_token("carol-session"), "carol@example.org", at, at});
    NewApiKey bobs = store->add_api_key("bob@example.org", "ci", "");
    NewApiKey carols = store->add_api_key("carol@example.org", "ci", "");
    testing::record_issued_tokens({bobs.key, carols.key});
  }
  CommandResult r = cli({"web-access", "revoke", "Bob@example.org"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Bob@example.org: 1 sessions ended, 1 API keys revoked\n");
  std::unique_ptr<Store> store = open_store(cli.db, Actor{"cli", "test"});
  CHECK_FALSE(store->find_session(hash_token("bob-session")));
  CHECK(store->find_session(hash_token("carol-session")));
  CHECK_FALSE(store->api_keys_of("bob@example.org").at(0).revoked_at.empty());
  CHECK(store->api_keys_of("carol@example.org").at(0).revoked_at.empty());
  std::vector<AuditEvent> events = store->unexported_audit_events(0);
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().action == "web revoke");
  CHECK(events.back().actor == "cli");
  CHECK(events.back().detail == "Bob@example.org: 1 sessions ended, 1 API keys revoked");

  CommandResult bad = cli({"web-access", "revoke", "not an address"});
  CHECK(bad.exit_code == 1);
  CHECK(is_one_line(bad.err));
  CHECK(bad.err.rfind("authsvc: invalid owner address", 0) == 0);
  CHECK(cli({"web-access", "revoke"}).exit_code == 2);
  CHECK(cli({"web-access"}).exit_code == 2);
}

}  // namespace authsvc
