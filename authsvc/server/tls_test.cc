#include "authsvc/server/tls.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tests/test_support.h"

namespace authsvc {
namespace {

struct Loaded {
  bool ok = false;
  TlsCredentials credentials;
  std::string error;
  std::vector<std::string> warnings;
};

// Refusals are TlsError (an authsvc::Error); anything else thrown fails the
// test.
Loaded load(const TlsFiles& files) {
  Loaded l;
  try {
    l.credentials = load_tls_credentials(files, &l.warnings);
    l.ok = true;
  } catch (const TlsError& e) {
    l.error = e.what();
  }
  return l;
}

// No line of the key's base64 body may show up in a message.
void check_no_key_material(const std::string& message, const std::string& key_path) {
  for (const std::string& line : testing::lines_of(testing::read_file(key_path))) {
    if (line.rfind("-----", 0) == 0 || line.size() < 16) continue;
    CHECK(message.find(line) == std::string::npos);
  }
  CHECK(message.find("PRIVATE KEY") == std::string::npos);
}

}  // namespace

TEST_CASE("TLS files: a matching certificate, key and client CA load, without warning") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  Loaded l = load({pki.server_cert, pki.server_key, pki.ca_cert});
  REQUIRE_MESSAGE(l.ok, l.error);
  CHECK(l.warnings.empty());
  CHECK(l.credentials.verify_clients());
  CHECK(l.credentials.cert_pem == testing::read_file(pki.server_cert));
  CHECK(l.credentials.client_ca_pem == testing::read_file(pki.ca_cert));

  Loaded without_ca = load({pki.server_cert, pki.server_key, ""});
  REQUIRE(without_ca.ok);
  CHECK_FALSE(without_ca.credentials.verify_clients());
}

TEST_CASE("TLS files: a world-readable key loads with a warning naming the file, not the key") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  std::filesystem::permissions(pki.server_key, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  Loaded l = load({pki.server_cert, pki.server_key, ""});
  REQUIRE(l.ok);
  REQUIRE(l.warnings.size() == 1);
  CHECK(l.warnings[0].find("--tls-key " + pki.server_key + " is readable by every user") !=
        std::string::npos);
  check_no_key_material(l.warnings[0], pki.server_key);
}

TEST_CASE("TLS files: each unusable file is refused with one line naming the option and file") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  std::string garbage = dir.file("garbage.pem");
  testing::write_file(garbage, "not a certificate\n");
  std::string missing = dir.file("missing.pem");
  struct Case {
    TlsFiles files;
    std::string expected;
  };
  const Case cases[] = {
      {{missing, pki.server_key, ""}, "--tls-cert " + missing + ": No such file or directory"},
      {{garbage, pki.server_key, ""}, "--tls-cert " + garbage + ": not a PEM certificate"},
      {{pki.server_key, pki.server_key, ""}, "--tls-cert " + pki.server_key + ": not a PEM"},
      {{pki.server_cert, missing, ""}, "--tls-key " + missing + ": No such file or directory"},
      {{pki.server_cert, garbage, ""}, "--tls-key " + garbage + ": not an unencrypted PEM"},
      {{pki.server_cert, pki.client_key, ""},
       "--tls-key " + pki.client_key + " does not belong to --tls-cert " + pki.server_cert},
      {{pki.server_cert, pki.server_key, missing},
       "--tls-client-ca " + missing + ": No such file or directory"},
      {{pki.server_cert, pki.server_key, garbage},
       "--tls-client-ca " + garbage + ": not a PEM certificate"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.expected);
    Loaded l = load(c.files);
    CHECK_FALSE(l.ok);
    CHECK(l.error.rfind(c.expected, 0) == 0);
    CHECK(l.error.find('\n') == std::string::npos);
    check_no_key_material(l.error, pki.server_key);
    check_no_key_material(l.error, pki.client_key);
  }
}

}  // namespace authsvc
