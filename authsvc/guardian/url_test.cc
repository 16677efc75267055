#include "authsvc/guardian/url.h"

#include <doctest/doctest.h>

namespace authsvc {

TEST_SUITE("url") {
  TEST_CASE("redact_url hides whatever stands before the host's '@'") {
    CHECK(redact_url("http://guardian:s3cret@h:15672/p") == "http://***@h:15672/p");
    CHECK(redact_url("smtp://;auth=PLAIN@h") == "smtp://***@h");
    CHECK(redact_url("guardian:s3cret@h:15672") == "***@h:15672");
    // A password typed with a raw '/', '?', '#' or '@' in it.
    CHECK(redact_url("http://u:a/b?c#d@e@h") == "http://***@h");
    CHECK(redact_url("http://h:15672/rabbit") == "http://h:15672/rabbit");
    CHECK(redact_url("") == "");
  }
}

}  // namespace authsvc
