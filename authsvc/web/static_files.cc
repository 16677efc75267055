#include <vector>

#include "authsvc/web/embedded_web_files.h"
#include "authsvc/web/pages.h"

namespace authsvc {
namespace {

// The charset is said because the files are UTF-8 and a browser guessing
// otherwise would garble them.
std::string_view content_type_for(std::string_view name) {
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::vector<StaticFile> make_static_files() {
  std::vector<StaticFile> files;
  for (std::size_t i = 0; i < embedded_web_static_count; ++i) {
    const EmbeddedFile& file = embedded_web_static[i];
    files.push_back({file.name, content_type_for(file.name), file.content});
  }
  return files;
}

}  // namespace

const StaticFile* find_static_file(std::string_view name) {
  // Only the embedded files' exact names match: no path is ever built from
  // `name`, so "../x" or "style.css/" find nothing.
  static const std::vector<StaticFile> files = make_static_files();
  for (const StaticFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

}  // namespace authsvc
