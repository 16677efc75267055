// libFuzzer target: audit-line string escaping on arbitrary bytes must give
// exactly what nlohmann::json writes with invalid UTF-8 replaced.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "authsvc/core/json_line.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string value(reinterpret_cast<const char*>(data), size);
  std::string ours;
  authsvc::append_json_string(value, &ours);
  std::string reference =
      nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (ours != reference) std::abort();
  return 0;
}
