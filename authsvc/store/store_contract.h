#pragma once
// The store's contract as tests (store_contract_test.cc), written once
// against the interfaces of store.h and run against every implementation.
//
// An implementation takes part with a tag type whose
//   static std::unique_ptr<StoreUnderTest> make();
// makes a fresh, empty store for one test: it declares the tag below, adds
// it to AUTHSVC_STORE_IMPLEMENTATIONS, and gives it a short name for the
// test names (TYPE_TO_STRING_AS at the top of store_contract_test.cc).
// Every contract test case then runs once per implementation, as a test of
// its own ("store contract: ...<sqlite>"). What only one implementation has
// (SQLite's files and their modes, its schema upgrades) is tested beside it
// (sqlite_store_test.cc), not here.

#include <memory>
#include <string>

#include "authsvc/store/store.h"

namespace authsvc::store_contract {

// One test's store: fresh and empty (no user, no event, no guardian state)
// when made, and gone, with all it holds, when destroyed.
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;

  // A new connection to this store, as another process opens it (the CLI
  // while serve runs), or the same program after a restart. Changes made
  // through it are audited as `actor`'s.
  virtual std::unique_ptr<Store> connect(const Actor& actor) = 0;

  // Where it is, as open_store() and `authsvc store copy` take it.
  virtual StoreLocation location() = 0;

  // Everything the store keeps, as bytes (its files, or a dump of its
  // tables), for the check that no token is kept in clear.
  virtual std::string stored_bytes() = 0;

  // Damages what is stored under the open connections, so that the
  // underlying library fails on their every later call (SQLite: its files
  // overwritten with junk; a server: its tables dropped or its sessions
  // ended). The store must still throw StoreError alone.
  virtual void damage() = 0;
};

// The implementations. sqlite_store_test.cc defines Sqlite::make(),
// pg_store_test.cc Postgres::make().
struct Sqlite {
  static std::unique_ptr<StoreUnderTest> make();
};
struct Postgres {
  static std::unique_ptr<StoreUnderTest> make();
};

#define AUTHSVC_STORE_IMPLEMENTATIONS \
  ::authsvc::store_contract::Sqlite, ::authsvc::store_contract::Postgres

}  // namespace authsvc::store_contract
