// Faults around a running `authsvc serve`: its database going bad under it,
// its audit log's disk filling up, SIGTERM in the middle of traffic, and
// SIGHUP (log rotation) likewise.
// Each runs the real binary, as an operator would meet it.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "tests/test_support.h"

namespace authsvc {
namespace {

using testing::CommandResult;
using testing::run_authsvc;
using testing::TempDir;

using Users = testing::Cli;

std::string login(httplib::Client& http, const std::string& user, const std::string& token) {
  auto r = http.Post("/auth/user", "username=" + user + "&password=" + token,
                     "application/x-www-form-urlencoded");
  return r ? r->body : "no answer: " + httplib::to_string(r.error());
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

using testing::eventually;

// Counts the opens of one file, by any process, from now on (inotify).
class OpenCounter {
 public:
  explicit OpenCounter(const std::string& path) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    REQUIRE(fd_ >= 0);
    REQUIRE(inotify_add_watch(fd_, path.c_str(), IN_OPEN) >= 0);
  }
  ~OpenCounter() { close(fd_); }
  OpenCounter(const OpenCounter&) = delete;
  OpenCounter& operator=(const OpenCounter&) = delete;
  int opens() {
    alignas(inotify_event) char buffer[4096];
    ssize_t n = 0;
    while ((n = read(fd_, buffer, sizeof buffer)) > 0) {
      for (char* at = buffer; at < buffer + n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(at);
        REQUIRE((event->mask & IN_Q_OVERFLOW) == 0);
        if (event->mask & IN_OPEN) ++opens_;
        at += sizeof(inotify_event) + event->len;
      }
    }
    return opens_;
  }

 private:
  int fd_;
  int opens_ = 0;
};

void overwrite(const std::string& path, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Load on serve: clients on keep-alive connections, each asking for alice's
// access to vhost "c<client>-<number>", numbered from 0, until stopped or
// until serve stops answering. Each request names its client and number, so
// that the audit log can be matched against the answers one by one. alice
// has no such vhost: an answered request is a deny.
class VhostLoad {
 public:
  static constexpr int kClients = 4;

  explicit VhostLoad(int port) {
    for (int c = 0; c < kClients; ++c) {
      clients_.emplace_back([this, port, c] {
        httplib::Client http("127.0.0.1", port);
        http.set_keep_alive(true);
        http.set_tcp_nodelay(true);  // else Nagle and delayed ACKs: 40 ms a request
        for (int i = 0; go_; ++i) {
          std::string vhost = "c" + std::to_string(c) + "-" + std::to_string(i);
          auto r = http.Post("/auth/vhost", "username=alice&vhost=" + vhost + "&ip=127.0.0.1",
                             "application/x-www-form-urlencoded");
          if (!r) break;
          if (r->body == "deny") {
            answered_[c].push_back(vhost);
            ++answered_count_;
          }
        }
      });
    }
  }
  ~VhostLoad() { stop(); }
  VhostLoad(const VhostLoad&) = delete;
  VhostLoad& operator=(const VhostLoad&) = delete;

  // How many requests were answered so far.
  int answered_count() const { return answered_count_; }
  // Stops the clients once their request in flight is answered (or not).
  void stop() {
    go_ = false;
    for (std::thread& t : clients_) {
      if (t.joinable()) t.join();
    }
  }
  // The vhost of every request answered; after stop().
  std::vector<std::string> answered() const {
    std::vector<std::string> all;
    for (const std::vector<std::string>& some : answered_) {
      all.insert(all.end(), some.begin(), some.end());
    }
    return all;
  }

 private:
  std::atomic<bool> go_{true};
  std::atomic<int> answered_count_{0};
  std::vector<std::string> answered_[kClients];
  std::vector<std::thread> clients_;
};

// The vhost of each line of audit log text that has one, each line parsed: a
// torn line fails here.
std::vector<std::string> vhosts_of(const std::string& text) {
  std::vector<std::string> vhosts;
  for (const std::string& line : testing::lines_of(text)) {
    auto event = nlohmann::json::parse(line);
    if (event.contains("vhost")) vhosts.push_back(event["vhost"].get<std::string>());
  }
  return vhosts;
}

// The whole audit log at `path`, once its writer has stopped.
std::vector<std::string> vhosts_in(const std::string& path) {
  return vhosts_of(testing::read_file(path));
}

// The lines the writer has finished so far: while it is busy, the read may end
// in the middle of the line it is writing.
std::vector<std::string> vhosts_written_so_far(const std::string& path) {
  std::string text = testing::read_file(path);
  return vhosts_of(text.substr(0, text.rfind('\n') + 1));
}

// Checks the audit lines of a run under VhostLoad, across every file they
// went to (`audited`: their vhosts): each answered request in them exactly
// once, nothing twice, and besides the answered requests at most the one
// each client had in flight when serve stopped.
void check_audited_once(const std::multiset<std::string>& audited,
                        const std::vector<std::string>& answered) {
  for (const std::string& vhost : answered) {
    CAPTURE(vhost);
    CHECK(audited.count(vhost) == 1);
  }
  CHECK(std::set<std::string>(audited.begin(), audited.end()).size() == audited.size());
  CHECK(audited.size() >= answered.size());
  CHECK(audited.size() <= answered.size() + VhostLoad::kClients);
}

}  // namespace

// Threads against each other (`authsvc serve` under traffic): in ctest -L threaded, which
// scripts/sanitize.sh runs under ThreadSanitizer.
TEST_SUITE_BEGIN("threaded");

TEST_CASE("a database that goes bad while serving: answers go on, one report, recovery by itself") {
  Users users;
  std::string alice = users.add("alice");
  {
    // Everything into the main file, so that it alone holds the users.
    SQLite::Database raw(users.db, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  testing::ServeProcess serve({"--db", users.db, "--login-failures", "0"}, users.dir);
  httplib::Client http("127.0.0.1", serve.port());
  REQUIRE(login(http, "alice", alice) == "allow");

  // Zero the file in place, and the WAL index every reader maps, so the
  // server's next poll reads the damage (an edit by hand, a bad disk).
  std::string good = testing::read_file(users.db);
  overwrite(users.db, std::string(good.size(), '\0'));
  overwrite(users.db + "-shm", std::string(128, '\0'));
  const std::string report = "cannot reload users (";
  REQUIRE(eventually([&] { return serve.stderr_text().find(report) != std::string::npos; },
                     std::chrono::seconds(3)));
  // Retried after 250 ms, 500 ms, 1 s... (retry_delay), reported once a
  // minute. Each retry starts by reopening the database
  // (StoreWatcher::poll_once), and nothing else opens it now: so each open
  // counted from here on is a poll after the report that could have
  // reported again.
  OpenCounter polls(users.db);
  for (int i = 0; i < 20; ++i) CHECK(login(http, "alice", alice) == "allow");
  CHECK(login(http, "alice", "wrong") == "deny");
  REQUIRE(eventually([&] { return polls.opens() >= 3; }, std::chrono::seconds(6)));
  std::string err = serve.stderr_text();
  CHECK(count(err, report) == 1);
  CHECK(err.find("still answering from the last good snapshot") != std::string::npos);

  overwrite(users.db, good);
  // The next retry, at most 5 s later.
  CHECK(eventually(
      [&] {
        return serve.stderr_text().find("the database is readable again") != std::string::npos;
      },
      std::chrono::seconds(8)));
  std::string bob = users.add("bob");
  CHECK(eventually([&] { return login(http, "bob", bob) == "allow"; }, std::chrono::seconds(2)));
  CHECK(login(http, "alice", alice) == "allow");
  CHECK(serve.stop() == 0);
}

TEST_CASE("an audit log on a full disk: answers go on, one report, and exit says what was lost") {
  Users users;
  std::string alice = users.add("alice");
  testing::ServeProcess serve({"--db", users.db, "--audit-log", "/dev/full"}, users.dir);
  httplib::Client http("127.0.0.1", serve.port());
  http.set_keep_alive(true);
  for (int i = 0; i < 200; ++i) {
    CAPTURE(i);
    REQUIRE(login(http, "alice", alice) == "allow");
  }
  const std::string report = "cannot write the audit log (No space left on device); ";
  const std::string retrying = " lines wait, retrying\n";
  CHECK(eventually([&] { return serve.stderr_text().find(report) != std::string::npos; },
                   std::chrono::seconds(2)));
  CHECK(login(http, "alice", "wrong") == "deny");

  // Stopping waits a few seconds for the disk, then gives up and says so.
  auto start = std::chrono::steady_clock::now();
  CHECK(serve.stop() == 1);
  CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(15)));
  std::string err = serve.stderr_text();
  CHECK(err.find("stopped with audit lines unwritten") != std::string::npos);
  // Reported once a minute while retrying every 200 ms. serve says the line
  // above only after waiting 5 s for the writer (serve.cc), which retried
  // all along: about 25 retries since the report, none of them reported.
  CHECK(count(err, retrying) == 1);
  // 200 allowed logins and one refused one, plus the user-add event.
  CHECK(err.find("(No space left on device); 202 lines lost at exit") != std::string::npos);
}

TEST_CASE("an audit log past its file-size limit loses nothing once there is room again") {
  Users users;
  std::string alice = users.add("alice");
  std::string audit_path = users.dir.file("audit.log");
  // Fill the log close to the limit given below: the database and its WAL
  // index stay under it, the log soon goes over.
  const std::size_t kLimit = 1 << 20;
  const std::string filler_line = std::string(99, 'f') + "\n";
  std::string filler;
  while (filler.size() + filler_line.size() < kLimit - 4096) filler += filler_line;
  testing::write_file(audit_path, filler);

  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit limited = saved;
  limited.rlim_cur = kLimit;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);  // inherited by serve
  std::optional<testing::ServeProcess> serve;
  try {
    serve.emplace(std::vector<std::string>{"--db", users.db, "--audit-log", audit_path,
                                           "--login-failures", "0"},
                  users.dir);
  } catch (...) {
    setrlimit(RLIMIT_FSIZE, &saved);
    throw;
  }
  REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);

  httplib::Client http("127.0.0.1", serve->port());
  http.set_keep_alive(true);
  const int kRequests = 300;  // about 100 KB of audit lines
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(login(http, "alice", i % 2 ? alice : "wrong-" + std::to_string(i)) ==
            (i % 2 ? "allow" : "deny"));
  }
  const std::string report = "cannot write the audit log (File too large)";
  CHECK(eventually([&] { return serve->stderr_text().find(report) != std::string::npos; },
                   std::chrono::seconds(2)));

  // Room again: the retries write everything, each line once.
  rlimit unlimited = saved;
  unlimited.rlim_cur = saved.rlim_max;
  REQUIRE(prlimit(serve->pid(), RLIMIT_FSIZE, &unlimited, nullptr) == 0);
  auto answered_lines = [&] {
    std::string text = testing::read_file(audit_path).substr(filler.size());
    return testing::lines_of(text);
  };
  CHECK(eventually([&] { return answered_lines().size() >= kRequests + 1; },
                   std::chrono::seconds(3)));
  CHECK(serve->stop() == 0);
  std::vector<std::string> lines = answered_lines();
  REQUIRE(lines.size() == kRequests + 1);  // and the user-add event
  std::multiset<std::string> decisions;
  for (const std::string& line : lines) {
    auto event = nlohmann::json::parse(line);  // whole lines only: no torn write
    if (event.contains("decision")) decisions.insert(event["decision"].get<std::string>());
  }
  CHECK(decisions.count("allow") == kRequests / 2);
  CHECK(decisions.count("deny") == kRequests / 2);
}

TEST_CASE("SIGTERM under load: every answered request is in the audit log, and serve exits 0") {
  Users users;
  std::string alice = users.add("alice");
  std::string audit_path = users.dir.file("audit.log");
  testing::ServeProcess serve({"--db", users.db, "--audit-log", audit_path}, users.dir);
  VhostLoad load(serve.port());
  // SIGTERM once the load is under way, however fast this build answers.
  CHECK(eventually([&] { return load.answered_count() >= 1000; }, std::chrono::seconds(5)));
  CHECK(serve.stop() == 0);
  load.stop();

  std::vector<std::string> lines = vhosts_in(audit_path);
  std::set<std::string> audited(lines.begin(), lines.end());
  std::vector<std::string> answered = load.answered();
  for (const std::string& vhost : answered) {
    CAPTURE(vhost);
    CHECK(audited.count(vhost) == 1);
  }
  CHECK(answered.size() > 100);
  MESSAGE(answered.size() << " requests answered before SIGTERM");
}

TEST_CASE("SIGHUP under load reopens the audit log: every answered request in exactly one file") {
  Users users;
  std::string alice = users.add("alice");
  std::string audit_path = users.dir.file("audit.log");
  std::string rotated_path = users.dir.file("audit.log.1");
  testing::ServeProcess serve({"--db", users.db, "--audit-log", audit_path}, users.dir);
  VhostLoad load(serve.port());
  // Rotate as logrotate does, once the writer is busy with the load.
  CHECK(eventually([&] { return vhosts_written_so_far(audit_path).size() >= 200; },
                   std::chrono::seconds(5)));
  REQUIRE(std::rename(audit_path.c_str(), rotated_path.c_str()) == 0);
  REQUIRE(kill(serve.pid(), SIGHUP) == 0);
  // The load goes on until the new file holds lines of its own.
  CHECK(eventually(
      [&] {
        return std::filesystem::exists(audit_path) &&
               vhosts_written_so_far(audit_path).size() >= 200;
      },
      std::chrono::seconds(5)));
  CHECK(eventually(
      [&] {
        return serve.stderr_text().find("reopened the audit log " + audit_path) !=
               std::string::npos;
      },
      std::chrono::seconds(2)));
  CHECK(serve.stop() == 0);
  load.stop();

  struct stat st {};
  REQUIRE(stat(audit_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  for (const std::string& path : {rotated_path, audit_path}) {
    std::string text = testing::read_file(path);
    CHECK((!text.empty() && text.back() == '\n'));  // whole lines only
  }
  std::vector<std::string> old_lines = vhosts_in(rotated_path);
  std::vector<std::string> new_lines = vhosts_in(audit_path);
  std::multiset<std::string> audited(old_lines.begin(), old_lines.end());
  audited.insert(new_lines.begin(), new_lines.end());
  std::vector<std::string> answered = load.answered();
  check_audited_once(audited, answered);
  MESSAGE(answered.size() << " requests answered; " << old_lines.size()
                          << " lines in the rotated file, " << new_lines.size()
                          << " in the new one");
}

// contrib/logrotate/authsvc as shipped, but for the paths, the user it
// runs as (this test's) and its postrotate, which signals this serve
// instead of reloading units.
std::string logrotate_config_for(const std::string& dir, int serve_pid) {
  std::string text =
      testing::read_file(std::string(AUTHSVC_SOURCE_DIR) + "/contrib/logrotate/authsvc");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace("/var/log/authsvc/*.log", dir + "/*.log");
  replace("    su authsvc authsvc\n", "");
  replace("create 0600 authsvc authsvc", "create 0600");
  std::size_t begin = text.find("    postrotate\n");
  std::size_t end = text.find("    endscript\n");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  text.replace(begin, end - begin,
               "    postrotate\n        kill -HUP " + std::to_string(serve_pid) + "\n");
  return text;
}

std::string decompressed(const std::string& path) {
  FILE* gzip = popen(("gzip -dc '" + path + "'").c_str(), "r");
  REQUIRE(gzip);
  std::string text;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, gzip)) > 0) text.append(buffer, n);
  REQUIRE(pclose(gzip) == 0);
  return text;
}

TEST_CASE("logrotate -f with the shipped config, three times under load: every answer once") {
  Users users;
  std::string alice = users.add("alice");
  std::string logs = users.dir.file("logs");
  std::filesystem::create_directory(logs);
  std::filesystem::permissions(logs, std::filesystem::perms::owner_all);
  std::string audit_path = logs + "/audit.log";
  testing::ServeProcess serve({"--db", users.db, "--audit-log", audit_path}, users.dir);
  std::string config = users.dir.file("logrotate.conf");
  {
    std::ofstream out(config);
    out << logrotate_config_for(logs, serve.pid());
  }
  VhostLoad load(serve.port());
  for (int rotation = 1; rotation <= 3; ++rotation) {
    CAPTURE(rotation);
    REQUIRE(eventually([&] { return vhosts_written_so_far(audit_path).size() >= 200; },
                       std::chrono::seconds(5)));
    testing::ChildProcess logrotate(
        {"/usr/sbin/logrotate", "-f", "-s", users.dir.file("logrotate.state"), config}, users.dir,
        "logrotate" + std::to_string(rotation));
    int code = logrotate.wait();
    INFO(logrotate.stderr_text());
    REQUIRE(code == 0);
    // The postrotate's SIGHUP was taken: the new file fills.
    REQUIRE(eventually(
        [&] {
          return std::filesystem::exists(audit_path) && !vhosts_written_so_far(audit_path).empty();
        },
        std::chrono::seconds(5)));
  }
  CHECK(serve.stop() == 0);
  load.stop();

  // delaycompress: the newest rotated file is plain, the older ones gzip.
  CHECK(std::filesystem::exists(logs + "/audit.log.1"));
  CHECK(std::filesystem::exists(logs + "/audit.log.2.gz"));
  CHECK(std::filesystem::exists(logs + "/audit.log.3.gz"));
  std::multiset<std::string> audited;
  std::size_t lines = 0;
  for (const std::string& text :
       {decompressed(logs + "/audit.log.3.gz"), decompressed(logs + "/audit.log.2.gz"),
        testing::read_file(logs + "/audit.log.1"), testing::read_file(audit_path)}) {
    CHECK((!text.empty() && text.back() == '\n'));
    std::vector<std::string> vhosts = vhosts_of(text);
    lines += vhosts.size();
    audited.insert(vhosts.begin(), vhosts.end());
  }
  std::vector<std::string> answered = load.answered();
  check_audited_once(audited, answered);
  struct stat st {};
  REQUIRE(stat(audit_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  MESSAGE(answered.size() << " requests answered; " << lines << " lines across the four files");
}

TEST_CASE("SIGHUP with the audit log on stdout changes nothing, and says so") {
  Users users;
  std::string alice = users.add("alice");
  testing::ServeProcess serve({"--db", users.db, "--audit-log", "-"}, users.dir);
  httplib::Client http("127.0.0.1", serve.port());
  REQUIRE(login(http, "alice", alice) == "allow");
  REQUIRE(kill(serve.pid(), SIGHUP) == 0);
  CHECK(eventually(
      [&] {
        return serve.stderr_text().find("SIGHUP: the audit log is stdout, nothing to reopen") !=
               std::string::npos;
      },
      std::chrono::seconds(2)));
  CHECK(login(http, "alice", alice) == "allow");
  CHECK(serve.stop() == 0);
}

TEST_CASE("SIGHUP makes authsvc guardian reopen its own audit log") {
  Users users;
  std::string password = users.dir.file("pw");
  testing::write_file(password, "secret\n");
  chmod(password.c_str(), 0600);
  std::string audit_path = users.dir.file("guardian.log");
  std::string rotated_path = users.dir.file("guardian.log.1");
  // No broker there: the loop reports and backs off, which is all this needs.
  testing::ChildProcess guardian(
      {AUTHSVC_BINARY, "guardian", "--db", users.db, "--management-url", "http://127.0.0.1:1",
       "--management-user", "op", "--management-password-file", password, "--dry-run",
       "--audit-log", audit_path},
      users.dir, "guardian");
  REQUIRE(eventually(
      [&] {
        return guardian.stderr_text().find("authsvc guardian: watching") != std::string::npos;
      },
      std::chrono::seconds(5)));
  REQUIRE(std::rename(audit_path.c_str(), rotated_path.c_str()) == 0);
  REQUIRE(kill(guardian.pid(), SIGHUP) == 0);
  CHECK(eventually(
      [&] {
        return guardian.stderr_text().find("reopened the audit log " + audit_path) !=
               std::string::npos;
      },
      std::chrono::seconds(2)));
  struct stat st {};
  REQUIRE(stat(audit_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(guardian.stop() == 0);
}

TEST_SUITE_END();

}  // namespace authsvc
