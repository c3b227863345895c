// MLflow's registry search syntax: the `filter` string and the `order_by` clauses of
// registered-models/search and model-versions/search, parsed into the service's search types.
//
// The grammar, as MLflow's server accepts it (mlflow/utils/search_utils.py, SearchModelUtils and
// SearchModelVersionUtils, and the SQL store's checks):
//
//   filter     := [clause] { AND [clause] }         AND in any case; no OR, no parentheses
//   clause     := identifier comparator value
//               | identifier [NOT] IN '(' string { ',' string } [','] ')'
//   identifier := key | ("attribute" | "tag" | "tags") '.' key
//                 key: a word, or quoted in backticks or double quotes (tags.`my key`)
//   comparator := '=' | '!=' | '<' | '<=' | '>' | '>=' | LIKE | ILIKE (any case)
//   value      := 'single-quoted' | "double-quoted" | number
//
// Models take `name` and tags; versions take `name`, `run_id`, `source_path`, `version_number`
// (numeric) and tags. Errors are INVALID_ARGUMENT worded as MLflow words them, naming the bad
// token. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vouch/service/search.h"
#include "vouch/util/status.h"

namespace vouch::api::mlflow {

enum class SearchEntity { kModels, kVersions };

// The conditions of `filter`, all of which must hold; empty for an empty filter.
Result<std::vector<service::Condition>> ParseSearchFilter(std::string_view filter,
                                                          SearchEntity entity);

// One order_by clause each: `key [ASC|DESC]`, keys name, creation_timestamp, last_updated_timestamp
// (and `timestamp`, MLflow's alias of last_updated_timestamp, for models), version_number
// (versions). A key given twice is refused.
Result<std::vector<service::OrderBy>> ParseOrderBy(const std::vector<std::string>& clauses,
                                                   SearchEntity entity);

// `s` as Python's repr() writes a str, which MLflow's messages embed: 'abc', or "it's".
std::string PythonRepr(std::string_view s);

}  // namespace vouch::api::mlflow
