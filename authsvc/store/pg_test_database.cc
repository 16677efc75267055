#include "authsvc/store/pg_test_database.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

namespace authsvc::testing {
namespace {

std::string read_whole(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {} {}", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

PgTestServer load_server() {
  const char* info = std::getenv("AUTHSVC_TEST_POSTGRES");
  if (info == nullptr || *info == '\0') {
    throw std::runtime_error(
        "AUTHSVC_TEST_POSTGRES is not set: the PostgreSQL tests need the server of the CTest "
        "fixture `postgres` (tests/e2e/postgres.py), whose info file that variable names; run "
        "them through ctest, or start a server and name its info file yourself");
  }
  try {
    nlohmann::json j = nlohmann::json::parse(read_whole(info, "the PostgreSQL info file"));
    PgTestServer server;
    server.host = j.at("host").get<std::string>();
    server.port = j.at("port").get<int>();
    server.user = j.at("user").get<std::string>();
    server.password_file = j.at("password_file").get<std::string>();
    server.socket_dir = j.value("socket_dir", "");
    return server;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(
        fmt::format("AUTHSVC_TEST_POSTGRES={}: not the fixture's info file: {}", info, e.what()));
  }
}

// A keyword=value pair, quoted as libpq reads it.
std::string option(const std::string& keyword, const std::string& value) {
  std::string out = keyword + "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// Unique in this process, and, with the pid and a random part, among the
// test processes that share the server (and the leftovers of crashed ones).
std::string fresh_name() {
  static std::atomic<int> count{0};
  static const unsigned random = std::random_device{}();
  return fmt::format("authsvc_test_{}_{:08x}_{}", static_cast<long>(getpid()), random, ++count);
}

}  // namespace

const PgTestServer& pg_test_server() {
  static const PgTestServer server = load_server();
  return server;
}

std::string PgTestServer::location(const std::string& dbname) const {
  return fmt::format("{} {} {} {}", option("host", host), option("port", std::to_string(port)),
                     option("user", user), option("dbname", dbname));
}

std::string PgTestServer::password() const {
  std::string text = read_whole(password_file, "the PostgreSQL password file");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::unique_ptr<PgDatabase> connect_pg_maintenance() {
  const PgTestServer& server = pg_test_server();
  try {
    return std::make_unique<PgDatabase>(server.location("postgres"), server.password());
  } catch (const SqlError& e) {
    throw std::runtime_error(
        fmt::format("the PostgreSQL server of AUTHSVC_TEST_POSTGRES ({}:{}) "
                    "does not answer: {}",
                    server.host, server.port, e.what()));
  }
}

PgTestDatabase::PgTestDatabase() : name_(fresh_name()) {
  // UTF-8 whatever the server's default, and the C collation, so that text
  // sorts by bytes as in SQLite (schema/postgresql/README.md).
  connect_pg_maintenance()->exec_script(
      fmt::format("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' "
                  "LC_CTYPE 'C'",
                  name_));
}

PgTestDatabase::~PgTestDatabase() {
  try {
    connect_pg_maintenance()->exec_script(fmt::format("DROP DATABASE {} WITH (FORCE)", name_));
  } catch (const std::exception&) {
    // A leftover in a throwaway server; the test's own failure says more.
  }
}

std::string PgTestDatabase::location() const { return pg_test_server().location(name_); }

std::string PgTestDatabase::password() const { return pg_test_server().password(); }

std::unique_ptr<PgDatabase> PgTestDatabase::connect() const {
  return std::make_unique<PgDatabase>(location(), password());
}

StoreLocation PgTestDatabase::store_location() const {
  const PgTestServer& server = pg_test_server();
  StoreLocation where(
      fmt::format("postgresql://{}@{}:{}/{}", server.user, server.host, server.port, name_));
  where.password = server.password();
  return where;
}

}  // namespace authsvc::testing
