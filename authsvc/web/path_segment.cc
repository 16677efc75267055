#include "authsvc/web/path_segment.h"

#include "authsvc/core/form.h"

namespace authsvc {

std::string path_segment(std::string_view value) {
  if (value == ".") return "%2E";
  if (value == "..") return "%2E%2E";
  return form_encoded(value);
}

}  // namespace authsvc
