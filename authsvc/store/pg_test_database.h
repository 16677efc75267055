#pragma once
// The store's tests against PostgreSQL: a database of its own for each test
// case, on the server that the CTest fixture `postgres` starts
// (tests/e2e/postgres.py) and describes in the JSON file named by
// $AUTHSVC_TEST_POSTGRES: {"host", "port", "user", "password_file",
// "pgpass_file", "socket_dir", "pid", "data_dir"}. Linked into the store's
// tests only.
//
// Without $AUTHSVC_TEST_POSTGRES, or with a server that does not answer,
// every test that asks for a database fails, saying so: a PostgreSQL test
// is never skipped.

#include <memory>
#include <string>

#include "authsvc/store/pg_database.h"
#include "authsvc/store/store.h"

namespace authsvc::testing {

// The server of $AUTHSVC_TEST_POSTGRES. Throws std::runtime_error if the
// variable is not set or its file cannot be read.
struct PgTestServer {
  std::string host;
  int port = 0;
  std::string user;
  std::string password_file;
  std::string socket_dir;

  // A location for PgDatabase of its database `dbname`, over TCP (no
  // password in it), and the password from password_file.
  std::string location(const std::string& dbname) const;
  std::string password() const;
};
const PgTestServer& pg_test_server();

// A database of its own, created empty (UTF-8, C collation, from
// template0) under a name no other test uses, and dropped, with FORCE (any
// connection still open to it is ended), when this goes out of scope.
class PgTestDatabase {
 public:
  PgTestDatabase();
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // Its location (a keyword=value string, no password) and the password:
  // what PgDatabase's constructor takes.
  std::string location() const;
  std::string password() const;
  // A new connection to it.
  std::unique_ptr<PgDatabase> connect() const;
  // Where a store is, as an operator writes it: a URI, the password beside
  // it (read from a file, for the real thing).
  StoreLocation store_location() const;

 private:
  std::string name_;
};

// A connection to the server's maintenance database, postgres: for what a
// test does from outside its database (pg_terminate_backend, pg_locks).
std::unique_ptr<PgDatabase> connect_pg_maintenance();

}  // namespace authsvc::testing
