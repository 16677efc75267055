#include "authsvc/web/self_service.h"

#include <doctest/doctest.h>

#include <functional>

#include "authsvc/store/store.h"
#include "authsvc/web/web_error.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

const auto kNow = std::chrono::system_clock::now();

struct World {
  testing::TempDir dir{testing::TempDir::Keep::nothing};
  std::unique_ptr<Store> store =
      open_store(dir.file("authsvc.db"), Actor{"web", "test"}, OpenMode::create_if_missing);
  WebOptions options;

  SelfService as(const std::string& address, bool admin = false) {
    return SelfService(*store, Person{address, admin}, options, kNow);
  }
};

// The status of the WebError that `call` throws (0 if none).
int status_of(const std::function<void()>& call, std::string* message = nullptr) {
  try {
    call();
  } catch (const WebError& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return 0;
}

std::string created(SelfService service, const std::string& name, const std::string& expires = "") {
  std::string token = service.create(name, expires);
  testing::record_issued_token(token);
  return token;
}

}  // namespace

TEST_CASE("self-service: a new account is its creator's alone, with the web's vhosts") {
  World w;
  w.options.vhosts = {"/", "staging"};
  std::string token = created(w.as("Alice@Example.org"), "alice-app", "30d");
  CHECK(token.size() == 43);
  UserInfo info = w.as("alice@example.org").my_account("alice-app");
  CHECK(info.owners == std::vector<std::string>{"Alice@Example.org"});
  CHECK(info.vhosts == std::vector<std::string>{"/", "staging"});
  CHECK_FALSE(info.expires_at.empty());
  CHECK(w.as("alice@example.org").my_accounts().size() == 1);
  CHECK(w.as("bob@example.org").my_accounts().empty());
}

TEST_CASE("self-service: names follow the rules, are not taken, and reserved ones are admins'") {
  World w;
  w.options.reserve = {"taskcluster-.*"};
  std::string why;
  CHECK(status_of([&] { w.as("a@x.org").create("Bad Name", ""); }, &why) == 400);
  CHECK(why.rfind("the name 'Bad Name' cannot be used: ", 0) == 0);
  CHECK(status_of([&] { w.as("a@x.org").create("", ""); }) == 400);
  CHECK(status_of([&] { w.as("a@x.org").create("taskcluster-queue", ""); }, &why) == 403);
  CHECK(why == "the name 'taskcluster-queue' is reserved: only an admin may create it");
  // Matched against the whole name.
  created(w.as("a@x.org"), "my-taskcluster-queue");
  created(w.as("root@x.org", true), "taskcluster-queue");
  CHECK(status_of([&] { w.as("b@x.org").create("taskcluster-queue", ""); }) == 403);
  CHECK(status_of([&] { w.as("root@x.org", true).create("taskcluster-queue", ""); }, &why) == 409);
  CHECK(why == "the name 'taskcluster-queue' is taken");
  CHECK(status_of([&] { w.as("a@x.org").create("my-taskcluster-queue", ""); }) == 409);
  // Any case; and "new" is the form's path.
  CHECK(status_of([&] { w.as("a@x.org").create("TaskCluster-Other", ""); }) == 403);
  CHECK(status_of([&] { w.as("a@x.org").create("new", ""); }, &why) == 400);
  CHECK(why.find("/accounts/new") != std::string::npos);
}

TEST_CASE("self-service: a reserve pattern that does not compile reserves every name") {
  CHECK(reserve_pattern_problem("taskcluster-.*").empty());
  CHECK_FALSE(reserve_pattern_problem("taskcluster-(.*").empty());
  CHECK(is_reserved("anything", {"taskcluster-(.*"}));
  CHECK(is_reserved("TASKCLUSTER-x", {"taskcluster-.*"}));
  CHECK_FALSE(is_reserved("my-taskcluster-x", {"taskcluster-.*"}));
  CHECK_FALSE(is_reserved("anything", {}));
  World w;
  w.options.reserve = {"taskcluster-(.*"};
  CHECK(status_of([&] { w.as("a@x.org").create("alice-app", ""); }) == 403);
  created(w.as("root@x.org", true), "alice-app");
}

TEST_CASE("self-service: an expiry is a duration or a time in the future") {
  World w;
  std::string why;
  CHECK(status_of([&] { w.as("a@x.org").create("a1", "soon"); }, &why) == 400);
  CHECK(why.rfind("expires: ", 0) == 0);
  CHECK(status_of([&] { w.as("a@x.org").create("a2", "2020-01-01T00:00:00Z"); }) == 400);
  created(w.as("a@x.org"), "a3", "2099-01-01T00:00:00Z");
  CHECK(w.as("a@x.org").my_account("a3").expires_at.rfind("2099-01-01T00:00:00", 0) == 0);
  created(w.as("a@x.org"), "a4", "never");
  CHECK(w.as("a@x.org").my_account("a4").expires_at.empty());
  CHECK(w.store->list_users().size() == 2);
}

TEST_CASE("self-service: another's account is no such account, for every action") {
  World w;
  created(w.as("alice@x.org"), "alice-app");
  SelfService carol = w.as("carol@x.org");
  std::string why;
  CHECK(status_of([&] { carol.my_account("alice-app"); }, &why) == 404);
  CHECK(why == "no such account 'alice-app'");
  std::string missing;
  CHECK(status_of([&] { carol.my_account("no-such-app"); }, &missing) == 404);
  CHECK(missing == "no such account 'no-such-app'");  // the same answer
  CHECK(status_of([&] { carol.rotate("alice-app", "0"); }) == 404);
  CHECK(status_of([&] { carol.add_owner("alice-app", "carol@x.org"); }) == 404);
  CHECK(status_of([&] { carol.remove_owner("alice-app", "alice@x.org"); }) == 404);
  CHECK(status_of([&] { carol.remove("alice-app"); }) == 404);
  // Not an admin: the admin actions do not exist for carol.
  CHECK(status_of([&] { carol.all_accounts(); }) == 404);
  CHECK(status_of([&] { carol.set_active("alice-app", false); }) == 404);
  UserInfo still = w.as("alice@x.org").my_account("alice-app");
  CHECK(still.owners == std::vector<std::string>{"alice@x.org"});
  CHECK(still.active);
}

TEST_CASE("self-service: rotation with a grace, co-owners, the last owner stays, delete") {
  World w;
  std::string first = created(w.as("alice@x.org"), "alice-app");
  SelfService alice = w.as("alice@x.org");
  std::string why;
  CHECK(status_of([&] { alice.rotate("alice-app", "forever"); }, &why) == 400);
  CHECK(why == "grace: 'forever' is not a duration (0, 90s, 30m, 2h, 7d)");
  CHECK(status_of([&] { alice.rotate("alice-app", "8d"); }, &why) == 400);
  CHECK(why == "a grace is 0 to 7d; got 8d");
  std::string second = alice.rotate("alice-app", "1m");
  testing::record_issued_token(second);
  CHECK(second != first);
  CHECK_FALSE(alice.my_account("alice-app").previous_valid_until.empty());

  CHECK(status_of([&] { alice.add_owner("alice-app", "not an address"); }) == 400);
  alice.add_owner("alice-app", "bob@x.org");
  SelfService bob = w.as("BOB@x.org");
  CHECK(bob.my_account("alice-app").owners.size() == 2);
  CHECK(status_of([&] { bob.remove_owner("alice-app", "carol@x.org"); }) == 404);
  bob.remove_owner("alice-app", "alice@x.org");
  CHECK(status_of([&] { alice.my_account("alice-app"); }) == 404);
  CHECK(status_of([&] { bob.remove_owner("alice-app", "bob@x.org"); }, &why) == 409);
  CHECK(why == "'bob@x.org' is the last owner of 'alice-app': add another owner first");

  bob.remove("alice-app");
  CHECK(status_of([&] { bob.remove("alice-app"); }) == 404);  // gone already: no error page
  CHECK_FALSE(w.store->find_user("alice-app"));
}

TEST_CASE("self-service: admins list every account and disable and enable any") {
  World w;
  created(w.as("alice@x.org"), "alice-app");
  SelfService root = w.as("root@x.org", true);
  CHECK(root.all_accounts().size() == 1);
  root.set_active("alice-app", false);
  CHECK_FALSE(w.store->find_user("alice-app")->active);
  root.set_active("alice-app", true);
  CHECK(w.store->find_user("alice-app")->active);
  CHECK(status_of([&] { root.set_active("ghost", false); }) == 404);
  // Being an admin is not owning: an admin's own pages show their accounts only.
  CHECK(root.my_accounts().empty());
  CHECK(status_of([&] { root.my_account("alice-app"); }) == 404);
}

TEST_CASE("self-service: a rotation from a form another rotation overtook changes nothing") {
  World w;
  created(w.as("alice@example.org"), "alice-app");
  const std::string issued = w.store->find_user("alice-app")->credential_issued_at;
  // The other tab's rotation, with a grace for the clients still on the
  // first token.
  testing::record_issued_token(w.store->rotate_token("alice-app", std::chrono::seconds(600)));
  std::string message;
  CHECK(status_of(
            [&] {
              testing::record_issued_token(
                  w.as("alice@example.org").rotate("alice-app", "0", issued));
            },
            &message) == 409);
  CHECK(message.find("rotated already") != std::string::npos);
  // The first token's grace did not end.
  UserInfo info = *w.store->find_user("alice-app");
  CHECK(info.previous_issued_at == issued);
  CHECK_FALSE(info.previous_valid_until.empty());
  // Without a form's version (a script), it rotates what is current.
  testing::record_issued_token(w.as("alice@example.org").rotate("alice-app", "0"));
}

}  // namespace authsvc
