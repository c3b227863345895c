// The condition language of a policy's `conditions` (docs/approvals.md "Conditions"):
//
//   condition := clause ("and" clause)*
//   clause    := operand "exists" | operand op literal
//   operand   := "metrics." KEY | "params." KEY | "tags." KEY | "description"
//   op        := "<" | "<=" | "=" | "!=" | ">=" | ">"
//   literal   := number | 'single-quoted' | "double-quoted"      (\\ \" \' escape in strings)
//   KEY       := one or more of A-Z a-z 0-9 _ - . / :
//
// A metric compares with a number only. A param, a tag or the description compares with a string
// (byte order for < <= >= >) or with a number (the value read as a number; a value that is not a
// number fails the clause). A missing value fails every comparison, `!=` included; `exists` holds
// when the metric, param or tag is present, or when the description is not empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/policy/facts.h"
#include "vouch/util/status.h"

namespace vouch::policy {

enum class Field { kMetric, kParam, kTag, kDescription };
enum class CompareOp { kLess, kLessEqual, kEqual, kNotEqual, kGreaterEqual, kGreater, kExists };

struct Clause {
  Field field = Field::kMetric;
  std::string key;  // empty for the description
  CompareOp op = CompareOp::kExists;
  bool literal_is_number = false;
  double number = 0;  // when literal_is_number
  std::string text;   // when a string literal

  friend bool operator==(const Clause&, const Clause&) = default;
};

struct Condition {
  std::vector<Clause> clauses;  // all must hold

  friend bool operator==(const Condition&, const Condition&) = default;
};

// INVALID_ARGUMENT pointing at the offending token: "at column C: <what was expected>", then the
// text and a caret under the column on two more lines ("  metrics.auc >> 0.9\n              ^").
Result<Condition> ParseCondition(std::string_view text);

// The canonical text: single spaces, "and" between clauses, numbers as RFC 8785 writes them,
// strings double-quoted. ParseCondition(FormatCondition(c)) == c.
std::string FormatCondition(const Condition& condition);
std::string FormatClause(const Clause& clause);

struct ClauseResult {
  std::string text;  // FormatClause
  bool holds = false;
  std::optional<std::string> actual;  // the value compared (a number, or a quoted string); empty
                                      // when missing
};

struct ConditionResult {
  std::string text;  // FormatCondition
  bool holds = false;
  std::vector<ClauseResult> clauses;
};

ConditionResult EvaluateCondition(const Condition& condition, const VersionFacts& version);

}  // namespace vouch::policy
