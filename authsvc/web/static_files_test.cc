#include <doctest/doctest.h>

#include "authsvc/web/pages.h"

namespace authsvc {

TEST_CASE("find_static_file gives the style sheet, the script and the icon, and nothing else") {
  const StaticFile* style = find_static_file("style.css");
  REQUIRE(style != nullptr);
  CHECK(style->name == "style.css");
  CHECK(style->content_type == "text/css; charset=utf-8");
  CHECK(style->content.find(".button-primary") != std::string_view::npos);

  const StaticFile* script = find_static_file("app.js");
  REQUIRE(script != nullptr);
  CHECK(script->content_type == "text/javascript; charset=utf-8");
  CHECK(script->content.find("getElementById(\"token\")") != std::string_view::npos);

  const StaticFile* icon = find_static_file("favicon.svg");
  REQUIRE(icon != nullptr);
  CHECK(icon->content_type == "image/svg+xml");

  CHECK(find_static_file("style.css") == style);  // the same entry each time
  for (std::string_view bad :
       {"../x", "style.css/", "", "/style.css", "./style.css", "static/style.css", "STYLE.CSS",
        "style.css ", "favicon.ico", "../static/app.js"}) {
    CAPTURE(bad);
    CHECK(find_static_file(bad) == nullptr);
  }
  CHECK(find_static_file(std::string_view("app.js\0", 7)) == nullptr);
}

}  // namespace authsvc
