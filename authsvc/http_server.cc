#include "authsvc/http_server.h"

#include <httplib.h>

#include <charconv>

namespace authsvc {
namespace {

HttpCall to_call(const httplib::Request& req, const std::string& peer) {
  std::string_view target = req.target;
  std::size_t question = target.find('?');
  HttpCall call;
  call.method = req.method;
  call.path = target.substr(0, question);
  call.query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  call.body = req.body;
  call.peer = peer;
  return call;
}

std::string peer_of(const httplib::Request& req) {
  return req.remote_addr + ":" + std::to_string(req.remote_port);
}

void answer(const HttpAnswer& a, httplib::Response* res) {
  res->status = a.status;
  res->set_content(a.body, "text/plain");
}

}  // namespace

HttpServer::HttpServer(const AuthService& service, HttpServerOptions options)
    : service_(service), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  int threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(std::numeric_limits<int>::max());
  s.set_keep_alive_timeout(options.keep_alive_seconds);
  s.set_read_timeout(options.read_timeout_seconds, 0);
  s.set_write_timeout(options.read_timeout_seconds, 0);
  s.set_payload_max_length(options.max_body_bytes);

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    std::string peer = peer_of(req);
    HttpCall call = to_call(req, peer);
    std::string content_type = req.get_header_value("Content-Type");
    call.content_type = content_type;
    answer(service_.handle(call), &res);
  };
  // One catch-all route a method: AuthService knows the paths, so that an
  // unknown path is answered and audited like any other refusal.
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Patch(".*", handler);
  s.Delete(".*", handler);
  s.Options(".*", handler);
  // Requests cpp-httplib refuses itself (too large, malformed, an unknown
  // method) reach no route: audit and answer them here. Our own 4xx answers
  // already carry a body.
  httplib::Server::HandlerWithResponse on_error = [this](const httplib::Request& req,
                                                         httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string peer = peer_of(req);
    HttpCall call = to_call(req, peer);
    answer(service_.refuse(call, res.status, "refused by the HTTP layer"), &res);
    return httplib::Server::HandlerResponse::Handled;
  };
  s.set_error_handler(std::move(on_error));
}

HttpServer::~HttpServer() = default;

bool HttpServer::bind(const std::string& host, int port, std::string* error) {
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    *error = "cannot listen on " + host + ":" + std::to_string(port);
    return false;
  }
  return true;
}

void HttpServer::run() { server_->listen_after_bind(); }

void HttpServer::stop() { server_->stop(); }

bool parse_listen_address(const std::string& text, std::string* host, int* port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  std::string_view p = std::string_view(text).substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 0 || value > 65535) return false;
  *host = h;
  *port = value;
  return true;
}

}  // namespace authsvc
