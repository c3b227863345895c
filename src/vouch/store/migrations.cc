#include "vouch/store/migrations.h"

#include <algorithm>

namespace vouch::store {

int LatestMigrationVersion(std::string_view dialect) {
  int latest = 0;
  for (const auto& m : Migrations()) {
    if (m.dialect == dialect) latest = std::max(latest, m.version);
  }
  return latest;
}

}  // namespace vouch::store
