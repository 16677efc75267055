#pragma once
// The web's files, compiled into the binary by cmake/embed.cmake (see
// authsvc/web/CMakeLists.txt), so that the pages cannot drift from the
// templates and static files they were built with.

#include <cstddef>

#include "authsvc/core/embedded_file.h"

namespace authsvc {

// authsvc/web/templates/*.mustache: a page each, the layout around them,
// and the partials they share (named with a leading '_').
extern const EmbeddedFile embedded_web_templates[];
extern const std::size_t embedded_web_templates_count;

// authsvc/web/static/*: what /static/ serves (find_static_file, pages.h).
extern const EmbeddedFile embedded_web_static[];
extern const std::size_t embedded_web_static_count;

// authsvc/web/api/openapi.json: the JSON API's description.
extern const EmbeddedFile embedded_web_api[];
extern const std::size_t embedded_web_api_count;

}  // namespace authsvc
