#pragma once
// HTTPS for the listener: the PEM files `serve --tls-cert/--tls-key
// [--tls-client-ca]` names, read and checked once at start, and the check of
// a client's certificate.
//
// TLS is GnuTLS through libmicrohttpd (Debian 12's libmicrohttpd is built
// with it), not OpenSSL: the listener is libmicrohttpd for measured reasons
// (http_server.h), and a second TLS stack in front of it would be a second
// listener.
//
// With a client CA, a client must present a certificate that CA signed, for
// TLS client use (no extended key usage, or one that includes clientAuth).
// The handshake itself refuses any other client; the listener checks again
// before it answers a connection's first request, so a session that got past
// the handshake some other way (resumption) is still refused.

#include <string>
#include <vector>

#include "authsvc/core/error.h"

// GnuTLS's session type, so that this header does not pull in gnutls.h
// (its gnutls_session_t is a pointer to this).
struct gnutls_session_int;

namespace authsvc {

// Versions and ciphers offered: GnuTLS's NORMAL set (no known-weak cipher or
// hash), TLS 1.2 and 1.3 only. Erlang 25's httpc (RabbitMQ 3.10) offers both.
inline constexpr const char* kTlsPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

struct TlsFiles {
  std::string cert_path;       // the server's certificate chain, PEM, leaf first
  std::string key_path;        // its private key, PEM, unencrypted
  std::string client_ca_path;  // empty: clients are not asked for a certificate
};

// The files' content, in memory for libmicrohttpd. key_pem is a secret:
// nothing prints it, and no error message quotes it.
struct TlsCredentials {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;  // empty: no client certificates
  bool verify_clients() const { return !client_ca_pem.empty(); }
};

// A TLS file that cannot be used. what() is one line naming the option and
// the file, never the key's content.
class TlsError : public Error {
 public:
  using Error::Error;
};

// Reads the files and checks that the certificate parses and has not expired,
// that the key parses and belongs to it, and that the client CA file holds at
// least one certificate; throws TlsError if not. Appends to *warnings what
// is allowed but unwise: a key file that every user can read.
TlsCredentials load_tls_credentials(const TlsFiles& files, std::vector<std::string>* warnings);

// Why the peer of `session` is not a client we accept ("no client
// certificate", "client certificate not trusted: ..."), or an empty string
// if it presented a certificate the client CA signed, valid now, for TLS
// client use.
std::string client_certificate_problem(gnutls_session_int* session);

// Why a TLS connection closed before its first request, for its audit line:
// "TLS handshake refused: ..." (no or an untrusted client certificate),
// "TLS handshake failed ...", or a connection that simply closed.
std::string why_closed_without_request(gnutls_session_int* session, bool verify_clients);

// Makes `session`'s handshake fail unless the client presents such a
// certificate. Call before the handshake starts.
void require_client_certificate(gnutls_session_int* session);

}  // namespace authsvc
