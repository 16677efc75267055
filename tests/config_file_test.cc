// `--config FILE` (authsvc/cli/config_file.h) as an operator uses it: the
// real binary, a TOML file, the command line beside it.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::run_authsvc;
using testing::TempDir;

const std::string kExample = std::string(AUTHSVC_SOURCE_DIR) + "/authsvc.toml.example";

// A file of `text` in `dir`, and its path.
std::string config(const TempDir& dir, const std::string& text) {
  std::string path = dir.file("authsvc.toml");
  testing::write_file(path, text);
  return path;
}

// What the command's --help lists, long names without dashes, but --help.
std::set<std::string> options_of(const std::string& command) {
  CommandResult help = run_authsvc({command, "--help"});
  REQUIRE(help.exit_code == 0);
  std::set<std::string> names;
  static const std::regex option(R"(^\s+(?:-\w,)?--([a-z][a-z0-9-]*))");
  for (const std::string& line : testing::lines_of(help.out)) {
    std::smatch m;
    if (std::regex_search(line, m, option) && m[1] != "help") names.insert(m[1]);
  }
  return names;
}

// The keys of each table of the example, commented out or not.
std::map<std::string, std::set<std::string>> example_keys() {
  std::map<std::string, std::set<std::string>> keys;
  std::string table;
  static const std::regex header(R"(^\[([a-z]+)\]$)");
  static const std::regex key(R"(^#? ?([a-z][a-z0-9-]*) = )");
  for (const std::string& line : testing::lines_of(testing::read_file(kExample))) {
    std::smatch m;
    if (std::regex_search(line, m, header)) {
      table = m[1];
    } else if (std::regex_search(line, m, key)) {
      CAPTURE(line);
      CHECK_FALSE(table.empty());
      CHECK(keys[table].insert(m[1]).second);
    }
  }
  return keys;
}

void check_one_line_failure(const CommandResult& r, const std::string& expected) {
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "authsvc: " + expected + "\n");
}

}  // namespace

TEST_SUITE("config_file") {
  TEST_CASE("the example has a key for every option of serve, guardian and web, and no other") {
    std::map<std::string, std::set<std::string>> keys = example_keys();
    CHECK(keys.size() == 3);
    for (const std::string command : {"serve", "guardian", "web"}) {
      CAPTURE(command);
      std::set<std::string> options = options_of(command);
      // --help lists the command's own; the global --db and
      // --db-password-file have a key too.
      options.insert("db");
      options.insert("db-password-file");
      CHECK(options.size() > 10);
      CHECK(keys[command] == options);
    }
  }

  TEST_CASE("the example is accepted as it is and with every key uncommented") {
    TempDir dir;
    std::string text;
    for (const std::string& line : testing::lines_of(testing::read_file(kExample))) {
      text += std::regex_replace(line, std::regex(R"(^# ([a-z][a-z0-9-]* = ))"), "$1") + "\n";
    }
    CHECK(text.find("\naudit-log = ") != std::string::npos);
    std::string uncommented = config(dir, text);
    for (const std::string command : {"serve", "guardian", "web"}) {
      for (const std::string& file : {kExample, uncommented}) {
        CAPTURE(command);
        CAPTURE(file);
        CommandResult r = run_authsvc({command, "--config", file, "--help"});
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
      }
    }
  }

  TEST_CASE("serve uses the file's values, and the command line overrides them") {
    testing::Cli cli;
    std::string audit = cli.dir.file("audit.log");
    // ServeProcess gives --listen 127.0.0.1:0 on the command line: the
    // file's port 1 (which it could not bind) is overridden; metrics-listen
    // and audit-log are the file's alone.
    std::string path = config(cli.dir,
                              "[serve]\n"
                              "listen = \"127.0.0.1:1\"\n"
                              "metrics-listen = \"127.0.0.1:0\"\n"
                              "audit-log = \"" +
                                  audit +
                                  "\"\n"
                                  "threads = 2\n"
                                  "login-failures = 3\n");
    testing::ServeProcess serve({"--config", path, "--db", cli.db}, cli.dir);
    CHECK(serve.port() > 1);
    CHECK(serve.metrics_port() > 0);
    CHECK(std::filesystem::exists(audit));
  }

  TEST_CASE("flags take booleans, and a flag on the command line wins") {
    testing::Cli cli;
    std::string password = cli.dir.file("password");
    testing::write_file(password, "secret\n");
    chmod(password.c_str(), 0600);
    // Where the broker would be: nothing listens, so a look fails at once.
    testing::LoopbackSocket refusing(false);
    const std::string guardian =
        "[guardian]\nmanagement-user = \"guardian\"\n"
        "management-url = \"http://127.0.0.1:" +
        std::to_string(refusing.port()) + "\"\nmanagement-password-file = \"" + password + "\"\n";
    std::string path = config(cli.dir, guardian + "dry-run = false\n");
    // Not a dry run, and no mail server: refused before the broker is asked.
    check_one_line_failure(
        run_authsvc({"guardian", "--config", path, "--once", "--db", cli.db}),
        "the guardian mails owners: give --smtp-url and --mail-from (or --dry-run)");
    // --dry-run beats the file's false; the file's true counts alike (the
    // absent broker is what stops each).
    CommandResult r =
        run_authsvc({"guardian", "--config", path, "--once", "--dry-run", "--db", cli.db});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--smtp-url") == std::string::npos);
    path = config(cli.dir, guardian + "dry-run = true\n[serve]\nguardian = true\n");
    r = run_authsvc({"guardian", "--config", path, "--once", "--db", cli.db});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("--smtp-url") == std::string::npos);
    // serve's guardian flag from [serve], which holds no management options.
    check_one_line_failure(
        run_authsvc({"serve", "--config", path, "--db", cli.db}),
        "the management API needs --management-user and --management-password-file");
  }

  TEST_CASE("db in the file beats $AUTHSVC_DB, and --db beats the file") {
    testing::Cli cli;
    std::string bad_db = cli.dir.file("no-such-folder/authsvc.db");
    std::string path = config(cli.dir, "[serve]\ndb = \"" + bad_db + "\"\n");
    CommandResult r = run_authsvc({"serve", "--config", path, "--listen", "127.0.0.1:0"},
                                  {"AUTHSVC_DB=" + cli.db});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(bad_db) != std::string::npos);
    testing::ServeProcess serve({"--config", path, "--db", cli.db}, cli.dir);
    CHECK(serve.port() > 0);
    // A command without a table refuses --config rather than ignore it.
    check_one_line_failure(run_authsvc({"user", "list", "--config", path, "--db", cli.db}),
                           "--config is for serve, guardian and web");
  }

  TEST_CASE(
      "db-password-file in the file is the global --db-password-file, and a password is no key") {
    testing::Cli cli;
    std::string secret = cli.dir.file("db-password");
    testing::write_file(secret, "not-for-sqlite\n");
    std::string path = config(
        cli.dir, "[serve]\ndb = \"" + cli.db + "\"\ndb-password-file = \"" + secret + "\"\n");
    check_one_line_failure(run_authsvc({"serve", "--config", path, "--listen", "127.0.0.1:0"}),
                           "--db-password-file is for a PostgreSQL --db (postgresql://...)");
    path = config(cli.dir, "[guardian]\ndb-password = \"hunter2\"\n");
    CommandResult r = run_authsvc({"guardian", "--config", path});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "authsvc: " + path +
                       ":2: 'db-password' in [guardian] is not a key: secrets come from files; use "
                       "'db-password-file'\n");
  }

  TEST_CASE("repeated options take arrays, and the command line replaces the file's array") {
    TempDir dir;
    std::string path = config(dir,
                              "[web]\n"
                              "public-url = \"https://pulse.example.org\"\n"
                              "dev-login = true\n"
                              "admin = [\"a@example.org\", \"b@example.org\"]\n"
                              "require-claim = [\"groups=pulse\", \"nonsense\"]\n");
    // The second element reached --require-claim, whose check refuses it.
    CommandResult r = run_authsvc({"web", "--config", path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("'nonsense' is not NAME=VALUE") != std::string::npos);
    r = run_authsvc({"web", "--config", path, "--require-claim", "also-bad"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("'also-bad' is not NAME=VALUE") != std::string::npos);
    CHECK(r.err.find("nonsense") == std::string::npos);
  }

  TEST_CASE("serve's internal-user takes an array, and --internal-user replaces it") {
    testing::Cli cli;
    std::string alice = cli.add("alice");
    std::string path = config(cli.dir,
                              "[serve]\n"
                              "internal-user = [\"authsvc-guardian\", \"alice\"]\n"
                              "login-failures = 0\n");
    auto login = [&](testing::ServeProcess& serve, const std::string& user,
                     const std::string& password) {
      httplib::Client http("127.0.0.1", serve.port());
      auto r = http.Post("/auth/user", "username=" + user + "&password=" + password,
                         "application/x-www-form-urlencoded");
      REQUIRE(r);
      return r->body;
    };
    {
      testing::ServeProcess serve({"--config", path, "--db", cli.db}, cli.dir);
      CHECK(login(serve, "alice", alice) == "deny");
      CHECK(serve.stderr_text().find("--internal-user 'alice' is also an authsvc account") !=
            std::string::npos);
    }
    {
      // Its stderr in a folder of its own: the first one's names alice.
      TempDir second;
      testing::ServeProcess serve(
          {"--config", path, "--db", cli.db, "--internal-user", "authsvc-web"}, second);
      CHECK(login(serve, "alice", alice) == "allow");
      CHECK(serve.stderr_text().find("warning") == std::string::npos);
    }
    CommandResult r = run_authsvc(
        {"serve", "--config", config(cli.dir, "[serve]\ninternal-user = \"authsvc-guardian\"\n")});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(":2: 'internal-user' in [serve] wants an array of strings") !=
          std::string::npos);
    r = run_authsvc({"serve", "--config",
                     config(cli.dir, "[serve]\ninternal-user = [\"ok\", \"tab\\tname\"]\n"), "--db",
                     cli.db});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "authsvc: --internal-user: 'tab\\x09name': a user name cannot hold control "
          "characters\n");
  }

  TEST_CASE(
      "a file the command cannot use stops it with exit 1 and one line naming file and line") {
    TempDir dir;
    struct Case {
      const char* command;
      std::string text;
      std::string message;  // after "PATH:"
    };
    const Case cases[] = {
        {"serve", "[serve]\n\naudit_log = \"/var/log/authsvc/audit.log\"\n",
         "3: unknown key 'audit_log' in [serve]"},
        {"serve", "# a comment\n[server]\nlisten = \"127.0.0.1:8000\"\n",
         "2: unknown table [server] (tables: [serve], [guardian], [web])"},
        {"serve", "db = \"x.db\"\n",
         "1: 'db' is outside any table: keys go in [serve], [guardian] or [web]"},
        {"serve", "[serve]\nthreads = \"4\"\n",
         "2: 'threads' in [serve] wants a non-negative integer"},
        {"serve", "[serve]\nguardian = \"yes\"\n", "2: 'guardian' in [serve] wants true or false"},
        {"serve", "[serve]\nlisten = 8000\n", "2: 'listen' in [serve] wants a string"},
        {"serve", "[serve]\nlisten = [\"127.0.0.1:8000\"]\n",
         "2: 'listen' in [serve] wants a string"},
        {"serve", "[serve]\nready-store-age = 30\n",
         "2: 'ready-store-age' in [serve] wants a string"},
        {"serve", "[serve]\nhelp = true\n", "2: unknown key 'help' in [serve]"},
        {"web", "[web]\nadmin = \"a@example.org\"\n",
         "2: 'admin' in [web] wants an array of strings"},
        {"web", "[web]\nadmin = [\"a@example.org\",\n  3]\n",
         "3: 'admin' in [web] wants an array of strings"},
        {"web", "[web]\nthreads = -1\n", "2: 'threads' in [web] wants a non-negative integer"},
        // Every table is checked, not only the running command's.
        {"serve", "[serve]\n[web]\nlisten_port = 1\n", "3: unknown key 'listen_port' in [web]"},
        {"guardian", "[guardian]\nmanagement-password = \"hunter2\"\n",
         "2: 'management-password' in [guardian] is not a key: secrets come from files; use "
         "'management-password-file'"},
        {"guardian", "[guardian]\nsmtp-password = \"hunter2\"\n",
         "2: 'smtp-password' in [guardian] is not a key: secrets come from files; use "
         "'smtp-password-file'"},
        {"web", "[web]\noidc-client-secret = \"hunter2\"\n",
         "2: 'oidc-client-secret' in [web] is not a key: secrets come from files; use "
         "'oidc-client-secret-file'"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      std::string path = config(dir, c.text);
      CommandResult r = run_authsvc({c.command, "--config", path});
      check_one_line_failure(r, path + ":" + c.message);
      CHECK(r.err.find("hunter2") == std::string::npos);
    }
  }

  TEST_CASE("a TOML syntax error names the file and its line") {
    TempDir dir;
    std::string path = config(dir, "[serve]\nlisten = \"127.0.0.1:8000\"\naudit-log = \n");
    CommandResult r = run_authsvc({"serve", "--config", path});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("authsvc: " + path + ":3: "));
    CHECK(r.err.find('\n') == r.err.size() - 1);
    path = config(dir, "[serve]\nlisten = \"a\"\nlisten = \"b\"\n");
    r = run_authsvc({"serve", "--config", path});
    CHECK(r.exit_code == 1);
    CHECK(r.err.starts_with("authsvc: " + path + ":3: "));
  }

  TEST_CASE("a config file that does not exist stops the command with exit 1 and one line") {
    TempDir dir;
    std::string path = dir.file("missing.toml");
    CommandResult r = run_authsvc({"serve", "--config", path});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("authsvc: --config: " + path));
    CHECK(r.err.find('\n') == r.err.size() - 1);
  }

  TEST_CASE("an unreadable secret file named in the config stops the command with one line") {
    testing::Cli cli;
    std::string secret = cli.dir.file("no-such-password");
    std::string path = config(cli.dir,
                              "[guardian]\n"
                              "management-user = \"guardian\"\n"
                              "management-password-file = \"" +
                                  secret + "\"\ndry-run = true\n");
    CommandResult r = run_authsvc({"guardian", "--config", path, "--once", "--db", cli.db});
    check_one_line_failure(r,
                           "cannot open password file " + secret + ": No such file or directory");
  }
}

}  // namespace authsvc
