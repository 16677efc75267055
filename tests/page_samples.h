#pragma once
// Every page of authsvc/web/pages.h filled as the app would fill it, for
// the pages' tests (authsvc/web/pages_test.cc) and for looking at them
// (tests/pages_preview.cc). The secrets are made up and log in nowhere.

#include <string>

#include "authsvc/web/pages.h"

namespace authsvc::testing {

inline PageFrame sample_frame(std::string title = "") {
  PageFrame frame;
  frame.title = std::move(title);
  frame.signed_in_as = "alice@mozilla.com";
  frame.admin = true;
  frame.csrf = "c5rf-Tq8vWb2NfLx0aYk4s9ZrPm7HdE1uJgC3iV6oQn";
  return frame;
}

inline AccountRow sample_account(std::string name, std::string state,
                                 std::vector<std::string> owners) {
  AccountRow account;
  account.name = std::move(name);
  account.state = std::move(state);
  account.owners = std::move(owners);
  return account;
}

inline std::vector<AccountRow> sample_accounts() {
  AccountRow app = sample_account("alice-app", "active", {"alice@mozilla.com", "bob@mozilla.com"});
  app.expires = "2026-12-31 00:00 UTC";
  AccountRow ci = sample_account("alice-ci", "active", {"alice@mozilla.com"});
  ci.legacy = true;
  AccountRow ingest = sample_account("treeherder-ingest", "active",
                                     {"alice@mozilla.com", "carol@mozilla.com", "dan@mozilla.com"});
  ingest.grace_until = "2025-06-02 14:30 UTC";
  AccountRow old = sample_account("alice-old-bot", "expired", {"alice@mozilla.com"});
  old.expires = "2025-01-31 00:00 UTC";
  AccountRow paused = sample_account("alice-nightly", "disabled", {"alice@mozilla.com"});
  return {app, ci, ingest, old, paused};
}

inline QueueRow sample_queue(std::string account, std::string name, long long messages,
                             long long consumers) {
  QueueRow queue;
  queue.account = account;
  queue.vhost = "/";
  queue.name = "queue/" + account + "/" + name;
  queue.messages = messages;
  queue.consumers = consumers;
  queue.warn_at = 5000;
  queue.delete_at = 10000;
  return queue;
}

inline std::vector<QueueRow> sample_queues() {
  QueueRow builds = sample_queue("alice-app", "builds", 12, 2);
  builds.bounded_at = 5000;
  QueueRow backlog = sample_queue("alice-app", "backlog", 7342, 0);
  backlog.guardian = "warned";
  QueueRow jobs = sample_queue("treeherder-ingest", "jobs", 145, 4);
  jobs.exempt = true;
  jobs.warn_at = 200000;
  jobs.delete_at = 1000000;
  QueueRow stale = sample_queue("alice-ci", "results", 10512, 0);
  stale.guardian = "deleting";
  return {builds, backlog, jobs, stale};
}

inline HomePage sample_home() {
  HomePage page;
  page.frame.csrf = "c5rf-signed-out";
  return page;
}

inline DevLoginPage sample_dev_login() {
  DevLoginPage page;
  page.frame.dev_login = true;
  page.frame.csrf = "c5rf-signed-out";
  page.state = "st4te-8Jf2kQ0pXc";
  return page;
}

inline AccountsPage sample_accounts_page() {
  AccountsPage page;
  page.frame = sample_frame("My accounts");
  page.accounts = sample_accounts();
  return page;
}

inline NewAccountPage sample_new_account() {
  NewAccountPage page;
  page.frame = sample_frame("New account");
  page.frame.error = "An account name starts with a letter: 2fast is not one.";
  page.name = "2fast";
  page.expires = "90d";
  return page;
}

inline AccountPage sample_account_page() {
  AccountPage page;
  page.frame = sample_frame();
  page.account = sample_accounts()[0];
  page.credential_issued = "2025-05-28 09:12 UTC";
  page.credential_version = "2025-05-28T09:12:40.123456Z";
  std::vector<QueueRow> queues = sample_queues();
  page.queues = {queues[0], queues[1]};
  ReportRow met{"Exchanges", "MUST", "be topic exchanges", "met", true, false, {"1 of 1 topic"}};
  ReportRow not_met{"Consumers",
                    "SHOULD",
                    "specify a consumer prefetch limit",
                    "NOT MET",
                    false,
                    true,
                    {"consumers: 2, with a prefetch limit: 1", "without a limit, on queue/a/b"}};
  page.report = {met, not_met};
  return page;
}

inline SecretPage sample_secret() {
  SecretPage page;
  page.frame = sample_frame();
  page.frame.notice = "Account alice-app created.";
  page.heading = "Account alice-app created";
  page.account = "alice-app";
  page.secret = "Zq3hT0yN8wVb6mKs1pXe4LrJ9uFd2GcA7oQi5EtWnRk";
  page.broker_url = "amqps://pulse.mozilla.org:5671/";
  page.example_pika =
      "import pika\n"
      "params = pika.URLParameters(\"amqps://alice-app:" +
      page.secret +
      "@pulse.mozilla.org:5671/\")\n"
      "connection = pika.BlockingConnection(params)";
  page.example_kombu =
      "from kombu import Connection\n"
      "connection = Connection(\"amqps://alice-app:" +
      page.secret + "@pulse.mozilla.org:5671/\")";
  page.back_href = "/accounts/alice-app";
  return page;
}

inline QueuesPage sample_queues_page() {
  QueuesPage page;
  page.frame = sample_frame();
  page.queues = sample_queues();
  return page;
}

inline ExchangeRow sample_exchange(std::string owner, std::string name, std::string compliance) {
  ExchangeRow row;
  row.vhost = "/";
  row.name = "exchange/" + owner + "/" + name;
  row.owner = owner;
  row.type = "topic";
  row.durable = true;
  row.publish_rate = "2.4/s";
  row.last_message = "2026-12-02 14:50:01 UTC";
  row.bindings = 3;
  row.compliant = compliance == "ok";
  row.compliance = std::move(compliance);
  return row;
}

inline ExchangesPage sample_exchanges_page() {
  ExchangesPage page;
  page.frame = sample_frame();
  ExchangeRow quiet = sample_exchange("carol", "rare", "not sampled yet");
  quiet.last_message = "";
  quiet.publish_rate = "";
  ExchangeRow fanout = sample_exchange("dave", "fan", "not durable; not topic");
  fanout.type = "fanout";
  fanout.durable = false;
  page.exchanges = {sample_exchange("alice", "events", "not-json 4, content-type 1, oversize 1"),
                    sample_exchange("bob", "tasks", "ok"), quiet, fanout};
  return page;
}

inline MessageView sample_message(std::string payload) {
  MessageView m;
  m.routing_key = "task.42.completed";
  m.fields = {"task", "42", "completed"};
  m.content_type = "application/json";
  m.delivery_mode = "2 (persistent)";
  m.size = static_cast<long long>(payload.size());
  m.payload = std::move(payload);
  return m;
}

inline ExchangePage sample_exchange_page() {
  ExchangePage page;
  page.frame = sample_frame("exchange/alice/events");
  page.exchange = sample_exchange("alice", "events", "not-json 4, transient 1");
  page.sampled = true;
  page.inspected = 120;
  page.first_seen = "2026-12-01 09:00:00 UTC";
  page.routing_key_fields = "3 fields, always";
  page.json_keys = {"taskId", "state"};
  page.last = sample_message("{\n  \"state\": \"completed\",\n  \"taskId\": 42\n}");
  ViolationView not_json{"not-json",
                         true,
                         "Messages MUST contain a UTF-8-encoded JSON payload",
                         4,
                         "2026-12-02 14:50:01 UTC",
                         "2026-12-02 14:50:02 UTC",
                         sample_message("\\x1b]0;owned\\x07 not json")};
  not_json.example.routing_key = "evil.\\x1b[31m.key";
  not_json.example.fields = {"evil", "\\x1b[31m", "key"};
  ViolationView transient{"transient",
                          false,
                          "Messages SHOULD be durable",
                          1,
                          "2026-12-02 14:40:00 UTC",
                          "",
                          sample_message("{\"a\": 1}")};
  transient.example.delivery_mode = "1 (transient)";
  page.violations = {not_json, transient};
  return page;
}

inline ApiKeysPage sample_api_keys() {
  ApiKeysPage page;
  page.frame = sample_frame();
  ApiKeyRow deploy{
      7, "deploy script", "2025-03-01 10:00 UTC", "2025-09-01 10:00 UTC", "2025-05-30 06:41 UTC",
      ""};
  ApiKeyRow laptop{9, "", "2025-05-02 16:20 UTC", "", "", ""};
  ApiKeyRow old{
      3, "old CI", "2024-11-12 08:00 UTC", "", "2025-02-01 12:00 UTC", "2025-02-14 09:30 UTC"};
  page.keys = {deploy, laptop, old};
  page.key_lifetime = "90d";
  page.newest_key = 9;
  return page;
}

inline AdminPage sample_admin() {
  AdminPage page;
  page.frame = sample_frame();
  page.accounts = sample_accounts();
  AccountRow imported = sample_account("legacy-importer", "active", {});
  imported.legacy = true;
  page.accounts.push_back(imported);
  page.exemptions = {{"/", "queue/treeherder-ingest/jobs"}, {"/", "queue/taskcluster/claims"}};
  QueueRow orphan;
  orphan.vhost = "/";
  orphan.name = "queue/deleted-user/events";
  orphan.messages = 1204;
  orphan.warn_at = 5000;
  orphan.delete_at = 10000;
  page.unowned_queues = {orphan};
  return page;
}

inline ErrorPage sample_error() {
  ErrorPage page;
  page.frame = sample_frame();
  page.status = 404;
  page.message = "No account named bob-app is yours.";
  return page;
}

}  // namespace authsvc::testing
