#include "authsvc/web/url_path.h"

#include <doctest/doctest.h>

#include "authsvc/core/form.h"

namespace authsvc {

using Segments = std::vector<std::string>;

TEST_CASE("path_segments splits at '/' and decodes each segment on its own") {
  CHECK(path_segments("/") == Segments{});
  CHECK(path_segments("/accounts") == Segments{"accounts"});
  CHECK(path_segments("/accounts/alice-app/rotate") == Segments{"accounts", "alice-app", "rotate"});
  CHECK(path_segments("/api/v1/queues/%2F/queue%2Falice%2Fjobs") ==
        Segments{"api", "v1", "queues", "/", "queue/alice/jobs"});
  CHECK(path_segments("/a%20b/%e2%82%AC+") == Segments{"a b", "\xe2\x82\xac+"});
  // What form_encoded writes comes back as it was.
  std::string vhost = "/ odd?#%vhost";
  CHECK(path_segments("/q/" + form_encoded(vhost)) == Segments{"q", vhost});
}

TEST_CASE("path_segments refuses what a router should not guess about") {
  for (std::string_view bad : {"", "accounts", "//accounts", "/accounts/", "/accounts//x", "/%",
                               "/%2", "/%zz", "/a%2", "/.", "/..", "/a/%2e%2e", "/%00", "/a%0a"}) {
    CAPTURE(bad);
    CHECK(path_segments(bad) == std::nullopt);
  }
}

}  // namespace authsvc
