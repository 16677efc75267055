#include "authsvc/server/ops_listener.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "authsvc/core/build_info.h"

namespace authsvc {

HttpAnswer OpsHandler::handle(const HttpCall& call) const {
  if (call.method != "GET" && call.method != "HEAD") {
    return HttpAnswer{405, "only GET and HEAD\n", "text/plain", {{"Allow", "GET, HEAD"}}};
  }
  if (call.path == "/metrics") {
    return HttpAnswer{200, registry_.exposition(), "text/plain; version=0.0.4; charset=utf-8"};
  }
  if (call.path == "/healthz") return HttpAnswer{200, "ok\n"};
  if (call.path == "/readyz") {
    std::string problem;
    try {
      problem = ready_();
    } catch (const std::exception& e) {
      problem = std::string("the readiness check failed: ") + e.what();
    }
    if (problem.empty()) return HttpAnswer{200, "ready\n"};
    return HttpAnswer{503, "not ready: " + problem + "\n"};
  }
  return HttpAnswer{404, "not found: try /metrics, /healthz or /readyz\n"};
}

HttpAnswer OpsHandler::refuse(const HttpCall&, int status, std::string_view reason,
                              std::string_view) const {
  return HttpAnswer{status == 0 ? 400 : status, std::string(reason) + "\n"};
}

namespace {

HttpServerOptions ops_server_options() {
  HttpServerOptions options;
  options.threads = 1;
  options.max_connections = 64;  // scrapers and probes, not clients
  options.idle_timeout_seconds = 30;
  return options;
}

ListeningSocket ops_socket(const std::string& listen) {
  std::optional<ListenAddress> address = parse_listen_address(listen);
  if (!address) throw ListenError("--metrics-listen '" + listen + "' is not HOST:PORT");
  try {
    return ListeningSocket(address->host, address->port);
  } catch (const ListenError& e) {
    throw ListenError(std::string("--metrics-listen: ") + e.what());
  }
}

}  // namespace

std::optional<ListeningSocket> open_ops_socket(const std::string& listen) {
  if (listen.empty()) return std::nullopt;
  return ops_socket(listen);
}

OpsListener::OpsListener(const std::string& listen, const MetricsRegistry& registry,
                         ReadinessCheck ready)
    : OpsListener(ops_socket(listen), registry, std::move(ready)) {}

OpsListener::OpsListener(ListeningSocket socket, const MetricsRegistry& registry,
                         ReadinessCheck ready)
    : handler_(registry, std::move(ready)), server_(handler_, ops_server_options()) {
  try {
    server_.serve_on(std::move(socket));
  } catch (const ListenError& e) {
    throw ListenError(std::string("--metrics-listen: ") + e.what());
  }
}

std::unique_ptr<OpsListener> start_ops_listener(const std::string& listen,
                                                const MetricsRegistry& registry,
                                                ReadinessCheck ready) {
  return start_ops_listener(open_ops_socket(listen), registry, std::move(ready));
}

std::unique_ptr<OpsListener> start_ops_listener(std::optional<ListeningSocket> socket,
                                                const MetricsRegistry& registry,
                                                ReadinessCheck ready) {
  if (!socket) return nullptr;
  return std::make_unique<OpsListener>(std::move(*socket), registry, std::move(ready));
}

std::string metrics_url(const std::string& listen, int port) {
  std::optional<ListenAddress> address = parse_listen_address(listen);
  std::string host = address ? address->host : "?";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port) + "/metrics";
}

namespace {

// /proc/self/stat fields 14, 15 (utime, stime, in clock ticks), 20
// (threads), 22 (start time, ticks after boot), 23 (vsize, bytes), 24 (rss,
// pages). The command name (field 2) may hold spaces: read after its ')'.
struct ProcStat {
  double cpu_seconds = 0;
  double threads = 0;
  double start_ticks = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  bool ok = false;
};

ProcStat read_proc_stat() {
  ProcStat stat;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t close = text.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                             std::istream_iterator<std::string>()};
  // f[0] is field 3.
  if (f.size() < 22) return stat;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  stat.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / tick;
  stat.threads = std::stod(f[17]);
  stat.start_ticks = std::stod(f[19]);
  stat.virtual_bytes = std::stod(f[20]);
  stat.resident_bytes = std::stod(f[21]) * page;
  stat.ok = true;
  return stat;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double open_fds() {
  std::error_code error;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++n;
  }
  return n;
}

}  // namespace

void register_process_metrics(MetricsRegistry& registry) {
  registry.add("authsvc_build_info", MetricsRegistry::Type::gauge,
               "The version and git commit this binary was built from (always 1).",
               {{"version", kBuildVersion}, {"commit", kBuildCommit}}, [] { return 1.0; });
  registry.add("process_cpu_seconds_total", MetricsRegistry::Type::counter,
               "User and system CPU time spent, in seconds.", {},
               [] { return read_proc_stat().cpu_seconds; });
  registry.add("process_resident_memory_bytes", MetricsRegistry::Type::gauge,
               "Resident memory size in bytes.", {},
               [] { return read_proc_stat().resident_bytes; });
  registry.add("process_virtual_memory_bytes", MetricsRegistry::Type::gauge,
               "Virtual memory size in bytes.", {}, [] { return read_proc_stat().virtual_bytes; });
  registry.add("process_threads", MetricsRegistry::Type::gauge, "Threads of the process.", {},
               [] { return read_proc_stat().threads; });
  const double start = boot_time_seconds() +
                       read_proc_stat().start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  registry.add("process_start_time_seconds", MetricsRegistry::Type::gauge,
               "Start time of the process since the Unix epoch, in seconds.", {},
               [start] { return start; });
  registry.add("process_open_fds", MetricsRegistry::Type::gauge, "Open file descriptors.", {},
               open_fds);
  registry.add("process_max_fds", MetricsRegistry::Type::gauge,
               "The limit on open file descriptors.", {}, [] {
                 rlimit limit{};
                 getrlimit(RLIMIT_NOFILE, &limit);
                 return static_cast<double>(limit.rlim_cur);
               });
}

}  // namespace authsvc
