#include "authsvc/server/tls.h"

#include <fmt/format.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>

namespace authsvc {

namespace {

// The purpose a client certificate must allow. GnuTLS keeps a pointer to it
// for the session's lifetime, hence static.
gnutls_typed_vdata_st* client_purpose() {
  static gnutls_typed_vdata_st data{
      GNUTLS_DT_KEY_PURPOSE_OID,
      reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT)), 0};
  return &data;
}

bool read_whole(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = std::strerror(errno);
    return false;
  }
  return true;
}

gnutls_datum_t datum_of(const std::string& text) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
                        static_cast<unsigned>(text.size())};
}

// The certificates in a PEM text; 0 (with *why) if it holds none or one
// does not parse.
unsigned count_certificates(const std::string& pem, std::time_t* first_expiry, std::string* why) {
  gnutls_x509_crt_t* list = nullptr;
  unsigned count = 0;
  gnutls_datum_t data = datum_of(pem);
  int rc = gnutls_x509_crt_list_import2(&list, &count, &data, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0) {
    *why = gnutls_strerror(rc);
    return 0;
  }
  if (count > 0 && first_expiry) *first_expiry = gnutls_x509_crt_get_expiration_time(list[0]);
  for (unsigned i = 0; i < count; ++i) gnutls_x509_crt_deinit(list[i]);
  gnutls_free(list);
  if (count == 0) *why = "no PEM certificate in it";
  return count;
}

std::string untrusted(unsigned status) {
  std::string reason = "client certificate not trusted";
  gnutls_datum_t text{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
    reason += ": ";
    reason.append(reinterpret_cast<const char*>(text.data), text.size);
    gnutls_free(text.data);
    while (!reason.empty() && reason.back() == ' ') reason.pop_back();
  }
  return reason;
}

}  // namespace

TlsCredentials load_tls_credentials(const TlsFiles& files, std::vector<std::string>* warnings) {
  TlsCredentials loaded;
  std::string why;
  if (!read_whole(files.cert_path, &loaded.cert_pem, &why)) {
    throw TlsError(fmt::format("--tls-cert {}: {}", files.cert_path, why));
  }
  std::time_t expiry = 0;
  if (count_certificates(loaded.cert_pem, &expiry, &why) == 0) {
    throw TlsError(fmt::format("--tls-cert {}: not a PEM certificate ({})", files.cert_path, why));
  }
  if (expiry != static_cast<std::time_t>(-1) && expiry < std::time(nullptr)) {
    throw TlsError(fmt::format("--tls-cert {}: the certificate has expired", files.cert_path));
  }

  struct stat key_stat {};
  if (stat(files.key_path.c_str(), &key_stat) == 0 && (key_stat.st_mode & S_IROTH)) {
    warnings->push_back(
        fmt::format("--tls-key {} is readable by every user (mode {:o}); chmod o-r it",
                    files.key_path, key_stat.st_mode & 07777));
  }
  if (!read_whole(files.key_path, &loaded.key_pem, &why)) {
    throw TlsError(fmt::format("--tls-key {}: {}", files.key_path, why));
  }
  {
    // GnuTLS's messages name the problem, never the key's bytes.
    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_privkey_init(&key);
    gnutls_datum_t data = datum_of(loaded.key_pem);
    int rc = gnutls_x509_privkey_import2(key, &data, GNUTLS_X509_FMT_PEM, nullptr, 0);
    gnutls_x509_privkey_deinit(key);
    if (rc < 0) {
      throw TlsError(fmt::format("--tls-key {}: not an unencrypted PEM private key ({})",
                                 files.key_path, gnutls_strerror(rc)));
    }
  }
  {
    gnutls_certificate_credentials_t credentials = nullptr;
    gnutls_certificate_allocate_credentials(&credentials);
    gnutls_datum_t cert = datum_of(loaded.cert_pem);
    gnutls_datum_t key = datum_of(loaded.key_pem);
    int rc = gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM,
                                                  nullptr, 0);
    gnutls_certificate_free_credentials(credentials);
    if (rc < 0) {
      throw TlsError(rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
                         ? fmt::format("--tls-key {} does not belong to --tls-cert {}",
                                       files.key_path, files.cert_path)
                         : fmt::format("--tls-cert {} with --tls-key {}: {}", files.cert_path,
                                       files.key_path, gnutls_strerror(rc)));
    }
  }

  if (!files.client_ca_path.empty()) {
    if (!read_whole(files.client_ca_path, &loaded.client_ca_pem, &why)) {
      throw TlsError(fmt::format("--tls-client-ca {}: {}", files.client_ca_path, why));
    }
    if (count_certificates(loaded.client_ca_pem, nullptr, &why) == 0) {
      throw TlsError(
          fmt::format("--tls-client-ca {}: not a PEM certificate ({})", files.client_ca_path, why));
    }
  }
  return loaded;
}

std::string client_certificate_problem(gnutls_session_t session) {
  unsigned count = 0;
  if (gnutls_certificate_get_peers(session, &count) == nullptr || count == 0) {
    return "no client certificate";
  }
  unsigned status = 0;
  int rc = gnutls_certificate_verify_peers(session, client_purpose(), 1, &status);
  if (rc < 0) return fmt::format("client certificate not verified: {}", gnutls_strerror(rc));
  return status == 0 ? std::string() : untrusted(status);
}

std::string why_closed_without_request(gnutls_session_t session, bool verify_clients) {
  if (!session) return "TLS connection closed before any request";
  if (char* description = gnutls_session_get_desc(session)) {
    gnutls_free(description);
    return "TLS connection closed before any request";
  }
  // The handshake's own check (require_client_certificate) leaves its status.
  unsigned status = gnutls_session_get_verify_cert_status(session);
  if (status != static_cast<unsigned>(-1) && status != 0) {
    return "TLS handshake refused: " + untrusted(status);
  }
  // GnuTLS keeps no trace of an empty certificate message or of bytes that
  // were not TLS at all, so the possible causes are named together.
  return verify_clients ? "TLS handshake failed or never completed (no client certificate, "
                          "not a TLS client, or no common TLS version)"
                        : "TLS handshake failed or never completed (not a TLS client, or no "
                          "common TLS version)";
}

void require_client_certificate(gnutls_session_t session) {
  gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_verify_cert2(session, client_purpose(), 1, 0);
}

}  // namespace authsvc
