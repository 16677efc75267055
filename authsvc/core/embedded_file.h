#pragma once
// Files compiled into the binary by cmake/embed.cmake.

#include <cstddef>
#include <string_view>

namespace authsvc {

struct EmbeddedFile {
  std::string_view name;  // base name, e.g. "001_users.sql"
  std::string_view content;
};

// schema/*.sql in name order: the migrations the store applies at open.
extern const EmbeddedFile embedded_migrations[];
extern const std::size_t embedded_migrations_count;
// schema/postgresql/*.sql in name order: the same migrations, for a store in
// PostgreSQL (same numbers and names).
extern const EmbeddedFile embedded_pg_migrations[];
extern const std::size_t embedded_pg_migrations_count;

// rules/pulse.rules: the policy used when no rules file is given.
extern const EmbeddedFile embedded_rules[];
extern const std::size_t embedded_rules_count;

}  // namespace authsvc
