// Searching models and versions: a filter of conditions joined by AND, an order, and offset paging
// with tamper-checked tokens. Front doors parse their own syntax (MLflow's filter grammar lives in
// api/mlflow) into these types; the service evaluates them, so every door filters the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vouch::service {

enum class SearchKey {
  kName,           // model name
  kTag,            // tags.<tag_key>: a model's tags in model search, a version's in version search
  kRunId,          // versions only
  kSourcePath,     // versions only: the version's source
  kVersionNumber,  // versions only, numeric
};

enum class Comparator { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn };

struct Condition {
  SearchKey key = SearchKey::kName;
  std::string tag_key;  // for kTag
  Comparator op = Comparator::kEq;
  std::vector<std::string> values;  // one value, or several for kIn and kNotIn
  int64_t number = 0;               // for kVersionNumber
};

enum class OrderField { kName, kCreationTime, kLastUpdatedTime, kVersionNumber };

struct OrderBy {
  OrderField field = OrderField::kName;
  bool ascending = true;
};

// The tag that marks a registered model (and its versions) as a prompt. Searches leave prompts out
// unless a condition names this tag; a missing tag reads as "false".
inline constexpr std::string_view kPromptTag = "mlflow.prompt.is_prompt";

struct SearchRequest {
  std::vector<Condition> filter;  // all must hold
  // Applied in order; ties then break on name ascending, then (versions) version descending.
  std::vector<OrderBy> order_by;
  int max_results = 100;
  std::string page_token;
};

// SQL LIKE: '%' any run, '_' one character; `case_insensitive` for ILIKE (ASCII folding, as
// MLflow's SQL stores do).
bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive);

}  // namespace vouch::service
