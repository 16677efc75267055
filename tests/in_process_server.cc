#include "tests/in_process_server.h"

#include <utility>

namespace authsvc::testing {

InProcessServer::InProcessServer(std::vector<UserRecord> users, HttpServerOptions options)
    : server_(service_, std::move(options)) {
  snapshots_.replace(pulse_snapshot(std::move(users)));
  server_.bind("127.0.0.1", 0);
  thread_ = std::thread([this] { server_.run(); });
}

InProcessServer::~InProcessServer() {
  server_.stop();
  thread_.join();
}

std::vector<std::string> InProcessServer::audit_lines() { return lines_of(audit_text()); }

std::string InProcessServer::audit_text() {
  audit_.flush();
  return read_file(dir_.file("audit.log"));
}

}  // namespace authsvc::testing
