#include "authsvc/guardian/http_failure.h"

#include <httplib.h>

namespace authsvc {

std::string describe_http_failure(int error, std::string_view peer) {
  switch (static_cast<httplib::Error>(error)) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "timed out connecting";
    case httplib::Error::Read:
      return "no complete answer (connection closed or timed out)";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the system's CA certificates";
    case httplib::Error::SSLServerVerification:
      return std::string(peer) + "'s certificate does not verify";
    default:
      return "request failed (" + httplib::to_string(static_cast<httplib::Error>(error)) + ")";
  }
}

}  // namespace authsvc
