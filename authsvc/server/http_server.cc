#include "authsvc/server/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gnutls/gnutls.h>
#include <httplib.h>
#include <microhttpd.h>
#include <sys/socket.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <new>
#include <random>
#include <vector>

#include "authsvc/core/text.h"

namespace authsvc {

// One request, from its request line to its completion.
struct HttpServer::Request {
  HttpServer* server = nullptr;
  std::string target;  // raw: path and query string, as sent
  std::string peer;
  std::string body;
  bool headers_seen = false;
  std::size_t received = 0;  // body bytes, kept or dropped
  bool too_large = false;
  bool answered = false;
  bool probe = false;  // HttpServer::answers()'s own request
};

namespace {

// Bodies declared larger than this are refused before reading them.
constexpr std::size_t kMaxDiscardedBody = 16 * 1024 * 1024;

std::string peer_of(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

HttpCall call_of(const HttpServer::Request& r, std::string_view method,
                 std::string_view content_type) {
  std::string_view target = r.target;
  std::size_t question = target.find('?');
  HttpCall call;
  call.method = method;
  call.path = target.substr(0, question);
  call.query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  call.content_type = content_type;
  call.body = r.body;
  call.peer = r.peer;
  return call;
}

MHD_Response* make_response(std::string_view body, MHD_ResponseMemoryMode mode) {
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), mode);
  if (response) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  return response;
}

MHD_Result send(MHD_Connection* connection, const HttpAnswer& answer,
                const HttpServer::CannedResponses& canned) {
  // Nearly every answer to the broker is "allow" or "deny": share one
  // response object each (libmicrohttpd counts their uses) instead of
  // building one per request.
  const bool plain = answer.headers.empty() && answer.content_type == "text/plain";
  MHD_Response* shared = !plain                   ? nullptr
                         : answer.body == "allow" ? canned.allow
                         : answer.body == "deny"  ? canned.deny
                                                  : nullptr;
  if (shared) return MHD_queue_response(connection, static_cast<unsigned>(answer.status), shared);
  MHD_Response* response = MHD_create_response_from_buffer(
      answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  for (const auto& [name, value] : answer.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

// The request's header fields, read from libmicrohttpd when asked.
class ConnectionHeaders : public HttpHeaders {
 public:
  explicit ConnectionHeaders(MHD_Connection* connection) : connection_(connection) {}
  std::string_view get(std::string_view name) const override {
    const char* value =
        MHD_lookup_connection_value(connection_, MHD_HEADER_KIND, std::string(name).c_str());
    return value ? std::string_view(value) : std::string_view();
  }
  std::string get_all(std::string_view name) const override {
    struct Wanted {
      std::string name;
      std::string joined;
      bool failed = false;
    } wanted{ascii_lower(name), {}};
    MHD_get_connection_values(
        connection_, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          auto* w = static_cast<Wanted*>(cls);
          // Nothing may unwind through libmicrohttpd's C frames.
          try {
            if (key && value && ascii_lower(key) == w->name) {
              if (!w->joined.empty()) w->joined += ", ";
              w->joined += value;
            }
            return MHD_YES;
          } catch (...) {
            w->failed = true;
            return MHD_NO;
          }
        },
        &wanted);
    if (wanted.failed) throw std::bad_alloc();
    return wanted.joined;
  }

 private:
  MHD_Connection* connection_;
};

void* on_request_line(void* cls, const char* uri, MHD_Connection* connection) {
  auto* request = new HttpServer::Request;
  request->server = static_cast<HttpServer*>(cls);
  request->target = uri ? uri : "";
  request->probe = request->server->is_probe(request->target);
  request->peer = peer_of(connection);
  return request;
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* /*url*/,
                      const char* method, const char* /*version*/, const char* upload_data,
                      size_t* upload_data_size, void** req_cls) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* request = static_cast<HttpServer::Request*>(*req_cls);
  if (!request) return MHD_NO;  // no request line was logged: cannot happen
  const std::size_t max_body = server->options().max_body_bytes;

  if (!request->headers_seen) {
    request->headers_seen = true;
    // An oversized body is read and dropped, so that the client gets its
    // 413 rather than a reset; one beyond any reason is refused at once.
    const char* length =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    std::size_t declared = 0;
    bool absurd = false;
    if (length) {
      std::string_view text(length);
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), declared);
      request->too_large = ec != std::errc() || declared > max_body;
      absurd = ec != std::errc() || declared > kMaxDiscardedBody;
    }
    if (!absurd) return MHD_YES;  // read the body, if any
  } else if (*upload_data_size != 0) {
    if (!request->too_large && request->body.size() + *upload_data_size > max_body) {
      request->too_large = true;
      request->body.clear();
    }
    if (!request->too_large) request->body.append(upload_data, *upload_data_size);
    request->received += *upload_data_size;
    *upload_data_size = 0;
    // A body without a declared length can still grow without end: cut it off.
    return request->received > kMaxDiscardedBody ? MHD_NO : MHD_YES;
  }

  if (request->probe) {
    request->answered = true;
    return send(connection, HttpAnswer{200, "ok"}, server->canned());
  }
  const char* content_type =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  HttpCall call = call_of(*request, method ? method : "", content_type ? content_type : "");
  ConnectionHeaders headers(connection);
  call.headers = &headers;
  HttpAnswer answer;
  try {
    answer = request->too_large ? server->handler().refuse(call, 413, "request body too large")
                                : server->handler().handle(call);
  } catch (...) {
    // A handler that failed in a way it could not answer (memory): nothing
    // may unwind into libmicrohttpd, which would end the process. The
    // broker's plugin takes anything but "allow" as a refusal.
    answer = HttpAnswer{500, "internal error\n"};
  }
  request->answered = true;
  return send(connection, answer, server->canned());
}

void on_completed(void* /*cls*/, MHD_Connection* /*connection*/, void** req_cls,
                  MHD_RequestTerminationCode code) {
  auto* request = static_cast<HttpServer::Request*>(*req_cls);
  *req_cls = nullptr;
  if (!request) return;
  if (!request->answered) {
    // libmicrohttpd refused or dropped it before we could answer: a
    // malformed or oversized header, a timeout, a client that went away.
    const char* why = "refused by the HTTP layer (malformed or oversized request)";
    if (code == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) why = "request timed out";
    if (code == MHD_REQUEST_TERMINATED_CLIENT_ABORT || code == MHD_REQUEST_TERMINATED_READ_ERROR) {
      why = "client closed the connection mid-request";
    }
    if (code == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN) why = "server shutting down";
    HttpCall call = call_of(*request, "", "");
    // Status 0: the answer, if any, was libmicrohttpd's own (431, 400...).
    request->server->handler().refuse(call, 0, why);
  }
  delete request;
}

// State of one TLS connection, from accept to close. Plain HTTP connections
// have none: their path does not change with TLS support.
struct TlsConnection {
  bool requested = false;        // a request reached the access handler
  bool client_verified = false;  // its certificate was checked once, and passed
};

gnutls_session_t tls_session_of(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  return info ? static_cast<gnutls_session_t>(info->tls_session) : nullptr;
}

void on_tls_connection(void* cls, MHD_Connection* connection, void** socket_context,
                       MHD_ConnectionNotificationCode code) {
  auto* server = static_cast<HttpServer*>(cls);
  const bool verify_clients = server->options().tls->verify_clients();
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = new TlsConnection;
    // libmicrohttpd only asks for a client certificate; the handshake should
    // also fail without a good one, so that an unknown client cannot reach
    // the HTTP parser at all.
    if (gnutls_session_t session = tls_session_of(connection); session && verify_clients) {
      require_client_certificate(session);
    }
    return;
  }
  auto* state = static_cast<TlsConnection*>(*socket_context);
  *socket_context = nullptr;
  if (state && !state->requested) {
    HttpServer::Request nothing;
    nothing.peer = peer_of(connection);
    server->handler().refuse(call_of(nothing, "", ""), 0,
                             why_closed_without_request(tls_session_of(connection), verify_clients),
                             "tls");
  }
  delete state;
}

// The access handler on an HTTPS listener: the client's certificate is
// checked before its connection's first request is answered (again, after
// the handshake), then the request goes the plain way.
MHD_Result on_tls_request(void* cls, MHD_Connection* connection, const char* url,
                          const char* method, const char* version, const char* upload_data,
                          size_t* upload_data_size, void** req_cls) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* request = static_cast<HttpServer::Request*>(*req_cls);
  if (request && !request->headers_seen) {
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    auto* state = info ? static_cast<TlsConnection*>(info->socket_context) : nullptr;
    if (state) state->requested = true;
    if (server->options().tls->verify_clients() && !(state && state->client_verified)) {
      gnutls_session_t session = tls_session_of(connection);
      std::string problem = session ? client_certificate_problem(session) : "no TLS session";
      if (!problem.empty()) {
        request->headers_seen = true;
        request->answered = true;
        HttpCall call = call_of(*request, method ? method : "", "");
        return send(connection, server->handler().refuse(call, 403, problem, "tls"),
                    server->canned());
      }
      if (state) state->client_verified = true;
    }
  }
  return on_request(cls, connection, url, method, version, upload_data, upload_data_size, req_cls);
}

}  // namespace

HttpServer::HttpServer(const HttpHandler& handler, HttpServerOptions options)
    : handler_(handler), options_(options) {
  // Unguessable, so that no client reaches a path that bypasses the
  // handler and its audit line.
  std::random_device random;
  probe_target_ = fmt::format("/.authsvc-probe-{:08x}{:08x}{:08x}{:08x}", random(), random(),
                              random(), random());
  canned_.allow = make_response("allow", MHD_RESPMEM_PERSISTENT);
  canned_.deny = make_response("deny", MHD_RESPMEM_PERSISTENT);
}

HttpServer::~HttpServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
  MHD_destroy_response(canned_.allow);
  MHD_destroy_response(canned_.deny);
}

void HttpServer::bind(const std::string& host, int port) { serve_on(ListeningSocket(host, port)); }

void HttpServer::serve_on(ListeningSocket socket) {
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_TURBO;
  if (socket.ipv6()) flags |= MHD_USE_IPv6;
  // The PEM texts stay in options_.tls, alive as long as the daemon.
  std::vector<MHD_OptionItem> tls_options;
  MHD_AccessHandlerCallback access_handler = &on_request;
  if (const TlsCredentials* tls = options_.tls.get()) {
    flags |= MHD_USE_TLS;
    access_handler = &on_tls_request;
    auto text = [](const std::string& s) { return const_cast<char*>(s.c_str()); };
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, text(tls->cert_pem)});
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, text(tls->key_pem)});
    tls_options.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities)});
    if (tls->verify_clients()) {
      tls_options.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, text(tls->client_ca_pem)});
    }
    tls_options.push_back(
        {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&on_tls_connection), this});
  }
  tls_options.push_back({MHD_OPTION_END, 0, nullptr});
  const int port = socket.port();
  const std::string local_host = socket.local_host();
  const std::string where = socket.where();
  // The daemon closes the socket when it stops; on a failed start it may
  // have closed it already, so it is never closed here again.
  const int fd = socket.release();
  // clang-format off
  daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, access_handler, this,
      MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_THREAD_POOL_SIZE, options_.threads,
      MHD_OPTION_CONNECTION_TIMEOUT, options_.idle_timeout_seconds,
      MHD_OPTION_CONNECTION_LIMIT, options_.max_connections,
      // libmicrohttpd clears a connection's memory pool after each request:
      // its default 32 KiB made that memset a visible cost. The broker's
      // requests fit in well under 2 KiB; larger headers get a 431.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, std::size_t{16 * 1024},
      MHD_OPTION_URI_LOG_CALLBACK, &on_request_line, this,
      MHD_OPTION_NOTIFY_COMPLETED, &on_completed, this,
      MHD_OPTION_ARRAY, tls_options.data(),
      MHD_OPTION_END);
  // clang-format on
  if (!daemon_) {
    throw ListenError("cannot serve on " + where + ": " + std::strerror(errno));
  }
  port_ = port;
  probe_host_ = local_host;
}

bool HttpServer::answers(std::chrono::milliseconds timeout) const {
  {
    std::lock_guard lock(daemon_mutex_);
    if (!daemon_) return false;
  }
  if (options_.tls) return true;
  // The project's HTTP client, as the guardian and the web use it.
  httplib::Client client(probe_host_, port_);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Result answer = client.Get(probe_target_);
  return answer && answer->status == 200 && answer->body == "ok";
}

unsigned HttpServer::open_connections() const {
  // libmicrohttpd sums its thread pool's workers; the daemon is gone once
  // run() returns.
  std::lock_guard lock(daemon_mutex_);
  if (!daemon_) return 0;
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info ? info->num_connections : 0;
}

void HttpServer::run() {
  {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [&] { return stopping_; });
  }
  if (daemon_) {
    // Joins the event loops: the requests they are answering finish first;
    // then every connection, idle keep-alive ones included, is closed.
    MHD_Daemon* daemon = nullptr;
    {
      std::lock_guard lock(daemon_mutex_);
      std::swap(daemon, daemon_);
    }
    MHD_stop_daemon(daemon);
  }
}

void HttpServer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopped_.notify_all();
}

std::optional<ListenAddress> parse_listen_address(const std::string& text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  std::string_view p = std::string_view(text).substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return ListenAddress{host, port};
}

}  // namespace authsvc
