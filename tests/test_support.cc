#include "tests/test_support.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "authsvc/core/text.h"
#include "authsvc/core/token.h"

namespace authsvc::testing {

namespace {

// ---- the token ledger (tests/token_leak_check.py documents the layout) ----

namespace fs = std::filesystem;

const fs::path& artifacts_root() {
  static const fs::path root = [] {
    const char* value = std::getenv("AUTHSVC_TEST_ARTIFACTS");
    return value && *value ? fs::path(value) : fs::path();
  }();
  return root;
}

std::mutex current_test_mutex;
std::string current_test = "unnamed";

std::string current_test_name() {
  std::lock_guard lock(current_test_mutex);
  return current_test;
}

// One write(2) on an O_APPEND descriptor: lines from tests running in
// parallel (ctest -j) interleave whole, never torn.
void append_line(const fs::path& path, const std::string& line) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot append to " + path.string());
  ssize_t written = write(fd, line.data(), line.size());
  close(fd);
  if (written != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error("cannot append to " + path.string());
  }
}

// This process's artifacts: one folder per test case run (CTest runs each
// in a process of its own).
fs::path test_artifacts_dir() {
  std::string name = current_test_name();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  if (name.size() > 80) name.resize(80);
  fs::path dir = artifacts_root() / "cxx" / (name + "." + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

std::atomic<int> artifact_sequence{0};

bool is_database_file(const std::string& name) {
  for (const char* suffix : {".db", "-wal", "-shm", "-journal"}) {
    std::size_t n = std::strlen(suffix);
    if (name.size() >= n && name.compare(name.size() - n, n, suffix) == 0) return true;
  }
  return false;
}

std::string_view bytes_of(const TokenHash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

std::string base64_unpadded(const TokenHash& hash, bool url) {
  std::string out(4 * ((hash.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), hash.data(),
                          static_cast<int>(hash.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  if (url) {
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

struct Needle {
  std::string bytes;
  std::string form;
  std::string token;
};

// The forms of each ledger token that must not be in a database file: the
// token itself and its hash as text. The raw 32-byte hash is what the
// users table legitimately holds, so it is not searched for here.
std::vector<Needle> database_needles() {
  std::vector<Needle> needles;
  std::ifstream ledger(artifacts_root() / "tokens.txt");
  std::string line;
  while (std::getline(ledger, line)) {
    std::string token = line.substr(0, line.find(' '));
    if (token.empty()) continue;
    TokenHash hash = hash_token(token);
    needles.push_back({token, "token", token});
    needles.push_back({hex_encode(bytes_of(hash), kHexDigitsLower), "sha256 hex", token});
    needles.push_back({hex_encode(bytes_of(hash), kHexDigitsUpper), "SHA256 HEX", token});
    needles.push_back({base64_unpadded(hash, false), "sha256 base64", token});
    std::string url = base64_unpadded(hash, true);
    if (url != needles.back().bytes) needles.push_back({url, "sha256 base64url", token});
  }
  return needles;
}

// Every needle is at least 32 bytes: a 3-byte prefix filter skips almost
// every position of a database file, whose tens of MB are searched against
// thousands of needles at once.
std::vector<std::pair<const Needle*, std::size_t>> find_needles(
    const std::string& data, const std::vector<Needle>& needles) {
  constexpr std::size_t kPrefix = 8;
  auto prefix3 = [](const char* p) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
           static_cast<unsigned char>(p[2]);
  };
  auto prefix8 = [](const char* p) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  std::vector<bool> filter(1 << 24);
  std::unordered_map<std::uint64_t, std::vector<const Needle*>> by_prefix;
  for (const Needle& n : needles) {
    filter[prefix3(n.bytes.data())] = true;
    by_prefix[prefix8(n.bytes.data())].push_back(&n);
  }
  std::vector<std::pair<const Needle*, std::size_t>> hits;
  for (std::size_t at = 0; at + kPrefix <= data.size(); ++at) {
    if (!filter[prefix3(data.data() + at)]) continue;
    auto it = by_prefix.find(prefix8(data.data() + at));
    if (it == by_prefix.end()) continue;
    for (const Needle* n : it->second) {
      if (data.compare(at, n->bytes.size(), n->bytes) == 0) hits.emplace_back(n, at);
    }
  }
  return hits;
}

// A database file is not copied (a test may leave tens of MB), but searched
// here, against the tokens the ledger holds now, which include this test's.
void scan_database(const fs::path& file) {
  std::string data = read_file(file.string());
  const fs::path& root = artifacts_root();
  append_line(root / "db-scans.txt", std::to_string(data.size()) + " " + current_test_name() +
                                         ": " + file.filename().string() + "\n");
  std::vector<Needle> needles = database_needles();
  if (needles.empty()) return;
  for (const auto& [needle, at] : find_needles(data, needles)) {
    append_line(root / "leaks.txt", "database file " + file.filename().string() + " of test '" +
                                        current_test_name() + "': " + needle->form + " of token " +
                                        needle->token.substr(0, 6) + "... at byte " +
                                        std::to_string(at) + "\n");
  }
}

void keep_files(const fs::path& from) {
  fs::path to = test_artifacts_dir() /
                ("tmp" + std::to_string(artifact_sequence++) + "-" + from.filename().string());
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(from, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    if (is_database_file(it->path().filename().string())) {
      scan_database(it->path());
      continue;
    }
    fs::path target = to / fs::relative(it->path(), from);
    fs::create_directories(target.parent_path());
    fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing);
  }
  if (error) throw std::runtime_error("cannot keep " + from.string() + ": " + error.message());
}

}  // namespace

void set_current_test(const std::string& name) {
  {
    std::lock_guard lock(current_test_mutex);
    current_test = name;
  }
  if (!artifacts_root().empty()) {
    fs::create_directories(artifacts_root());
    append_line(artifacts_root() / "runs.txt", "cxx " + name + "\n");
  }
}

void record_issued_token(const std::string& token) {
  if (artifacts_root().empty()) return;
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    throw std::runtime_error("record_issued_token: not a token");
  }
  fs::create_directories(artifacts_root());
  append_line(artifacts_root() / "tokens.txt", token + " cxx: " + current_test_name() + "\n");
}

void record_issued_tokens(const std::vector<std::string>& tokens) {
  for (const std::string& token : tokens) record_issued_token(token);
}

void keep_artifact(const std::string& name, const std::string& text) {
  if (artifacts_root().empty()) return;
  write_file((test_artifacts_dir() / name).string(), text);
}

TempDir::TempDir(Keep keep) : keep_(keep) {
  static std::atomic<int> counter{0};
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("authsvc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  if (keep_ == Keep::files && !artifacts_root().empty()) {
    // A destructor must not throw; a test whose files cannot be kept shows
    // here, and in the leak check's count of kept files.
    try {
      keep_files(path_);
    } catch (const std::exception& e) {
      std::cerr << "test_support: " << e.what() << "\n";
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

AuditLines::~AuditLines() {
  static std::atomic<int> sequence{0};
  std::string text;
  for (const std::string& line : lines_) text += line + "\n";
  try {
    keep_artifact("audit-lines-" + std::to_string(sequence++) + ".log", text);
  } catch (const std::exception& e) {
    std::cerr << "test_support: " << e.what() << "\n";
  }
}

void AuditLines::append(std::string_view line) {
  std::lock_guard lock(mutex_);
  lines_.emplace_back(line);
}

std::vector<std::string> AuditLines::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) lines.push_back(line);
  return lines;
}

double time_scale() {
  static const double scale = [] {
    const char* value = std::getenv("AUTHSVC_TEST_TIME_SCALE");
    if (!value || !*value) return 1.0;
    char* end = nullptr;
    double parsed = std::strtod(value, &end);
    if (*end != '\0' || !(parsed > 0) || parsed > 1000) {
      throw std::runtime_error(std::string("AUTHSVC_TEST_TIME_SCALE is not a positive number: ") +
                               value);
    }
    return parsed;
  }();
  return scale;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds deadline) {
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
      static_cast<double>(deadline.count()) * time_scale()));
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + scaled(limit);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=/tmp"};
  // Under scripts/sanitize.sh the children are sanitized binaries too: they
  // must report as the test binary does (exit code, halting), and wait as
  // long as it does.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS",
                           "AUTHSVC_TEST_TIME_SCALE"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& out_path, const std::string& err_path,
            const std::string& in_path = "/dev/null") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT, 0600);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment(env);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args.at(0).c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + args.at(0));
  return pid;
}

// The argv that runs the built authsvc with `args`, then `more`.
std::vector<std::string> authsvc_argv(const std::vector<std::string>& args,
                                      const std::vector<std::string>& more = {}) {
  std::vector<std::string> argv{AUTHSVC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

namespace {

// The subcommands that print new tokens on stdout, the one place a token
// may appear. Tests name them first (`user add ...`), --db after.
enum class Issuing { no, last_line, name_token_lines };

Issuing issuing(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] != "user") return Issuing::no;
  if (args[1] == "add" || args[1] == "rotate") return Issuing::last_line;
  if (args[1] == "import") return Issuing::name_token_lines;
  return Issuing::no;
}

// Records the tokens an issuing command printed, and returns its stdout with
// exactly those tokens, where the CLI prints them, replaced: the rest is
// searched like any other output (a token printed twice is a leak).
std::string record_and_redact(Issuing kind, const std::string& out) {
  const std::string placeholder = "<issued token>";
  std::vector<std::string> lines = lines_of(out);
  if (kind == Issuing::last_line && !lines.empty()) {
    record_issued_token(lines.back());
    lines.back() = placeholder;
  } else if (kind == Issuing::name_token_lines) {
    for (std::string& line : lines) {
      std::size_t space = line.find(' ');
      if (space == std::string::npos) continue;
      record_issued_token(line.substr(space + 1));
      line = line.substr(0, space + 1) + placeholder;
    }
  }
  std::string redacted;
  for (const std::string& line : lines) redacted += line + "\n";
  return redacted;
}

}  // namespace

CommandResult run_authsvc(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          const std::string& input) {
  // Not kept as it is: stdout may hold new tokens; see below.
  TempDir capture(TempDir::Keep::nothing);
  pid_t pid = spawn(authsvc_argv(args), env, capture.file("out"), capture.file("err"), input);
  CommandResult result;
  result.exit_code = wait_exit_code(pid);
  result.out = read_file(capture.file("out"));
  result.err = read_file(capture.file("err"));
  if (!artifacts_root().empty()) {
    Issuing kind = result.exit_code == 0 ? issuing(args) : Issuing::no;
    std::string command = "authsvc";
    for (const std::string& a : args) command += " " + a;
    append_line(test_artifacts_dir() / "cli.log",
                "$ " + command + "  (exit " + std::to_string(result.exit_code) + ")\n" +
                    "--- stdout\n" +
                    (kind == Issuing::no ? result.out : record_and_redact(kind, result.out)) +
                    "--- stderr\n" + result.err);
  }
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const TempDir& dir,
                           const std::string& name, const std::vector<std::string>& env)
    : name_(name), out_path_(dir.file(name + ".out")), err_path_(dir.file(name + ".err")) {
  pid_ = spawn(argv, env, out_path_, err_path_);
}

ChildProcess::~ChildProcess() { stop(); }

std::string ChildProcess::await(
    const std::string& path,
    const std::function<std::optional<std::string>(const std::string&)>& found,
    const std::string& awaited, std::chrono::milliseconds timeout) {
  const auto limit = scaled(timeout);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::optional<std::string> result = found(read_file(path))) return *result;
    int status = 0;
    if (pid_ >= 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(name_ + " exited at start: " + read_file(err_path_));
    }
    usleep(10'000);
  }
  throw std::runtime_error(name_ + " printed no " + awaited + " within " +
                           std::to_string(limit.count()) + " ms: " + read_file(err_path_));
}

std::string ChildProcess::await_first_line(std::chrono::milliseconds timeout) {
  return await(
      out_path_,
      [](const std::string& out) -> std::optional<std::string> {
        std::size_t newline = out.find('\n');
        if (newline == std::string::npos) return std::nullopt;
        return out.substr(0, newline);
      },
      "line", timeout);
}

std::string ChildProcess::await_on_stderr(const std::string& marker,
                                          std::chrono::milliseconds timeout) {
  return await(
      err_path_,
      [&](const std::string& err) -> std::optional<std::string> {
        std::size_t at = err.find(marker);
        if (at == std::string::npos) return std::nullopt;
        return err.substr(at + marker.size());
      },
      "'" + marker + "'", timeout);
}

int ChildProcess::wait() {
  if (pid_ < 0) return -1;
  int code = wait_exit_code(pid_);
  pid_ = -1;
  return code;
}

int ChildProcess::stop() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  int code = wait_exit_code(pid_);
  pid_ = -1;
  return code;
}

std::string ChildProcess::stdout_text() const { return read_file(out_path_); }

std::string ChildProcess::stderr_text() const { return read_file(err_path_); }

ServeProcess::ServeProcess(const std::vector<std::string>& args, const TempDir& dir,
                           const std::vector<std::string>& env)
    : process_(authsvc_argv({"serve", "--listen", "127.0.0.1:0"}, args), dir, "serve", env) {
  port_ = std::stoi(process_.await_on_stderr("listening on 127.0.0.1:", std::chrono::seconds(5)));
}

int ServeProcess::metrics_port() {
  return std::stoi(
      process_.await_on_stderr("metrics on http://127.0.0.1:", std::chrono::seconds(5)));
}

namespace {

void openssl(const std::string& args) {
  std::string command = "openssl " + args + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

void make_ca(const std::string& name, const std::string& cert, const std::string& key) {
  openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" + name +
          " -keyout " + key + " -out " + cert);
}

void make_signed(const TempDir& dir, const std::string& name, const std::string& extensions,
                 const std::string& ca_cert, const std::string& ca_key, const std::string& cert,
                 const std::string& key) {
  std::string csr = dir.file(name + ".csr");
  std::string ext = dir.file(name + ".ext");
  write_file(ext, extensions);
  openssl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name +
          " -keyout " + key + " -out " + csr);
  openssl("x509 -req -days 2 -in " + csr + " -CA " + ca_cert + " -CAkey " + ca_key +
          " -set_serial " + std::to_string(std::random_device()() & 0x7fffffff) + " -extfile " +
          ext + " -out " + cert);
}

}  // namespace

TestPki::TestPki(const TempDir& dir)
    : ca_cert(dir.file("ca.pem")),
      ca_key(dir.file("ca.key")),
      server_cert(dir.file("server.pem")),
      server_key(dir.file("server.key")),
      client_cert(dir.file("client.pem")),
      client_key(dir.file("client.key")),
      other_ca_cert(dir.file("other-ca.pem")),
      other_ca_key(dir.file("other-ca.key")),
      other_client_cert(dir.file("other-client.pem")),
      other_client_key(dir.file("other-client.key")) {
  make_ca("test-ca", ca_cert, ca_key);
  make_ca("other-ca", other_ca_cert, other_ca_key);
  make_signed(dir, "authsvc",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", ca_cert,
              ca_key, server_cert, server_key);
  make_signed(dir, "broker", "extendedKeyUsage=clientAuth\n", ca_cert, ca_key, client_cert,
              client_key);
  make_signed(dir, "intruder", "extendedKeyUsage=clientAuth\n", other_ca_cert, other_ca_key,
              other_client_cert, other_client_key);
  for (const std::string* key :
       {&ca_key, &server_key, &client_key, &other_ca_key, &other_client_key}) {
    std::filesystem::permissions(
        *key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
}

Cli::Cli() : db(dir.file("users.db")) {
  CommandResult r = run_authsvc({"init", "--db", db});
  if (r.exit_code != 0) throw std::runtime_error("authsvc init failed: " + r.err);
}

CommandResult Cli::operator()(std::vector<std::string> args) const {
  args.push_back("--db");
  args.push_back(db);
  return run_authsvc(args);
}

std::string Cli::add(const std::string& name, std::vector<std::string> extra) const {
  std::vector<std::string> args{"user", "add", name};
  args.insert(args.end(), extra.begin(), extra.end());
  // Every account has an owner; a test that is not about owners gets one.
  if (std::find(extra.begin(), extra.end(), "--owner") == extra.end() &&
      std::find(extra.begin(), extra.end(), "--email") == extra.end()) {
    args.insert(args.end(), {"--owner", name + "@example.org"});
  }
  CommandResult r = (*this)(args);
  if (r.exit_code != 0) throw std::runtime_error("authsvc user add failed: " + r.err);
  return lines_of(r.out).back();
}

LoopbackSocket::LoopbackSocket(bool listening) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
  if (fd_ < 0) throw std::runtime_error("cannot make a socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (listening && listen(fd_, 4) != 0) ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd_);
    throw std::runtime_error("cannot bind a loopback socket");
  }
  port_ = ntohs(addr.sin_port);
}

LoopbackSocket::~LoopbackSocket() { close(fd_); }

Form decode_ok(std::string_view text) {
  std::string error;
  std::optional<Form> form = Form::decode(text, &error);
  INFO("text: ", text, " error: ", error);
  REQUIRE(form.has_value());
  return std::move(*form);
}

UserRecord test_user(const std::string& name, const std::string& token, const std::string& tags) {
  UserRecord user;
  user.name = name;
  user.credential = token_credential(token);
  user.active = true;
  user.vhosts = {"/"};
  user.tags = tags;
  return user;
}

std::shared_ptr<const Snapshot> pulse_snapshot(const std::vector<UserRecord>& users) {
  return std::make_shared<const Snapshot>(users,
                                          std::make_shared<const Rules>(Rules::pulse_default()));
}

std::shared_ptr<const Snapshot> pulse_snapshot(UserTable users) {
  return std::make_shared<const Snapshot>(std::move(users),
                                          std::make_shared<const Rules>(Rules::pulse_default()));
}

const std::vector<RabbitPasswordVector>& rabbit_password_vectors() {
  static const std::vector<RabbitPasswordVector> vectors = [] {
    std::ifstream in(AUTHSVC_TESTDATA "/rabbit-password-vectors.json");
    if (!in) throw std::runtime_error("cannot read tests/data/rabbit-password-vectors.json");
    std::vector<RabbitPasswordVector> out;
    for (const nlohmann::json& v : nlohmann::json::parse(in)) {
      out.push_back(RabbitPasswordVector{v.at("algorithm"), v.at("password"), v.at("salt_hex"),
                                         v.at("password_hash")});
    }
    return out;
  }();
  return vectors;
}

}  // namespace authsvc::testing
