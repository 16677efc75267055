#pragma once
// Shared by the tests: temporary folders, running the authsvc binary, and
// the token ledger that tests/token_leak_check.py reads.

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authsvc/core/audit_sink.h"
#include "authsvc/core/form.h"
#include "authsvc/core/snapshot.h"

namespace authsvc::testing {

// A password and RabbitMQ's stored hash of it (base64 of the 4-byte salt
// and the digest), from tests/data/rabbit-password-vectors.json: made by
// Python's hashlib (make_rabbit_password_vectors.py), not by the code
// under test.
struct RabbitPasswordVector {
  std::string algorithm;  // "rabbit_password_hashing_sha256", ...
  std::string password;
  std::string salt_hex;
  std::string password_hash;
};
const std::vector<RabbitPasswordVector>& rabbit_password_vectors();

// A fresh folder under the system temp dir, removed with its content.
// Under CTest its files are first kept as artifacts for the leak check,
// except SQLite files, which are searched in place (see scan_database).
class TempDir {
 public:
  enum class Keep { files, nothing };
  explicit TempDir(Keep keep = Keep::files);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
  Keep keep_;
};

// How much slower than usual this run may be: $AUTHSVC_TEST_TIME_SCALE, a
// positive number (default 1; anything else throws, so not for static
// initializers, which --list-test-cases runs too). scripts/sanitize.sh sets
// it for the sanitizer builds, which run several times slower. Every
// deadline a test waits against goes through scaled(), so one factor
// stretches them all.
double time_scale();
std::chrono::milliseconds scaled(std::chrono::milliseconds deadline);

// Whether `condition` holds within `limit` (scaled), polled every 10 ms and
// tried once more at the deadline, so that a slow poll cannot fail a check
// that holds.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(5));

// The environment every child the tests start gets: PATH and HOME, the
// sanitizers' options (ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS,
// LSAN_OPTIONS) and AUTHSVC_TEST_TIME_SCALE as this process has them, then
// `extra` (NAME=VALUE). Nothing else of this process's environment.
std::vector<std::string> child_environment(const std::vector<std::string>& extra = {});

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built authsvc binary with `args` and `env` (NAME=VALUE added to
// child_environment()), its standard input the file at `input`, waits, and
// captures its output. The tokens that `user add`, `user rotate` and `user
// import` print are recorded in the ledger; everything else it printed is
// kept as an artifact.
CommandResult run_authsvc(const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {},
                          const std::string& input = "/dev/null");

// Any program run in the background (argv[0] a path; child_environment(env)),
// its output in `dir` as NAME.out and NAME.err; SIGTERMed and waited for when
// it goes out of scope.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const TempDir& dir, const std::string& name,
               const std::vector<std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Waits for the first line on its stdout (e.g. the port it listens on);
  // throws if it exits or prints nothing in time (`timeout`, scaled).
  std::string await_first_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for `marker` on its stderr and returns what follows it there;
  // throws if it exits or prints no such thing in time (`timeout`, scaled).
  std::string await_on_stderr(const std::string& marker, std::chrono::milliseconds timeout);
  // Waits for it to exit by itself and returns the exit code (128 + signal
  // if killed).
  int wait();
  int pid() const { return pid_; }
  // Sends SIGTERM and returns the exit code (128 + signal if killed).
  int stop();
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  // Reads the file at `path` until `found` finds what is awaited in its
  // text, and returns what `found` returns; throws, naming `awaited`, if
  // the child exits first or `timeout` (scaled) passes.
  std::string await(const std::string& path,
                    const std::function<std::optional<std::string>(const std::string&)>& found,
                    const std::string& awaited, std::chrono::milliseconds timeout);

  std::string name_;
  int pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// `authsvc serve` started in the background on an ephemeral port; stopped
// with SIGTERM (and waited for) when it goes out of scope.
class ServeProcess {
 public:
  // Starts serve with these extra arguments (and `env`, NAME=VALUE) and
  // waits until it listens (5 s, scaled).
  ServeProcess(const std::vector<std::string>& args, const TempDir& dir,
               const std::vector<std::string>& env = {});
  int port() const { return port_; }
  // The port of --metrics-listen 127.0.0.1:0, from serve's start-up line.
  int metrics_port();
  int pid() const { return process_.pid(); }
  // Sends SIGTERM and returns the exit code.
  int stop() { return process_.stop(); }
  std::string stderr_text() const { return process_.stderr_text(); }

 private:
  ChildProcess process_;
  int port_ = -1;
};

// A throw-away PKI made with the openssl command (EC P-256, valid two days)
// in `dir`: a CA; a server certificate it signed for 127.0.0.1 and localhost;
// a client certificate it signed; and a second CA with a client certificate
// of its own, which the first CA does not vouch for. Each *_key is 0600.
struct TestPki {
  explicit TestPki(const TempDir& dir);
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_cert, other_ca_key;
  std::string other_client_cert, other_client_key;
};

// A fresh database (`authsvc init`) in a folder of its own, and the CLI
// run against it.
struct Cli {
  Cli();
  TempDir dir;
  std::string db;
  // Runs `authsvc ARGS --db DB`.
  CommandResult operator()(std::vector<std::string> args) const;
  // Adds a user (extra: more `user add` options); returns its token, the
  // last line of stdout.
  std::string add(const std::string& name, std::vector<std::string> extra = {}) const;
};

// A TCP socket on 127.0.0.1, bound to a free port, closed when it goes. If
// `listening`, the kernel accepts connections to it that nobody reads or
// answers; if not, nothing listens there and a connection is refused.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening);
  ~LoopbackSocket();
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = -1;
};

// `text` decoded as a form (Form::decode), which must succeed: a failed
// REQUIRE, with the text and the error, if it does not.
Form decode_ok(std::string_view text);

// An active user with vhost "/" whose token is `token`, for snapshots built
// in a test; and a snapshot of such users under the built-in rules.
UserRecord test_user(const std::string& name, const std::string& token,
                     const std::string& tags = "");
std::shared_ptr<const Snapshot> pulse_snapshot(const std::vector<UserRecord>& users);
std::shared_ptr<const Snapshot> pulse_snapshot(UserTable users);

// An audit sink that keeps its lines in memory, for tests of what writes
// audit lines (AuthService, the guardian) without a file. Thread-safe. Under
// CTest its lines are kept as an artifact when it goes, so the token leak
// check searches them like any audit log.
class AuditLines : public AuditSink {
 public:
  ~AuditLines() override;
  void append(std::string_view line) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// The lines of a text, without their newlines.
std::vector<std::string> lines_of(const std::string& text);
// Each line parsed as JSON, e.g. parse_json_lines<nlohmann::json>(audit.lines()):
// a template, so that this header does without a JSON library.
template <typename Json>
std::vector<Json> parse_json_lines(const std::vector<std::string>& lines) {
  std::vector<Json> parsed;
  parsed.reserve(lines.size());
  for (const std::string& line : lines) parsed.push_back(Json::parse(line));
  return parsed;
}
std::string read_file(const std::string& path);
// Replaces the file at `path` with `text`.
void write_file(const std::string& path, const std::string& text);

// The token ledger. Under CTest, $AUTHSVC_TEST_ARTIFACTS names a folder
// where the tests record every token they obtain and keep every log they
// produce; tests/token_leak_check.py then searches the logs for the tokens.
// Without the variable (a test binary run by hand) these do nothing.
//
// A test that obtains a token other than through run_authsvc (Store's
// add_user, add_users, rotate_token) records it here.
void record_issued_token(const std::string& token);
void record_issued_tokens(const std::vector<std::string>& tokens);
// Called by test_main's listener as each test case starts: artifacts and
// ledger lines are named after it.
void set_current_test(const std::string& name);
// Keeps `text` as the file `name` among this test's artifacts.
void keep_artifact(const std::string& name, const std::string& text);

}  // namespace authsvc::testing
