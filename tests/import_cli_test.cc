// `authsvc import definitions|owners` as an operator runs them: the real
// binary against a fresh database, its exit codes and output, and a real
// serve that then logs the imported users in with their RabbitMQ passwords.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "authsvc/core/form.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::Cli;
using testing::CommandResult;

const std::vector<testing::RabbitPasswordVector>& vectors() {
  return testing::rabbit_password_vectors();
}

nlohmann::json pulseguardian_permission(const std::string& user) {
  return {{"user", user},
          {"vhost", "/"},
          {"configure", "^(queue/" + user + "/.*|exchange/" + user + "/.*)"},
          {"write", "^(queue/" + user + "/.*|exchange/" + user + "/.*)"},
          {"read", "^(queue/" + user + "/.*|exchange/.*)"}};
}

// A 3.10 export: for each algorithm a user (sha256, sha512, md5) whose
// password is that algorithm's UTF-8 vector, and the broker's guest.
struct Export {
  nlohmann::json doc;
  std::map<std::string, std::string> passwords;  // user -> password
};

Export make_export() {
  Export e;
  e.doc = {{"rabbit_version", "3.10.8"},
           {"users", nlohmann::json::array()},
           {"vhosts", {{{"name", "/"}}}},
           {"permissions", nlohmann::json::array()}};
  for (const testing::RabbitPasswordVector& v : vectors()) {
    if (v.password.find('\xe2') == std::string::npos) continue;         // the UTF-8 one
    std::string user = v.algorithm.substr(v.algorithm.rfind('_') + 1);  // sha256...
    e.passwords[user] = v.password;
    e.doc["users"].push_back({{"name", user},
                              {"password_hash", v.password_hash},
                              {"hashing_algorithm", v.algorithm},
                              {"tags", user == "md5" ? nlohmann::json("monitoring, management")
                                                     : nlohmann::json::array()},
                              {"limits", nlohmann::json::object()}});
    e.doc["permissions"].push_back(pulseguardian_permission(user));
  }
  REQUIRE(e.passwords.size() == 3);
  e.doc["users"].push_back({{"name", "guest"},
                            {"password_hash", vectors()[1].password_hash},
                            {"hashing_algorithm", "rabbit_password_hashing_sha256"},
                            {"tags", {"administrator"}}});
  e.doc["permissions"].push_back(
      {{"user", "guest"}, {"vhost", "/"}, {"configure", ".*"}, {"write", ".*"}, {"read", ".*"}});
  return e;
}

bool is_one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

// The CLI's answer to a bad input: exit 1, one line on stderr holding
// `message`, nothing on stdout.
void check_refused(const CommandResult& r, const std::string& message) {
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(is_one_line(r.err));
  CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
}

}  // namespace

TEST_CASE(
    "import definitions: the dry run reports and changes nothing, and the import keeps passwords") {
  Cli cli;
  Export e = make_export();
  std::string file = cli.dir.file("definitions.json");
  testing::write_file(file, e.doc.dump(2));

  CommandResult dry = cli({"import", "definitions", file, "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK(dry.err.empty());
  CHECK(dry.out.find("To import: 3 users; skipped: 1 user.") != std::string::npos);
  CHECK(dry.out.find("  skip guest: tagged administrator") != std::string::npos);
  CHECK(dry.out.find("  import md5: vhosts '/'; tags management monitoring; "
                     "rabbit_password_hashing_md5") != std::string::npos);
  CHECK(dry.out.find("15 differences each, 3 users in a vhost: md5 in '/', sha256 in '/', "
                     "sha512 in '/'") != std::string::npos);
  CHECK(dry.out.find("  differs: sha512 in vhost '/': queue configure 'exchange/sha512/x': "
                     "broker allows, authsvc denies") != std::string::npos);
  CHECK(dry.out.find("Dry run: nothing was changed.") != std::string::npos);
  for (const auto& [user, password] : e.passwords) {
    CHECK(dry.out.find(password) == std::string::npos);
    CHECK(cli({"user", "show", user}).exit_code == 1);
  }

  CommandResult real = cli({"import", "definitions", file});
  CHECK(real.exit_code == 0);
  CHECK(real.out.find("Imported 3 users.") != std::string::npos);
  CHECK(real.out.find("Dry run") == std::string::npos);
  CHECK(cli({"user", "show", "sha256"}).exit_code == 0);
  CHECK(cli({"user", "show", "guest"}).exit_code == 1);

  // Each logs in to a real serve with its RabbitMQ password, and nothing else.
  testing::ServeProcess serve({"--db", cli.db, "--login-failures", "0"}, cli.dir);
  httplib::Client http("127.0.0.1", serve.port());
  auto login = [&http](const std::string& user, const std::string& password) {
    auto r = http.Post("/auth/user", "username=" + user + "&password=" + form_encoded(password),
                       "application/x-www-form-urlencoded");
    REQUIRE(r);
    return r->body;
  };
  for (const auto& [user, password] : e.passwords) {
    CAPTURE(user);
    CHECK(login(user, password) == (user == "md5" ? "allow management monitoring" : "allow"));
    CHECK(login(user, password + "x") == "deny");
    CHECK(login(user, password.substr(1)) == "deny");
  }
  CHECK(login("sha256", "guest") == "deny");
  CHECK(login("guest", "guest") == "deny");  // stays in the broker
  CHECK(serve.stop() == 0);

  // Again: every user is there already, and left alone.
  CommandResult again = cli({"import", "definitions", file});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("To import: 0 users; skipped: 4 users.") != std::string::npos);
  CHECK(again.out.find("  skip sha512: already in authsvc: left as it is") != std::string::npos);
}

TEST_CASE("import definitions refuses a bad file with one line, exit 1, and imports nothing") {
  Cli cli;
  Export e = make_export();
  auto file_with = [&cli](const std::string& name, const std::string& text) {
    std::string path = cli.dir.file(name);
    testing::write_file(path, text);
    return path;
  };
  check_refused(cli({"import", "definitions", file_with("not.json", "users:\n- alice\n")}),
                "not.json: not JSON: ");
  check_refused(cli({"import", "definitions", file_with("array.json", "[]")}),
                "array.json: the document: expected an object");
  nlohmann::json shape = e.doc;
  shape["users"][1]["tags"] = 7;
  check_refused(
      cli({"import", "definitions", file_with("shape.json", shape.dump())}),
      "shape.json: users[1].tags: expected a list of strings or a comma-separated string");
  nlohmann::json damaged = e.doc;
  damaged["users"][2]["password_hash"] = "bm90IGEgaGFzaA==";  // base64, the wrong length
  check_refused(cli({"import", "definitions", file_with("damaged.json", damaged.dump())}),
                "nothing was imported");
  damaged["users"][2]["password_hash"] = "*** not base64 ***";
  check_refused(cli({"import", "definitions", file_with("damaged2.json", damaged.dump())}),
                "user '" + damaged["users"][2]["name"].get<std::string>() + "'");
  check_refused(cli({"import", "definitions", cli.dir.file("missing.json")}), "cannot read");
  for (const auto& [user, password] : e.passwords)
    CHECK(cli({"user", "show", user}).exit_code == 1);

  // A sparse 1 GB file: refused by its size, at once.
  std::string huge = cli.dir.file("huge.json");
  int fd = ::open(huge.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, off_t{1} << 30) == 0);
  ::close(fd);
  auto started = std::chrono::steady_clock::now();
  check_refused(cli({"import", "definitions", huge}), "1073741824 bytes");
  CHECK(std::chrono::steady_clock::now() - started < testing::scaled(std::chrono::seconds(5)));
  ::unlink(huge.c_str());
}

TEST_CASE("import usage errors exit 2") {
  Cli cli;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"import"},
           {"import", "definitions"},
           {"import", "owners"},
           {"import", "frobnicate", "x"},
           {"import", "definitions", "a.json", "--dry-run=maybe"}}) {
    CAPTURE(args.size());
    CommandResult r = cli(args);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
}

TEST_CASE("import owners: a header, a BOM, owners added and never replaced, bad lines by number") {
  Cli cli;
  Export e = make_export();
  std::string defs = cli.dir.file("definitions.json");
  testing::write_file(defs, e.doc.dump());
  REQUIRE(cli({"import", "definitions", defs}).exit_code == 0);
  auto owners_file = [&cli](const std::string& name, const std::string& text) {
    std::string path = cli.dir.file(name);
    testing::write_file(path, text);
    return path;
  };

  std::string good = owners_file("owners.csv",
                                 "\xEF\xBB\xBF"
                                 "account,email\r\nsha256,alice@example.org\r\n"
                                 "sha256,ops@example.org\r\nmd5,bob@example.org\r\n");
  CommandResult r = cli({"import", "owners", good});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("3 owner lines for 2 accounts imported") != std::string::npos);
  std::string shown = cli({"user", "show", "sha256"}).out;
  CHECK(shown.find("alice@example.org") != std::string::npos);
  CHECK(shown.find("ops@example.org") != std::string::npos);
  // Added to what the account has: alice stays.
  REQUIRE(
      cli({"import", "owners", owners_file("more.csv", "sha256,carol@example.org\n")}).exit_code ==
      0);
  shown = cli({"user", "show", "sha256"}).out;
  CHECK(shown.find("alice@example.org") != std::string::npos);
  CHECK(shown.find("carol@example.org") != std::string::npos);

  // One bad line: one line on stderr, naming the file and the line; nothing added.
  check_refused(cli({"import", "owners",
                     owners_file("unknown.csv", "sha512,dave@example.org\nzed,z@example.org\n")}),
                "unknown.csv:2: no such account 'zed' in authsvc; nothing was imported");
  check_refused(cli({"import", "owners", owners_file("column.csv", "account,email\nsha512\n")}),
                "column.csv:2: expected 2 columns, account,email; found 1");
  check_refused(cli({"import", "owners", owners_file("at.csv", "sha512,dave.example.org\n")}),
                "at.csv:1: invalid owner address 'dave.example.org'");
  check_refused(cli({"import", "owners", owners_file("ctl.csv", "sha512,da\x07ve@example.org\n")}),
                "ctl.csv:1: invalid owner address");
  CHECK(cli({"user", "show", "sha512"}).out.find("dave@example.org") == std::string::npos);

  // Several: each on its line, then what happened.
  r = cli({"import", "owners",
           owners_file("many.csv", "sha512,dave@example.org\nzed,z@example.org\nmd5\n")});
  CHECK(r.exit_code == 1);
  std::vector<std::string> lines = testing::lines_of(r.err);
  REQUIRE(lines.size() == 3);
  std::string many = cli.dir.file("many.csv");
  CHECK(lines[0] == many + ":2: no such account 'zed' in authsvc");
  CHECK(lines[1] == many + ":3: expected 2 columns, account,email; found 1");
  CHECK(lines[2].find("many.csv: 2 lines with problems; nothing was imported") !=
        std::string::npos);
  CHECK(cli({"user", "show", "sha512"}).out.find("dave@example.org") == std::string::npos);
}

}  // namespace authsvc
