#include "vouch/api/mlflow/search_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "vouch/api/mlflow/request_fields.h"

namespace vouch::api::mlflow {
namespace {

using service::Comparator;
using service::Condition;
using service::OrderBy;
using service::OrderField;
using service::SearchKey;

// ---------------------------------------------------------------------------------------------
// Tokens

enum class Tok {
  kWord,      // an identifier, possibly dotted and with quoted parts: name, tags.`a b`, `x`
  kKeyword,   // AND OR NOT IN LIKE ILIKE IS NULL ASC DESC (upper-cased in `text`)
  kString,    // 'single-quoted'
  kDqString,  // "double-quoted"
  kNumber,    // 12, -3, 1.5, 2e3
  kOperator,  // = == != <> < <= > >=
  kGroup,     // a parenthesised group, `raw` is the whole of it
  kOther,     // any other character: , ; % …
};

struct Token {
  Tok type;
  std::string raw;   // the text as written
  std::string text;  // the value: a string's inside, a keyword in upper case, else raw
  bool is_integer = false;
};

bool IsWordStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsWordChar(char c) {
  return IsWordStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::string_view kKeywords[] = {"AND",   "OR", "NOT",  "IN",  "LIKE",
                                          "ILIKE", "IS", "NULL", "ASC", "DESC"};

// Where the quoted run starting at `i` (on the quote) ends, one past the closing quote; npos when
// it is not closed. A doubled quote, or (except in backticks) a backslash, escapes the quote, as
// in sqlparse's lexer.
size_t QuotedEnd(std::string_view s, size_t i) {
  char q = s[i];
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] == '\\' && q != '`' && j + 1 < s.size()) {
      ++j;
    } else if (s[j] == q) {
      if (j + 1 < s.size() && s[j + 1] == q) {
        ++j;
      } else {
        return j + 1;
      }
    }
  }
  return std::string_view::npos;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Every token. An unclosed quote or parenthesis becomes one kOther token holding the rest of
  // the text.
  std::vector<Token> All() {
    std::vector<Token> out;
    while (true) {
      while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) break;
      out.push_back(Next());
    }
    return out;
  }

  // The inside of a group, as tokens.
  static std::vector<Token> Inside(const Token& group) {
    return Lexer(std::string_view(group.raw).substr(1, group.raw.size() - 2)).All();
  }

 private:
  Token Rest() {
    Token t{Tok::kOther, std::string(s_.substr(pos_)), std::string(s_.substr(pos_))};
    pos_ = s_.size();
    return t;
  }

  Token Next() {
    size_t start = pos_;
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      size_t end = QuotedEnd(s_, pos_);
      if (end == std::string_view::npos) return Rest();
      pos_ = end;
      std::string raw(s_.substr(start, end - start));
      return {c == '\'' ? Tok::kString : Tok::kDqString, raw, raw.substr(1, raw.size() - 2)};
    }
    if (StartsNumber()) return Number();
    if (IsWordStart(c) || c == '`') return Word();
    if (c == '(') return Group();
    static constexpr std::string_view kOps[] = {"==", "!=", "<>", "<=", ">=", "=", "<", ">"};
    for (std::string_view op : kOps) {
      if (s_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return {Tok::kOperator, std::string(op), std::string(op)};
      }
    }
    ++pos_;
    return {Tok::kOther, std::string(1, c), std::string(1, c)};
  }

  // A digit, or a sign or a point before one: 7, -7, .5, -.5.
  bool StartsNumber() const {
    auto digit_at = [&](size_t i) { return i < s_.size() && IsDigit(s_[i]); };
    size_t i = pos_;
    if (s_[i] == '-' || s_[i] == '+') ++i;
    if (i < s_.size() && s_[i] == '.') ++i;
    return digit_at(i);
  }

  Token Number() {
    size_t start = pos_;
    if (s_[pos_] == '-' || s_[pos_] == '+') ++pos_;
    bool integer = true;
    while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integer = false;
      ++pos_;
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t e = pos_ + 1;
      if (e < s_.size() && (s_[e] == '-' || s_[e] == '+')) ++e;
      if (e < s_.size() && IsDigit(s_[e])) {
        integer = false;
        pos_ = e;
        while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
      }
    }
    // "1abc" is not a number followed by a word: the whole run is one (bad) word.
    if (pos_ < s_.size() && IsWordChar(s_[pos_])) {
      while (pos_ < s_.size() && IsWordChar(s_[pos_])) ++pos_;
      std::string raw(s_.substr(start, pos_ - start));
      return {Tok::kOther, raw, raw};
    }
    std::string raw(s_.substr(start, pos_ - start));
    Token t{Tok::kNumber, raw, raw};
    t.is_integer = integer;
    return t;
  }

  // A word: parts joined by '.', each a run of word characters or a backtick- or double-quoted
  // run (the latter only after a dot, so that "x" alone stays a string).
  Token Word() {
    size_t start = pos_;
    bool first = true;
    bool dotted = false;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '`' || (c == '"' && !first)) {
        size_t end = QuotedEnd(s_, pos_);
        if (end == std::string_view::npos) {
          pos_ = start;
          return Rest();
        }
        pos_ = end;
      } else if (IsWordStart(c) || (!first && IsDigit(c))) {
        while (pos_ < s_.size() && IsWordChar(s_[pos_])) ++pos_;
      } else {
        break;
      }
      first = false;
      if (pos_ + 1 < s_.size() && s_[pos_] == '.' &&
          (IsWordChar(s_[pos_ + 1]) || s_[pos_ + 1] == '`' || s_[pos_ + 1] == '"')) {
        ++pos_;
        dotted = true;
      } else {
        break;
      }
    }
    std::string raw(s_.substr(start, pos_ - start));
    if (!dotted) {
      std::string up = Upper(raw);
      if (std::find(std::begin(kKeywords), std::end(kKeywords), up) != std::end(kKeywords)) {
        return {Tok::kKeyword, raw, up};
      }
    }
    return {Tok::kWord, raw, raw};
  }

  Token Group() {
    size_t start = pos_;
    int depth = 0;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\'' || c == '"' || c == '`') {
        size_t end = QuotedEnd(s_, pos_);
        if (end == std::string_view::npos) break;
        pos_ = end;
        continue;
      }
      ++pos_;
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) {
        std::string raw(s_.substr(start, pos_ - start));
        return {Tok::kGroup, raw, raw};
      }
    }
    pos_ = start;
    return Rest();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Clauses

// One `identifier comparator value` as written, before its parts are interpreted.
struct RawClause {
  const Token* identifier;
  std::string comparator;  // upper case: "=", "LIKE", "IN", "NOT IN", …
  const Token* value;
};

bool IsKeyword(const Token& t, std::string_view word) {
  return t.type == Tok::kKeyword && t.text == word;
}

// The clause starting at tokens[i], and how many tokens it takes; nullopt when none starts there.
std::optional<std::pair<RawClause, size_t>> ClauseAt(const std::vector<Token>& tokens, size_t i) {
  auto at = [&](size_t k) -> const Token* { return k < tokens.size() ? &tokens[k] : nullptr; };
  const Token* id = at(i);
  const Token* op = at(i + 1);
  if (id == nullptr || id->type != Tok::kWord || op == nullptr) return std::nullopt;
  auto is_value = [](const Token* t) {
    return t != nullptr && (t->type == Tok::kString || t->type == Tok::kDqString ||
                            t->type == Tok::kNumber || t->type == Tok::kWord);
  };
  if (op->type == Tok::kOperator || IsKeyword(*op, "LIKE") || IsKeyword(*op, "ILIKE")) {
    if (!is_value(at(i + 2))) return std::nullopt;
    return std::pair(RawClause{id, op->text, at(i + 2)}, size_t{3});
  }
  if (IsKeyword(*op, "IN") && at(i + 2) && at(i + 2)->type == Tok::kGroup) {
    return std::pair(RawClause{id, "IN", at(i + 2)}, size_t{3});
  }
  if (IsKeyword(*op, "NOT") && at(i + 2) && IsKeyword(*at(i + 2), "IN") && at(i + 3) &&
      at(i + 3)->type == Tok::kGroup) {
    return std::pair(RawClause{id, "NOT IN", at(i + 3)}, size_t{4});
  }
  return std::nullopt;
}

// Splits the token stream into clauses joined by AND. Tokens that belong to no clause are
// collected and reported together, as MLflow reports them.
Result<std::vector<RawClause>> Clauses(const std::vector<Token>& tokens) {
  std::vector<RawClause> clauses;
  std::vector<std::string> invalid;
  bool expect_clause = true;
  for (size_t i = 0; i < tokens.size();) {
    if (IsKeyword(tokens[i], "AND")) {
      expect_clause = true;
      ++i;
      continue;
    }
    if (expect_clause) {
      if (auto clause = ClauseAt(tokens, i)) {
        clauses.push_back(clause->first);
        i += clause->second;
        expect_clause = false;
        continue;
      }
    }
    invalid.push_back(tokens[i].raw);
    expect_clause = true;  // resynchronise: what follows a bad token may be a good clause
    ++i;
  }
  if (!invalid.empty()) {
    return InvalidArgument(
        fmt::format("Invalid clause(s) in filter string: {}", fmt::join(invalid, ", ")));
  }
  return clauses;
}

// ---------------------------------------------------------------------------------------------
// Interpretation

struct Entity {
  // MLflow prints these as Python sets; the order here is fixed (MLflow's varies by process).
  std::string_view valid_keys;
  std::string_view numeric_keys;
  std::string_view list_keys;
};

constexpr Entity kModelEntity{"{'name'}", "{'creation_timestamp', 'last_updated_timestamp'}",
                              "['name']"};
constexpr Entity kVersionEntity{
    "{'name', 'run_id', 'source_path', 'version_number'}",
    "{'creation_timestamp', 'last_updated_timestamp', 'version_number'}", "['name', 'run_id']"};

bool IsQuoted(std::string_view s, char q) {
  return s.size() >= 2 && s.front() == q && s.back() == q;
}

std::string_view TrimEnds(std::string_view s) { return s.substr(1, s.size() - 2); }

// A string value: quoted in single or double quotes; MLflow keeps the text between the quotes as
// it is.
Result<std::string> QuotedValue(const Token& t) {
  if (t.type == Tok::kString || t.type == Tok::kDqString) return t.text;
  if (IsQuoted(t.raw, '\'') || IsQuoted(t.raw, '"')) return std::string(TrimEnds(t.raw));
  return InvalidArgument(
      fmt::format("Parameter value is either not quoted or unidentified quote types used for "
                  "string value {}. Use either single or double quotes.",
                  t.raw));
}

// The strings of an IN list: '(' string { ',' string } [','] ')'.
Result<std::vector<std::string>> ListValue(const Token& group) {
  std::vector<Token> inside = Lexer::Inside(group);
  std::vector<std::string> values;
  std::vector<std::string> reprs;  // the items as Python prints the tuple
  bool expect_item = true;
  bool only_strings = true;
  for (const Token& t : inside) {
    if (expect_item && (t.type == Tok::kString || t.type == Tok::kDqString)) {
      values.push_back(t.text);
      reprs.push_back(PythonRepr(t.text));
      expect_item = false;
    } else if (expect_item && t.type == Tok::kNumber) {
      values.push_back(t.raw);
      reprs.push_back(t.raw);
      only_strings = false;
      expect_item = false;
    } else if (!expect_item && t.type == Tok::kOther && t.raw == ",") {
      expect_item = true;
    } else {
      return InvalidArgument(
          "While parsing a list in the query, expected a non-empty list of string values, but "
          "got ill-formed list.");
    }
  }
  if (values.empty()) {
    return InvalidArgument(
        "While parsing a list in the query, expected a non-empty list of string values, but got "
        "empty list");
  }
  if (!only_strings) {
    return InvalidArgument(fmt::format(
        "While parsing a list in the query, expected string value, punctuation, or whitespace, "
        "but got different type in list: ({}{})",
        fmt::join(reprs, ", "), reprs.size() == 1 ? "," : ""));
  }
  return values;
}

struct Identifier {
  bool is_tag = false;
  std::string key;
};

Result<Identifier> ParseIdentifier(const Token& t, const Entity& entity,
                                   const std::vector<std::string_view>& valid) {
  std::string_view raw = t.raw;
  Identifier id;
  std::string_view key = raw;
  // MLflow splits on the first dot of the text as written.
  size_t dot = raw.find('.');
  if (dot != std::string_view::npos) {
    std::string_view type = raw.substr(0, dot);
    key = raw.substr(dot + 1);
    if (type != "attribute" && type != "tag" && type != "tags") {
      return InvalidArgument(fmt::format(
          "Invalid entity type '{}'. Valid entity types are ('attribute', 'tag', 'tags')", type));
    }
    id.is_tag = type != "attribute";
  }
  if (!id.is_tag && std::find(valid.begin(), valid.end(), key) == valid.end()) {
    return InvalidArgument(fmt::format("Invalid attribute key '{}' specified. Valid keys are '{}'",
                                       key, entity.valid_keys));
  }
  if (IsQuoted(key, '\'') || IsQuoted(key, '"')) key = TrimEnds(key);
  if (IsQuoted(key, '`')) key = TrimEnds(key);
  id.key = std::string(key);
  return id;
}

struct Interpreted {
  Identifier id;
  std::string comparator;
  const Token* value;
  std::vector<std::string> strings;  // the value as strings (one, or the IN list)
};

Result<Interpreted> Interpret(const RawClause& c, SearchEntity which) {
  const Entity& entity = which == SearchEntity::kModels ? kModelEntity : kVersionEntity;
  static const std::vector<std::string_view> kModelKeys = {"name"};
  static const std::vector<std::string_view> kVersionKeys = {"name", "run_id", "source_path",
                                                             "version_number"};
  VOUCH_ASSIGN_OR_RETURN(
      Identifier id, ParseIdentifier(*c.identifier, entity,
                                     which == SearchEntity::kModels ? kModelKeys : kVersionKeys));
  Interpreted out{id, c.comparator, c.value, {}};
  const Token& v = *c.value;
  bool quoted_or_word = v.type == Tok::kString || v.type == Tok::kDqString || v.type == Tok::kWord;
  if (id.is_tag) {
    if (!quoted_or_word) {
      return InvalidArgument(fmt::format(
          "Expected a quoted string value for tag (e.g. 'my-value'). Got value {}", v.raw));
    }
    VOUCH_ASSIGN_OR_RETURN(std::string s, QuotedValue(v));
    out.strings.push_back(std::move(s));
    return out;
  }
  if (quoted_or_word) {
    VOUCH_ASSIGN_OR_RETURN(std::string s, QuotedValue(v));
    out.strings.push_back(std::move(s));
    return out;
  }
  if (v.type == Tok::kGroup) {
    bool listable = id.key == "name" || (which == SearchEntity::kVersions && id.key == "run_id");
    if (!listable) {
      return InvalidArgument(
          fmt::format("Only {} attributes support comparison with a list of quoted string values.",
                      entity.list_keys));
    }
    VOUCH_ASSIGN_OR_RETURN(out.strings, ListValue(v));
    return out;
  }
  // A number.
  if (which == SearchEntity::kVersions && id.key == "version_number") return out;
  if (which == SearchEntity::kVersions) {
    return InvalidArgument(fmt::format(
        "Only the '{}' attributes support comparison with numeric values.", entity.numeric_keys));
  }
  return InvalidArgument(fmt::format(
      "Expected a quoted string value or a list of quoted string values for attributes. Got "
      "value {}",
      v.raw));
}

std::optional<Comparator> ComparatorFor(std::string_view op) {
  if (op == "=") return Comparator::kEq;
  if (op == "!=") return Comparator::kNe;
  if (op == "<") return Comparator::kLt;
  if (op == "<=") return Comparator::kLe;
  if (op == ">") return Comparator::kGt;
  if (op == ">=") return Comparator::kGe;
  if (op == "LIKE") return Comparator::kLike;
  if (op == "ILIKE") return Comparator::kILike;
  if (op == "IN") return Comparator::kIn;
  if (op == "NOT IN") return Comparator::kNotIn;
  return std::nullopt;
}

// The checks MLflow's SQL store makes on each parsed clause, and the service condition.
Result<Condition> ToCondition(const Interpreted& c, SearchEntity which) {
  Condition out;
  const std::string& op = c.comparator;
  if (c.id.is_tag) {
    if (op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE") {
      return InvalidArgument(fmt::format("Invalid comparator for tag: {}", op));
    }
    out.key = SearchKey::kTag;
    out.tag_key = c.id.key;
  } else if (c.id.key == "version_number") {
    if (op != "=" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=") {
      return InvalidArgument(fmt::format("Invalid comparator for attribute {}: {}", c.id.key, op));
    }
    const Token& v = *c.value;
    std::optional<int64_t> n;
    if (v.type == Tok::kNumber) {
      if (v.is_integer) n = PythonInt(v.raw);
      if (!n) {
        return InvalidArgument(
            fmt::format("Invalid value for numeric attribute '{}': {}", c.id.key, v.raw));
      }
    } else {
      n = PythonInt(c.strings.at(0));
      if (!n) {
        return InvalidArgument(fmt::format("Invalid value for numeric attribute '{}': {}", c.id.key,
                                           PythonRepr(c.strings.at(0))));
      }
    }
    out.key = SearchKey::kVersionNumber;
    out.number = *n;
    out.values.push_back(std::to_string(*n));
  } else {
    bool list_op = op == "IN" || op == "NOT IN";
    bool listable =
        c.id.key == "name" || (which == SearchEntity::kVersions && c.id.key == "run_id");
    if ((op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE" && !list_op) ||
        (list_op && !listable)) {
      return InvalidArgument(fmt::format("Invalid comparator for attribute: {}", op));
    }
    if (c.id.key == "name") out.key = SearchKey::kName;
    if (c.id.key == "run_id") out.key = SearchKey::kRunId;
    if (c.id.key == "source_path") out.key = SearchKey::kSourcePath;
  }
  std::optional<Comparator> cmp = ComparatorFor(op);
  if (!cmp) return InvalidArgument(fmt::format("Invalid comparator for attribute: {}", op));
  out.op = *cmp;
  if (out.key != SearchKey::kVersionNumber) out.values = c.strings;
  return out;
}

// ---------------------------------------------------------------------------------------------
// order_by

struct OrderKey {
  std::string_view name;
  OrderField field;
};

constexpr OrderKey kModelOrderKeys[] = {{"name", OrderField::kName},
                                        {"timestamp", OrderField::kLastUpdatedTime},
                                        {"last_updated_timestamp", OrderField::kLastUpdatedTime},
                                        {"creation_timestamp", OrderField::kCreationTime}};
constexpr OrderKey kVersionOrderKeys[] = {{"name", OrderField::kName},
                                          {"version_number", OrderField::kVersionNumber},
                                          {"creation_timestamp", OrderField::kCreationTime},
                                          {"last_updated_timestamp", OrderField::kLastUpdatedTime}};

Status Unparsable(std::string_view clause) {
  return InvalidArgument(fmt::format("Invalid order_by clause '{}'. Could not be parsed.", clause));
}

Result<OrderBy> ParseOrderClause(std::string_view clause, SearchEntity which) {
  std::vector<Token> tokens = Lexer(clause).All();
  if (tokens.empty() || tokens.size() > 2) return Unparsable(clause);
  const Token& key_token = tokens[0];
  if (key_token.type != Tok::kWord && !(key_token.type == Tok::kKeyword)) {
    return Unparsable(clause);
  }
  OrderBy order;
  if (tokens.size() == 2) {
    const Token& dir = tokens[1];
    if (dir.type != Tok::kKeyword && dir.type != Tok::kWord) return Unparsable(clause);
    std::string up = Upper(dir.raw);
    if (up != "ASC" && up != "DESC") {
      return InvalidArgument(fmt::format("Invalid ordering key in order_by clause '{}'.", clause));
    }
    order.ascending = up == "ASC";
  }
  std::string_view key = key_token.raw;
  if (IsQuoted(key, '`')) key = TrimEnds(key);
  if (which == SearchEntity::kModels) {
    for (const auto& k : kModelOrderKeys) {
      if (k.name == key) {
        order.field = k.field;
        return order;
      }
    }
    // MLflow names only the keys it recommends.
    return InvalidArgument(fmt::format(
        "Invalid order by key '{}' specified. Valid keys are '{{'name', 'timestamp'}}'", key));
  }
  constexpr std::string_view kValid =
      "{'creation_timestamp', 'last_updated_timestamp', 'name', 'version_number'}";
  bool is_tag = false;
  if (size_t dot = key.find('.'); dot != std::string_view::npos) {
    std::string_view type = key.substr(0, dot);
    if (type != "attribute" && type != "tag" && type != "tags") {
      return InvalidArgument(fmt::format(
          "Invalid entity type '{}'. Valid entity types are ('attribute', 'tag', 'tags')", type));
    }
    is_tag = type != "attribute";
    key.remove_prefix(dot + 1);
    if (IsQuoted(key, '\'') || IsQuoted(key, '"') || IsQuoted(key, '`')) key = TrimEnds(key);
  }
  for (const auto& k : kVersionOrderKeys) {
    if (!is_tag && k.name == key) {
      order.field = k.field;
      return order;
    }
  }
  if (is_tag) {
    return InvalidArgument(
        fmt::format("Invalid order by key '{}' specified. Valid keys are {}", key, kValid));
  }
  return InvalidArgument(
      fmt::format("Invalid attribute key '{}' specified. Valid keys are '{}'", key, kValid));
}

}  // namespace

std::string PythonRepr(std::string_view s) {
  char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"'
                                                                                             : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(q)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back(q);
  return out;
}

Result<std::vector<Condition>> ParseSearchFilter(std::string_view filter, SearchEntity entity) {
  std::vector<Condition> out;
  std::vector<Token> tokens = Lexer(filter).All();
  if (tokens.empty()) return out;
  // sqlparse splits statements at ';': more than one is refused as a whole.
  auto semi = std::find_if(tokens.begin(), tokens.end(),
                           [](const Token& t) { return t.type == Tok::kOther && t.raw == ";"; });
  if (semi != tokens.end() && semi + 1 != tokens.end()) {
    return InvalidArgument(fmt::format(
        "Search filter contained multiple expression {}. Provide AND-ed expression list.",
        PythonRepr(filter)));
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<RawClause> clauses, Clauses(tokens));
  // As MLflow: every clause is parsed before any is checked against the store's rules.
  std::vector<Interpreted> interpreted;
  for (const auto& c : clauses) {
    VOUCH_ASSIGN_OR_RETURN(Interpreted i, Interpret(c, entity));
    interpreted.push_back(std::move(i));
  }
  for (const auto& i : interpreted) {
    VOUCH_ASSIGN_OR_RETURN(Condition c, ToCondition(i, entity));
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<OrderBy>> ParseOrderBy(const std::vector<std::string>& clauses,
                                          SearchEntity entity) {
  std::vector<OrderBy> out;
  for (const auto& clause : clauses) {
    VOUCH_ASSIGN_OR_RETURN(OrderBy o, ParseOrderClause(clause, entity));
    bool duplicate = std::any_of(out.begin(), out.end(),
                                 [&](const OrderBy& seen) { return seen.field == o.field; });
    if (duplicate) {
      std::vector<std::string> reprs;
      for (const auto& c : clauses) reprs.push_back(PythonRepr(c));
      return InvalidArgument(
          fmt::format("`order_by` contains duplicate fields: [{}]", fmt::join(reprs, ", ")));
    }
    out.push_back(o);
  }
  return out;
}

}  // namespace vouch::api::mlflow
