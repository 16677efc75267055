// The HTTPS listener on an ephemeral port, with certificates made for each
// test: what a broker with the right client certificate gets, and what
// everyone else gets (nothing, and an audit line).
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/in_process_server.h"
#include "tests/test_support.h"

namespace authsvc {
namespace {

constexpr const char* kLogin = "username=alice&password=alice-token";
constexpr const char* kForm = "application/x-www-form-urlencoded";

// HTTPS with the test PKI's server certificate, and its CA for client
// certificates if `client_ca`.
HttpServerOptions tls_options(const testing::TestPki& pki, bool client_ca) {
  // A refused client's OpenSSL writes to a socket the server reset; that
  // must fail the request, not kill the test runner.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> warnings;
  HttpServerOptions options;
  options.tls = std::make_shared<TlsCredentials>(load_tls_credentials(
      {pki.server_cert, pki.server_key, client_ca ? pki.ca_cert : std::string()}, &warnings));
  return options;
}

struct HttpsServer {
  testing::TempDir pki_dir;
  testing::TestPki pki{pki_dir};
  testing::InProcessServer server;

  explicit HttpsServer(bool client_ca)
      : server({testing::test_user("alice", "alice-token")}, tls_options(pki, client_ca)) {}

  // A client that checks authsvc's certificate against the test CA (and its
  // address against the certificate) and presents `cert` if not empty.
  std::unique_ptr<httplib::SSLClient> client(const std::string& cert = "",
                                             const std::string& key = "") {
    auto c = cert.empty()
                 ? std::make_unique<httplib::SSLClient>("127.0.0.1", server.port())
                 : std::make_unique<httplib::SSLClient>("127.0.0.1", server.port(), cert, key);
    c->set_ca_cert_path(pki.ca_cert.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(testing::scaled(std::chrono::seconds(5)));
    c->set_read_timeout(testing::scaled(std::chrono::seconds(5)));
    c->set_keep_alive(true);
    return c;
  }

  // The audit lines, once at least `count` were written: the line of a
  // refused handshake is written when the server closes the connection,
  // which the client may see first.
  std::vector<nlohmann::json> audit_lines(std::size_t count) {
    std::vector<nlohmann::json> out;
    auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(5));
    do {
      out = testing::parse_json_lines<nlohmann::json>(server.audit_lines());
      if (out.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }
};

}  // namespace

TEST_CASE("TLS: a client with a certificate the client CA signed is answered, many times" *
          doctest::test_suite("threaded")) {
  HttpsServer s(/*client_ca=*/true);
  auto c = s.client(s.pki.client_cert, s.pki.client_key);
  for (int i = 0; i < 10; ++i) {
    auto r = c->Post("/auth/user", kLogin, kForm);
    REQUIRE_MESSAGE(r, httplib::to_string(r.error()));
    CHECK(r->status == 200);
    CHECK(r->body == "allow");
  }
  auto denied = c->Post("/auth/user", "username=alice&password=wrong", kForm);
  REQUIRE(denied);
  CHECK(denied->body == "deny");
  auto get = c->Get("/auth/vhost?username=alice&vhost=%2F&ip=%3A%3Affff%3A127.0.0.1&tags=");
  REQUIRE(get);
  CHECK(get->body == "allow");

  std::vector<nlohmann::json> lines = s.audit_lines(12);
  CHECK(lines.size() == 12);
  std::set<std::string> peers;
  for (const nlohmann::json& line : lines) {
    CHECK(line["rule"] != "tls");
    peers.insert(line["peer"].get<std::string>());
  }
  CHECK(peers.size() == 1);  // one keep-alive TLS connection
}

TEST_CASE("TLS: without a client certificate, or with one from another CA, no answer, audited" *
          doctest::test_suite("threaded")) {
  HttpsServer s(/*client_ca=*/true);
  auto none = s.client()->Post("/auth/user", kLogin, kForm);
  CHECK_FALSE(none);
  auto foreign =
      s.client(s.pki.other_client_cert, s.pki.other_client_key)->Post("/auth/user", kLogin, kForm);
  CHECK_FALSE(foreign);

  std::vector<nlohmann::json> lines = s.audit_lines(2);
  REQUIRE(lines.size() == 2);
  for (const nlohmann::json& line : lines) {
    CHECK(line["rule"] == "tls");
    CHECK(line["decision"] == "deny");
    CHECK(line["user"] == "");  // the request was never read
  }
  CHECK(lines[0]["reason"].get<std::string>().find("no client certificate") != std::string::npos);
  CHECK(lines[1]["reason"] ==
        "TLS handshake refused: client certificate not trusted: The certificate is NOT trusted. "
        "The certificate issuer is unknown.");

  // The right client still gets through afterwards.
  auto right = s.client(s.pki.client_cert, s.pki.client_key)->Post("/auth/user", kLogin, kForm);
  REQUIRE(right);
  CHECK(right->body == "allow");
}

TEST_CASE("TLS: a plain HTTP client gets no answer from the HTTPS port, audited" *
          doctest::test_suite("threaded")) {
  HttpsServer s(/*client_ca=*/false);
  httplib::Client plain("127.0.0.1", s.server.port());
  plain.set_read_timeout(testing::scaled(std::chrono::seconds(10)));
  auto start = std::chrono::steady_clock::now();
  auto r = plain.Post("/auth/user", kLogin, kForm);
  CHECK_FALSE(r);
  // Closed by the server, not given up on by the client.
  CHECK(std::chrono::steady_clock::now() - start < testing::scaled(std::chrono::seconds(5)));
  std::vector<nlohmann::json> lines = s.audit_lines(1);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["rule"] == "tls");
  CHECK(lines[0]["reason"].get<std::string>().find("TLS handshake failed") != std::string::npos);
}

TEST_CASE("TLS: without --tls-client-ca any TLS client is answered, with or without certificate" *
          doctest::test_suite("threaded")) {
  HttpsServer s(/*client_ca=*/false);
  auto anonymous = s.client()->Post("/auth/user", kLogin, kForm);
  REQUIRE_MESSAGE(anonymous, httplib::to_string(anonymous.error()));
  CHECK(anonymous->body == "allow");
  auto foreign =
      s.client(s.pki.other_client_cert, s.pki.other_client_key)->Post("/auth/user", kLogin, kForm);
  REQUIRE(foreign);
  CHECK(foreign->body == "allow");
}

TEST_CASE("TLS: serve refuses to start on a missing or invalid TLS file, with one line") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  std::string db = dir.file("a.db");
  std::vector<std::string> base{"serve", "--db", db, "--listen", "127.0.0.1:0"};
  auto serve_with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_authsvc(args);
  };
  testing::CommandResult missing = serve_with({"--tls-cert", dir.file("nope.pem"), "--tls-key",
                                               pki.server_key, "--tls-client-ca", pki.ca_cert});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err ==
        "authsvc: --tls-cert " + dir.file("nope.pem") + ": No such file or directory\n");
  testing::CommandResult mismatch =
      serve_with({"--tls-cert", pki.server_cert, "--tls-key", pki.client_key});
  CHECK(mismatch.exit_code == 1);
  CHECK(mismatch.err == "authsvc: --tls-key " + pki.client_key + " does not belong to --tls-cert " +
                            pki.server_cert + "\n");
  testing::CommandResult bad_ca = serve_with(
      {"--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--tls-client-ca", db});
  CHECK(bad_ca.exit_code == 1);
  CHECK(testing::lines_of(bad_ca.err).size() == 1);
  // A key without its certificate, or a client CA without either, is a usage error.
  CHECK(serve_with({"--tls-key", pki.server_key}).exit_code == 2);
  CHECK(serve_with({"--tls-client-ca", pki.ca_cert}).exit_code == 2);
}

TEST_CASE("TLS: serve over HTTPS says so when it starts" * doctest::test_suite("threaded")) {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  REQUIRE(testing::run_authsvc({"init", "--db", dir.file("a.db")}).exit_code == 0);
  testing::ServeProcess serve({"--db", dir.file("a.db"), "--tls-cert", pki.server_cert, "--tls-key",
                               pki.server_key, "--tls-client-ca", pki.ca_cert},
                              dir);
  CHECK(serve.stderr_text().find("(https, client certificates from " + pki.ca_cert + ";") !=
        std::string::npos);
  CHECK(serve.stop() == 0);
}

}  // namespace authsvc
