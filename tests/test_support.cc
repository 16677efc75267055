#include "tests/test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace authsvc::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("authsvc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
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

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT, 0600);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings{"PATH=/usr/bin:/bin", "HOME=/tmp"};
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args.at(0).c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + args.at(0));
  return pid;
}

pid_t spawn_authsvc(const std::vector<std::string>& args, const std::vector<std::string>& env,
                    const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> argv{AUTHSVC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn(argv, env, out_path, err_path);
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ServeProcess::ServeProcess(const std::vector<std::string>& args, const TempDir& dir)
    : err_path_(dir.file("serve.err")) {
  std::vector<std::string> full{"serve", "--listen", "127.0.0.1:0"};
  full.insert(full.end(), args.begin(), args.end());
  pid_ = spawn_authsvc(full, {}, dir.file("serve.out"), err_path_);
  const std::string marker = "listening on 127.0.0.1:";
  for (int i = 0; i < 500 && port_ < 0; ++i) {
    std::string err = read_file(err_path_);
    std::size_t at = err.find(marker);
    if (at != std::string::npos) {
      port_ = std::stoi(err.substr(at + marker.size()));
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("serve exited at start: " + err);
    }
    usleep(10'000);
  }
  if (port_ < 0) {
    stop();
    throw std::runtime_error("serve did not start listening within 5 s");
  }
}

ServeProcess::~ServeProcess() { stop(); }

int ServeProcess::stop() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  int code = wait_exit_code(pid_);
  pid_ = -1;
  return code;
}

std::string ServeProcess::stderr_text() const { return read_file(err_path_); }

CommandResult run_authsvc(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  TempDir capture;
  pid_t pid = spawn_authsvc(args, env, capture.file("out"), capture.file("err"));
  CommandResult result;
  result.exit_code = wait_exit_code(pid);
  result.out = read_file(capture.file("out"));
  result.err = read_file(capture.file("err"));
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const TempDir& dir,
                           const std::string& name)
    : out_path_(dir.file(name + ".out")), err_path_(dir.file(name + ".err")) {
  pid_ = spawn(argv, {}, out_path_, err_path_);
}

ChildProcess::~ChildProcess() { stop(); }

std::string ChildProcess::await_first_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = read_file(out_path_);
    std::size_t newline = out.find('\n');
    if (newline != std::string::npos) return out.substr(0, newline);
    int status = 0;
    if (pid_ >= 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("child exited at start: " + read_file(err_path_));
    }
    usleep(10'000);
  }
  throw std::runtime_error("child printed no line in time: " + read_file(err_path_));
}

int ChildProcess::stop() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  int code = wait_exit_code(pid_);
  pid_ = -1;
  return code;
}

std::string ChildProcess::stderr_text() const { return read_file(err_path_); }

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

}  // namespace authsvc::testing
