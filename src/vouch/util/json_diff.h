// A small structural diff of two JSON documents: the paths where they differ, each with what was
// there before and after. What `policy.applied` records and `vouch policy diff` shows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vouch/util/json.h"

namespace vouch {

struct JsonChange {
  std::string path;                   // an RFC 6901 JSON Pointer; "" is the whole document
  std::optional<json::value> before;  // empty: the member or element did not exist before
  std::optional<json::value> after;   // empty: it does not exist after
};

// Objects are compared member by member (in key order), arrays element by element (an element
// beyond the shorter array is added or removed); anything else, or two values of different kinds,
// is one change at its path. Equal documents give no change. Ordered by path as visited.
std::vector<JsonChange> DiffJson(const json::value& before, const json::value& after);

// DiffJson as JSON: [{"path": P, "before": X, "after": Y}], `before` or `after` left out where
// the value did not exist.
json::array DiffJsonArray(const json::value& before, const json::value& after);

}  // namespace vouch
