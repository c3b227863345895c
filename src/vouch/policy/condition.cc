#include "vouch/policy/condition.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "vouch/util/json.h"

namespace vouch::policy {

namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ':';
}
bool IsWordChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// A whole string read as a finite number, or nothing.
std::optional<double> ReadNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Condition> Parse() {
    Condition condition;
    SkipSpaces();
    if (pos_ == text_.size()) return Error("the condition is empty");
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(Clause clause, ParseClause());
      condition.clauses.push_back(std::move(clause));
      SkipSpaces();
      if (pos_ == text_.size()) return condition;
      size_t start = pos_;
      std::string_view word = Word();
      if (word != "and") {
        pos_ = start;
        return Error("expected 'and' or the end of the condition");
      }
      SkipSpaces();
    }
  }

 private:
  Result<Clause> ParseClause() {
    Clause clause;
    size_t start = pos_;
    std::string_view word = Word();
    if (word == "description") {
      clause.field = Field::kDescription;
    } else if ((word == "metrics" || word == "params" || word == "tags") && Peek() == '.') {
      clause.field = word == "metrics"  ? Field::kMetric
                     : word == "params" ? Field::kParam
                                        : Field::kTag;
      ++pos_;
      size_t key_start = pos_;
      while (pos_ < text_.size() && IsKeyChar(text_[pos_])) ++pos_;
      if (pos_ == key_start) return Error(fmt::format("expected a name after '{}.'", word));
      clause.key = std::string(text_.substr(key_start, pos_ - key_start));
    } else {
      pos_ = start;
      return Error("expected metrics.NAME, params.NAME, tags.NAME or description");
    }
    SkipSpaces();
    size_t op_start = pos_;
    if (IsWordChar(Peek())) {
      if (Word() == "exists") {
        clause.op = CompareOp::kExists;
        return clause;
      }
      pos_ = op_start;
      return Error("expected a comparison (< <= = != >= >) or exists");
    }
    VOUCH_ASSIGN_OR_RETURN(clause.op, ParseOp());
    SkipSpaces();
    size_t literal_start = pos_;
    char c = Peek();
    if (c == '"' || c == '\'') {
      VOUCH_ASSIGN_OR_RETURN(clause.text, ParseString());
      if (clause.field == Field::kMetric) {
        pos_ = literal_start;
        return Error(fmt::format("metrics.{} compares with a number, not a string", clause.key));
      }
      return clause;
    }
    while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != '\t') ++pos_;
    std::optional<double> number = ReadNumber(text_.substr(literal_start, pos_ - literal_start));
    if (!number) {
      pos_ = literal_start;
      return Error("expected a number or a quoted string");
    }
    clause.literal_is_number = true;
    clause.number = *number == 0 ? 0.0 : *number;  // -0 reads as 0, as its canonical text does
    return clause;
  }

  Result<CompareOp> ParseOp() {
    auto two = text_.substr(pos_, 2);
    if (two == "<=") return pos_ += 2, CompareOp::kLessEqual;
    if (two == ">=") return pos_ += 2, CompareOp::kGreaterEqual;
    if (two == "!=") return pos_ += 2, CompareOp::kNotEqual;
    if (two == "==") return Error("'==' is not an operator: write '=' to compare");
    if (two == "=<" || two == "=>" || two == "<>" || two == "><" || two == "<<" || two == ">>") {
      return Error("expected a comparison (< <= = != >= >) or exists");
    }
    char c = Peek();
    if (c == '<') return ++pos_, CompareOp::kLess;
    if (c == '>') return ++pos_, CompareOp::kGreater;
    if (c == '=') return ++pos_, CompareOp::kEqual;
    return Error("expected a comparison (< <= = != >= >) or exists");
  }

  Result<std::string> ParseString() {
    size_t start = pos_;
    char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == quote) return out;
      if (c == '\\') {
        if (pos_ == text_.size()) break;
        char e = text_[pos_++];
        if (e != '\\' && e != '"' && e != '\'') {
          pos_ -= 2;
          return Error("only \\\\, \\\" and \\' escape in a string");
        }
        out += e;
        continue;
      }
      out += c;
    }
    pos_ = start;
    return Error("the string is not closed");
  }

  std::string_view Word() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsWordChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void SkipSpaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  Status Error(std::string_view what) const {
    return InvalidArgument(fmt::format("at column {}: {}\n  {}\n  {}^", pos_ + 1, what, text_,
                                       std::string(pos_, ' ')));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string_view OpText(CompareOp op) {
  switch (op) {
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kEqual:
      return "=";
    case CompareOp::kNotEqual:
      return "!=";
    case CompareOp::kGreaterEqual:
      return ">=";
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kExists:
      return "exists";
  }
  return "?";
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

template <typename T>
bool Compare(CompareOp op, const T& a, const T& b) {
  switch (op) {
    case CompareOp::kLess:
      return a < b;
    case CompareOp::kLessEqual:
      return a <= b;
    case CompareOp::kEqual:
      return a == b;
    case CompareOp::kNotEqual:
      return a != b;
    case CompareOp::kGreaterEqual:
      return a >= b;
    case CompareOp::kGreater:
      return a > b;
    case CompareOp::kExists:
      return true;
  }
  return false;
}

std::string NumberText(double d) { return std::isfinite(d) ? CanonicalNumber(d) : "NaN"; }

ClauseResult EvaluateClause(const Clause& clause, const VersionFacts& version) {
  ClauseResult r;
  r.text = FormatClause(clause);
  if (clause.field == Field::kMetric) {
    auto it = version.metrics.find(clause.key);
    if (it == version.metrics.end()) return r;
    r.actual = NumberText(it->second);
    // NaN compares false with everything, which is what a gate wants of it.
    r.holds = clause.op == CompareOp::kExists || Compare(clause.op, it->second, clause.number);
    return r;
  }
  const std::string* value = nullptr;
  if (clause.field == Field::kDescription) {
    if (!version.description.empty()) value = &version.description;
  } else {
    const StringMap& map = clause.field == Field::kParam ? version.params : version.tags;
    auto it = map.find(clause.key);
    if (it != map.end()) value = &it->second;
  }
  if (value == nullptr) return r;
  r.actual = Quote(*value);
  if (clause.op == CompareOp::kExists) {
    r.holds = true;
  } else if (clause.literal_is_number) {
    std::optional<double> n = ReadNumber(*value);
    r.holds = n && Compare(clause.op, *n, clause.number);
  } else {
    r.holds = Compare(clause.op, std::string_view(*value), std::string_view(clause.text));
  }
  return r;
}

}  // namespace

Result<Condition> ParseCondition(std::string_view text) { return Parser(text).Parse(); }

std::string FormatClause(const Clause& clause) {
  std::string out;
  switch (clause.field) {
    case Field::kMetric:
      out = "metrics." + clause.key;
      break;
    case Field::kParam:
      out = "params." + clause.key;
      break;
    case Field::kTag:
      out = "tags." + clause.key;
      break;
    case Field::kDescription:
      out = "description";
      break;
  }
  out += ' ';
  out += OpText(clause.op);
  if (clause.op != CompareOp::kExists) {
    out += ' ';
    out += clause.literal_is_number ? NumberText(clause.number) : Quote(clause.text);
  }
  return out;
}

std::string FormatCondition(const Condition& condition) {
  std::string out;
  for (const Clause& clause : condition.clauses) {
    if (!out.empty()) out += " and ";
    out += FormatClause(clause);
  }
  return out;
}

ConditionResult EvaluateCondition(const Condition& condition, const VersionFacts& version) {
  ConditionResult r;
  r.text = FormatCondition(condition);
  r.holds = true;
  for (const Clause& clause : condition.clauses) {
    r.clauses.push_back(EvaluateClause(clause, version));
    r.holds = r.holds && r.clauses.back().holds;
  }
  return r;
}

}  // namespace vouch::policy
