#pragma once
// The operators' listener (--metrics-listen HOST:PORT): /metrics for
// Prometheus, /healthz and /readyz for a load balancer or systemd's
// watchers. An address of its own, so that a scraper never takes one of the
// broker's connections, and the broker-facing port never has to be opened
// to a monitoring network.
//
//   /metrics  200, the registry in the text exposition format 0.0.4
//   /healthz  200 "ok": the process is alive and its listener answers
//   /readyz   200 "ready", or 503 with one line saying what is not
//
// GET and HEAD only; anything else is 405, an unknown path 404. Nothing is
// audited: these requests decide nothing.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "authsvc/core/http_call.h"
#include "authsvc/core/metrics.h"
#include "authsvc/server/http_server.h"

namespace authsvc {

// "" when ready, else why not (one line, no newline).
using ReadinessCheck = std::function<std::string()>;

// The options serve, guardian and web share for it.
struct OpsSettings {
  std::string metrics_listen;  // HOST:PORT; empty: no listener
  // /readyz fails once the database (the broker, for the guardian) has not
  // been read for this long.
  std::chrono::seconds ready_store_age{30};
};

class OpsHandler : public HttpHandler {
 public:
  OpsHandler(const MetricsRegistry& registry, ReadinessCheck ready)
      : registry_(registry), ready_(std::move(ready)) {}
  HttpAnswer handle(const HttpCall& call) const override;
  HttpAnswer refuse(const HttpCall& call, int status, std::string_view reason,
                    std::string_view rule) const override;

 private:
  const MetricsRegistry& registry_;
  ReadinessCheck ready_;
};

class OpsListener {
 public:
  // Listens on `listen` ("HOST:PORT") at once. Throws ListenError naming
  // --metrics-listen when the address is malformed or cannot be had.
  OpsListener(const std::string& listen, const MetricsRegistry& registry, ReadinessCheck ready);
  // Serves a socket open_ops_socket() opened.
  OpsListener(ListeningSocket socket, const MetricsRegistry& registry, ReadinessCheck ready);
  int port() const { return server_.port(); }

 private:
  OpsHandler handler_;
  HttpServer server_;
};

// The socket of `listen`, bound now, for a process that must know its port
// before it serves (the guardian names its node after it); nullopt when
// `listen` is empty. Throws ListenError naming --metrics-listen.
std::optional<ListeningSocket> open_ops_socket(const std::string& listen);

// Starts one when `listen` (or `socket`) is set; null otherwise.
std::unique_ptr<OpsListener> start_ops_listener(const std::string& listen,
                                                const MetricsRegistry& registry,
                                                ReadinessCheck ready);
std::unique_ptr<OpsListener> start_ops_listener(std::optional<ListeningSocket> socket,
                                                const MetricsRegistry& registry,
                                                ReadinessCheck ready);

// "http://HOST:PORT/metrics" for the start-up line, with the port bound.
std::string metrics_url(const std::string& listen, int port);

// authsvc_build_info and the standard process_* metrics (CPU, memory, file
// descriptors, start time), read from /proc when scraped.
void register_process_metrics(MetricsRegistry& registry);

}  // namespace authsvc
