// Numbered schema migrations, embedded from migrations/<dialect>/NNNN_name.sql at build time.
#pragma once

#include <string_view>
#include <vector>

namespace vouch::store {

struct Migration {
  std::string_view dialect;  // "sqlite" or "postgres"
  int version;
  std::string_view name;
  std::string_view sql;
};

// All migrations, ordered by dialect then version.
const std::vector<Migration>& Migrations();

// The highest version this binary knows for `dialect`.
int LatestMigrationVersion(std::string_view dialect);

}  // namespace vouch::store
